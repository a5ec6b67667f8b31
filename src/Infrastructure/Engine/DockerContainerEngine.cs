using System.Globalization;
using System.Net;
using DeployDeck.Domain.Engine;
using DeployDeck.Domain.Plans;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Options;

namespace DeployDeck.Infrastructure.Engine;

/// <summary>
/// The Docker Engine API behind <see cref="IContainerEngine"/>. Docker's wire types stay in here: callers see
/// <see cref="ContainerRequest"/> and <see cref="ContainerObservation"/> only. Every call has a timeout.
/// </summary>
public sealed class DockerContainerEngine(DockerClient client, IOptions<DockerOptions> options) : IContainerEngine
{
    private readonly TimeSpan _timeout = options.Value.RequestTimeout;

    public async Task<string> CreateAsync(ContainerRequest request, CancellationToken cancellationToken)
    {
        using (var cts = Timeout(cancellationToken))
        {
            var response = await client.Containers.CreateContainerAsync(ToParameters(request), cts.Token);
            await PrepareAsync(response.ID, request, cancellationToken);
            return response.ID;
        }
    }

    public async Task PrepareAsync(string containerId, ContainerRequest request, CancellationToken cancellationToken)
    {
        using var cts = Timeout(cancellationToken);
        if (request.Endpoints.Count > 1)
        {
            var joined = (await client.Containers.InspectContainerAsync(containerId, cts.Token)).NetworkSettings?.Networks?.Keys.ToHashSet(StringComparer.Ordinal) ?? [];
            foreach (var endpoint in request.Endpoints.Skip(1).Where(e => !joined.Contains(e.Network)))
                await client.Networks.ConnectNetworkAsync(endpoint.Network, new NetworkConnectParameters { Container = containerId, EndpointConfig = Endpoint(endpoint) }, cts.Token);
        }

        if (request.Files.Count > 0)
        {
            // The archive API reaches an engine whose disk DeployDeck cannot see; entries carry their own owner and mode.
            using var archive = ContainerFiles.Tar(request.Files);
            await client.Containers.ExtractArchiveToContainerAsync(containerId, new CopyToContainerParameters { Path = "/" }, archive, cts.Token);
        }
    }

    public async Task<ResourceObservation?> NetworkAsync(string name, CancellationToken cancellationToken)
    {
        using var cts = Timeout(cancellationToken);
        // The list filter matches names by substring: the exact name decides.
        var found = await client.Networks.ListNetworksAsync(new NetworksListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["name"] = new Dictionary<string, bool> { [name] = true } },
        }, cts.Token);
        return found.FirstOrDefault(n => n.Name == name) is { } network
            ? new ResourceObservation(network.Name, new Dictionary<string, string>(network.Labels ?? new Dictionary<string, string>()))
            : null;
    }

    public async Task CreateNetworkAsync(NetworkRequest request, CancellationToken cancellationToken)
    {
        using var cts = Timeout(cancellationToken);
        var spec = request.Spec;
        try
        {
            await client.Networks.CreateNetworkAsync(new NetworksCreateParameters
            {
                Name = request.Name,
                Driver = spec.Driver ?? "bridge",
                Options = spec.DriverOpts.ToDictionary(),
                Internal = spec.Internal,
                Attachable = spec.Attachable,
                EnableIPv6 = spec.EnableIpv6,
                Labels = request.Labels.ToDictionary(),
                IPAM = spec.Ipam is { } ipam
                    ? new IPAM
                    {
                        Driver = ipam.Driver ?? "default",
                        // none given is none sent, as Compose does: the engine keeps an empty map as {} where Compose's is null
                        Options = ipam.Options.Count > 0 ? ipam.Options.ToDictionary() : null!,
                        Config = ipam.Config.Select(c => new IPAMConfig { Subnet = c.Subnet!, IPRange = c.IpRange!, Gateway = c.Gateway!, AuxAddress = c.AuxAddresses.ToDictionary() }).ToList(),
                    }
                    : null,
            }, cts.Token);
        }
        catch (DockerApiException ex) when (ex.StatusCode == HttpStatusCode.Conflict)
        {
            // created meanwhile by another run: what exists is checked by its labels
        }
    }

    public async Task<ResourceObservation?> VolumeAsync(string name, CancellationToken cancellationToken)
    {
        using var cts = Timeout(cancellationToken);
        try
        {
            var volume = await client.Volumes.InspectAsync(name, cts.Token);
            return new ResourceObservation(volume.Name, new Dictionary<string, string>(volume.Labels ?? new Dictionary<string, string>()));
        }
        catch (DockerApiException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public async Task CreateVolumeAsync(VolumeRequest request, CancellationToken cancellationToken)
    {
        using var cts = Timeout(cancellationToken);
        await client.Volumes.CreateAsync(new VolumesCreateParameters
        {
            Name = request.Name,
            Driver = request.Spec.Driver ?? "local",
            DriverOpts = request.Spec.DriverOpts.Count > 0 ? request.Spec.DriverOpts.ToDictionary() : null!,
            Labels = request.Labels.ToDictionary(),
        }, cts.Token);
    }

    public async Task<IReadOnlyList<string>> MissingHostPathsAsync(IReadOnlyList<string> paths, CancellationToken cancellationToken)
    {
        // The engine itself refuses a bind mount whose source does not exist — on whatever host it runs on. A container is
        // created (never started) with every path mounted read-only; each refusal names one missing path.
        var missing = new List<string>();
        var left = paths.Distinct(StringComparer.Ordinal).ToList();
        while (left.Count > 0)
        {
            using var cts = Timeout(cancellationToken);
            try
            {
                var probe = await client.Containers.CreateContainerAsync(new CreateContainerParameters
                {
                    Image = options.Value.HelperImage,
                    Entrypoint = ["/bin/true"],
                    Labels = new Dictionary<string, string> { ["deploydeck.helper"] = "path-check" },
                    HostConfig = new HostConfig
                    {
                        NetworkMode = "none",
                        Mounts = left.Select((p, i) => new Mount { Type = "bind", Source = p, Target = $"/check/{i}", ReadOnly = true }).ToList(),
                    },
                }, cts.Token);
                await client.Containers.RemoveContainerAsync(probe.ID, new ContainerRemoveParameters { Force = true }, CancellationToken.None);
                return missing;
            }
            catch (DockerApiException ex) when (ex.StatusCode == HttpStatusCode.BadRequest && left.FirstOrDefault(p => (ex.ResponseBody ?? "").Contains($"does not exist: {p}", StringComparison.Ordinal)) is { } path)
            {
                missing.Add(path);
                left.Remove(path);
            }
        }

        return missing;
    }

    public async Task SetRestartPolicyAsync(string containerId, Domain.Plans.RestartPolicy policy, CancellationToken cancellationToken)
    {
        using var cts = Timeout(cancellationToken);
        await client.Containers.UpdateContainerAsync(containerId, new ContainerUpdateParameters { RestartPolicy = Policy(policy) }, cts.Token);
    }

    public async Task RenameAsync(string containerId, string name, CancellationToken cancellationToken)
    {
        using var cts = Timeout(cancellationToken);
        await client.Containers.RenameContainerAsync(containerId, new ContainerRenameParameters { NewName = name }, cts.Token);
    }

    public async Task StartAsync(string containerId, CancellationToken cancellationToken)
    {
        using var cts = Timeout(cancellationToken);
        await client.Containers.StartContainerAsync(containerId, new ContainerStartParameters(), cts.Token);
    }

    public async Task<ContainerObservation?> InspectAsync(string containerId, CancellationToken cancellationToken)
    {
        using var cts = Timeout(cancellationToken);
        try
        {
            return ToObservation(await client.Containers.InspectContainerAsync(containerId, cts.Token));
        }
        catch (DockerContainerNotFoundException)
        {
            return null;
        }
    }

    public async Task<IReadOnlyList<ContainerSummary>> ListAsync(IReadOnlyDictionary<string, string> labels, CancellationToken cancellationToken)
    {
        using var cts = Timeout(cancellationToken);
        var found = await client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["label"] = labels.ToDictionary(l => $"{l.Key}={l.Value}", _ => true),
            },
        }, cts.Token);
        return found.Select(c => new ContainerSummary(
            c.ID,
            c.Names.FirstOrDefault()?.TrimStart('/') ?? c.ID[..12],
            c.State,
            new Dictionary<string, string>(c.Labels ?? new Dictionary<string, string>()))
        {
            HostPorts = (c.Ports ?? []).Where(p => p.PublicPort is > 0).Select(p => (int)p.PublicPort!.Value).Distinct().ToList(),
        }).ToList();
    }

    public async Task StopAsync(string containerId, TimeSpan grace, CancellationToken cancellationToken)
    {
        using var cts = Timeout(cancellationToken, grace);
        try
        {
            await client.Containers.StopContainerAsync(containerId, new ContainerStopParameters { WaitBeforeKillSeconds = (uint)grace.TotalSeconds }, cts.Token);
        }
        catch (DockerContainerNotFoundException)
        {
        }
    }

    public async Task RemoveAsync(string containerId, CancellationToken cancellationToken)
    {
        using var cts = Timeout(cancellationToken);
        try
        {
            await client.Containers.RemoveContainerAsync(containerId, new ContainerRemoveParameters { Force = true }, cts.Token);
        }
        catch (DockerContainerNotFoundException)
        {
        }
        catch (DockerApiException ex) when (ex.StatusCode == HttpStatusCode.Conflict && (ex.ResponseBody ?? "").Contains("already in progress", StringComparison.Ordinal))
        {
            // a removal by someone else is under way: the container goes either way
        }
    }

    public async Task<EngineInfo> InfoAsync(CancellationToken cancellationToken)
    {
        using var cts = Timeout(cancellationToken);
        var info = await client.System.GetSystemInfoAsync(cts.Token);
        return new EngineInfo(info.ServerVersion, (int)info.NCPU, info.MemTotal, info.DockerRootDir, (int)info.ContainersRunning);
    }

    private CancellationTokenSource Timeout(CancellationToken cancellationToken, TimeSpan extra = default)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(_timeout + extra);
        return cts;
    }

    public async Task<ExecResult> ExecAsync(string containerId, IReadOnlyList<string> command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        var exec = await client.Exec.CreateContainerExecAsync(containerId, new ContainerExecCreateParameters
        {
            Cmd = command.ToList(),
            AttachStdout = true,
            AttachStderr = true,
        }, cts.Token);
        using (var stream = await client.Exec.StartContainerExecAsync(exec.ID, new ContainerExecStartParameters(), cts.Token))
        {
            var (stdout, stderr) = await stream.ReadOutputToEndAsync(cts.Token);
            var inspect = await client.Exec.InspectContainerExecAsync(exec.ID, cts.Token);
            var output = (stdout + stderr).Trim();
            return new ExecResult(inspect.ExitCode ?? -1, output.Length > 500 ? output[..500] + "…" : output);
        }
    }

    public async Task<IReadOnlyList<string>> LogsAsync(string containerId, DateTimeOffset since, CancellationToken cancellationToken)
    {
        using var cts = Timeout(cancellationToken);
        using var stream = await client.Containers.GetContainerLogsAsync(containerId, new ContainerLogsParameters
        {
            ShowStdout = true,
            ShowStderr = true,
            Since = since.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            Tail = "5000",
        }, cts.Token);
        var (stdout, stderr) = await stream.ReadOutputToEndAsync(cts.Token);
        return (stdout + "\n" + stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    public async Task<long?> MemoryUsageAsync(string containerId, CancellationToken cancellationToken)
    {
        // One sample, not a stream: stats of a stopped container are known to hang, so the timeout matters.
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(5));
        var latest = new Latest<ContainerStatsResponse>();
        await client.Containers.GetContainerStatsAsync(containerId, new ContainerStatsParameters { Stream = false, OneShot = true }, latest, cts.Token);
        if (latest.Value?.MemoryStats is not { Usage: { } usage and > 0 } memory)
            return null;
        var stats = memory.Stats ?? new Dictionary<string, ulong>();
        var inactive = stats.TryGetValue("total_inactive_file", out var v1) ? v1 : stats.TryGetValue("inactive_file", out var v2) ? v2 : 0UL;
        return (long)(usage - Math.Min(inactive, usage));
    }

    public async Task CrashAsync(string containerId, CancellationToken cancellationToken)
    {
        // SIGKILL to the main process from the host's PID namespace: inside the container's own namespace PID 1 cannot
        // be killed, and the engine's kill endpoint switches the restart policy off. The argv holds an engine-given PID.
        var target = await client.Containers.InspectContainerAsync(containerId, cancellationToken);
        if (target.State is not { Running: true, Pid: > 0 } state)
            throw new InvalidOperationException($"container {target.Name.TrimStart('/')} is not running");
        using var cts = Timeout(cancellationToken);
        var helper = await client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = options.Value.HelperImage,
            Entrypoint = ["/bin/kill"],
            Cmd = ["-KILL", state.Pid.ToString(CultureInfo.InvariantCulture)],
            Labels = new Dictionary<string, string>(target.Config?.Labels?.Where(l => l.Key.StartsWith("deploydeck.test", StringComparison.Ordinal))
                ?? []) { ["deploydeck.helper"] = "chaos" },
            HostConfig = new HostConfig { PidMode = "host", NetworkMode = "none", Memory = 16 * 1024 * 1024 },
        }, cts.Token);
        try
        {
            await client.Containers.StartContainerAsync(helper.ID, new ContainerStartParameters(), cts.Token);
            var exit = await client.Containers.WaitContainerAsync(helper.ID, cts.Token);
            if (exit.StatusCode != 0)
                throw new InvalidOperationException($"the chaos helper could not kill PID {state.Pid} (exit {exit.StatusCode})");
        }
        finally
        {
            await client.Containers.RemoveContainerAsync(helper.ID, new ContainerRemoveParameters { Force = true }, CancellationToken.None);
        }
    }

    public async Task<IReadOnlyList<ContainerEvent>> OomEventsAsync(IReadOnlyDictionary<string, string> labels, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken)
    {
        // With an end in the past or now, the engine replays its event log and closes the stream: no open stream to leak.
        using var cts = Timeout(cancellationToken);
        var found = new List<ContainerEvent>();
        await client.System.MonitorEventsAsync(new ContainerEventsParameters
        {
            Since = since.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            Until = Math.Max(until.ToUnixTimeSeconds(), since.ToUnixTimeSeconds()).ToString(CultureInfo.InvariantCulture),
            Filters = EventFilters(labels, "oom"),
        }, new Collect<Message>(m => found.Add(ToEvent(m))), cts.Token);
        return found.Where(e => e.At >= since.AddSeconds(-1)).ToList();
    }

    // "health_status" without a colon makes the engine match the event by prefix ("health_status: healthy").
    public Task WatchAsync(IReadOnlyDictionary<string, string> labels, Action<ContainerEvent> onEvent, CancellationToken cancellationToken) =>
        client.System.MonitorEventsAsync(new ContainerEventsParameters { Filters = EventFilters(labels, "start", "die", "oom", "health_status") },
            new Collect<Message>(m => onEvent(ToEvent(m))), cancellationToken);

    private static Dictionary<string, IDictionary<string, bool>> EventFilters(IReadOnlyDictionary<string, string> labels, params string[] actions)
    {
        var filters = new Dictionary<string, IDictionary<string, bool>>
        {
            ["type"] = new Dictionary<string, bool> { ["container"] = true },
            ["event"] = actions.ToDictionary(a => a, _ => true),
        };
        if (labels.Count > 0)
            filters["label"] = labels.ToDictionary(l => $"{l.Key}={l.Value}", _ => true);
        return filters;
    }

    private static ContainerEvent ToEvent(Message m)
    {
        var attributes = new Dictionary<string, string>(m.Actor?.Attributes ?? new Dictionary<string, string>());
        var at = m.TimeNano is { } nano and > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(nano / 1_000_000) : DateTimeOffset.FromUnixTimeSeconds(m.Time ?? 0);
        return new ContainerEvent(m.Actor?.ID ?? "", attributes.GetValueOrDefault("name") ?? "", m.Action ?? "", at, attributes);
    }

    internal static CreateContainerParameters ToParameters(ContainerRequest request)
    {
        var s = request.Service;
        var o = s.Options;
        var labels = new Dictionary<string, string>(s.Labels);
        foreach (var (k, v) in request.Labels)
            labels[k] = v;
        var limits = s.Resources;
        var swap = limits.MemorySwapLimit?.Bytes ?? limits.MemoryLimit?.Bytes ?? 0; // swap = limit: no swap, as the runbook says
        var first = request.Endpoints.FirstOrDefault();
        var exposed = s.Ports.Select(p => $"{p.ContainerPort}/{p.Protocol}").Concat(o.Expose).Distinct(StringComparer.Ordinal);

        return new CreateContainerParameters
        {
            Name = request.Name,
            Image = s.Image,
            Platform = o.Platform!,
            Cmd = s.Command?.ToList()!,
            Entrypoint = s.Entrypoint?.ToList()!,
            Env = s.Environment.Select(e => $"{e.Key}={e.Value}").ToList(),
            Labels = labels,
            User = o.User!,
            WorkingDir = o.WorkingDir!,
            Hostname = o.Hostname!,
            Domainname = o.Domainname!,
            Tty = o.Tty,
            OpenStdin = o.StdinOpen,
            StopSignal = o.StopSignal!,
            StopTimeout = o.StopGracePeriod,
            ExposedPorts = exposed.ToDictionary(p => p, _ => new EmptyStruct()),
            // An anonymous volume is declared on the container, as `docker run -v /path` does.
            Volumes = request.Mounts.Where(m => m is { Type: "volume", Source: null }).ToDictionary(m => m.Target, _ => new EmptyStruct()),
            Healthcheck = s.HealthCheck is { } hc
                ? new HealthcheckConfig
                {
                    Test = hc.Test.ToList(),
                    Interval = hc.Interval,
                    Timeout = hc.Timeout,
                    StartPeriod = hc.StartPeriod,
                    Retries = hc.Retries,
                }
                : null,
            HostConfig = new HostConfig
            {
                Memory = limits.MemoryLimit?.Bytes ?? 0,
                MemoryReservation = limits.MemoryReservation?.Bytes ?? 0,
                MemorySwap = limits.MemoryLimit is null && limits.MemorySwapLimit is null ? 0 : swap,
                MemorySwappiness = o.MemSwappiness,
                NanoCPUs = limits.Cpus?.NanoCpus ?? 0,
                CPUShares = o.CpuShares ?? 0,
                CpusetCpus = o.Cpuset!,
                CPUQuota = o.CpuQuota ?? 0,
                CPUPeriod = o.CpuPeriod ?? 0,
                CPURealtimeRuntime = o.CpuRtRuntime ?? 0,
                CPURealtimePeriod = o.CpuRtPeriod ?? 0,
                PidsLimit = o.PidsLimit,
                OomScoreAdj = o.OomScoreAdj ?? 0,
                OomKillDisable = o.OomKillDisable,
                RestartPolicy = Policy(s.Restart),
                // A port without a host port is published on one the engine picks, as Compose does.
                PortBindings = s.Ports.GroupBy(p => $"{p.ContainerPort}/{p.Protocol}")
                    .ToDictionary(g => g.Key, g => (IList<PortBinding>)g.Select(p => new PortBinding
                    {
                        HostIP = p.HostIp ?? "",
                        HostPort = p.HostPort?.ToString(CultureInfo.InvariantCulture) ?? "",
                    }).ToList()),
                Ulimits = s.Ulimits.Select(u => new Docker.DotNet.Models.Ulimit { Name = u.Key, Soft = u.Value.Soft, Hard = u.Value.Hard }).ToList(),
                NetworkMode = (request.NetworkMode ?? first?.Network)!,
                Binds = request.Mounts.Where(m => m.Type is "bind" || m is { Type: "volume", Source: not null }).Select(Bind).ToList(),
                Mounts = request.Mounts.Where(m => m.Type == "tmpfs").Select(m => new Mount
                {
                    Type = "tmpfs",
                    Target = m.Target,
                    ReadOnly = m.ReadOnly,
                    TmpfsOptions = m.TmpfsSizeBytes is null && m.TmpfsMode is null ? null : new TmpfsOptions { SizeBytes = m.TmpfsSizeBytes, Mode = (uint?)m.TmpfsMode },
                }).ToList(),
                Tmpfs = o.Tmpfs.Select(t => t.Split(':', 2)).ToDictionary(t => t[0], t => t.Length > 1 ? t[1] : ""),
                VolumesFrom = request.VolumesFrom.ToList(),
                Links = request.Links.ToList(),
                CapAdd = o.CapAdd.ToList(),
                CapDrop = o.CapDrop.ToList(),
                DNS = o.Dns.ToList(),
                DNSSearch = o.DnsSearch.ToList(),
                DNSOptions = o.DnsOptions.ToList(),
                ExtraHosts = o.ExtraHosts.ToList(),
                GroupAdd = o.GroupAdd.ToList(),
                Init = o.Init,
                ReadonlyRootfs = o.ReadOnly,
                ShmSize = o.ShmSize?.Bytes ?? 0,
                Sysctls = o.Sysctls.ToDictionary(),
                StorageOpt = o.StorageOpt.ToDictionary(),
                LogConfig = o.Logging is { } log ? new LogConfig { Type = log.Driver ?? "", Config = log.Options.ToDictionary() } : null!,
                IpcMode = request.IpcMode!,
                PidMode = request.PidMode!,
                UTSMode = o.Uts!,
                UsernsMode = o.UsernsMode!,
                CgroupnsMode = o.Cgroup!,
                CgroupParent = o.CgroupParent!,
                Privileged = o.Privileged,
                Devices = o.Devices.Select(d => new Docker.DotNet.Models.DeviceMapping { PathOnHost = d.PathOnHost, PathInContainer = d.PathInContainer, CgroupPermissions = d.Permissions }).ToList(),
                DeviceCgroupRules = o.DeviceCgroupRules.ToList(),
                SecurityOpt = o.SecurityOpt.ToList(),
                Runtime = o.Runtime!,
                Isolation = o.Isolation!,
                BlkioWeight = (ushort)(o.Blkio?.Weight ?? 0),
                BlkioWeightDevice = o.Blkio?.WeightDevice.Select(d => new WeightDevice { Path = d.Key, Weight = (ushort)d.Value }).ToList()!,
                BlkioDeviceReadBps = Throttle(o.Blkio?.DeviceReadBps)!,
                BlkioDeviceWriteBps = Throttle(o.Blkio?.DeviceWriteBps)!,
                BlkioDeviceReadIOps = Throttle(o.Blkio?.DeviceReadIops)!,
                BlkioDeviceWriteIOps = Throttle(o.Blkio?.DeviceWriteIops)!,
            },
            NetworkingConfig = first is null || request.NetworkMode is not null
                ? null!
                : new NetworkingConfig { EndpointsConfig = new Dictionary<string, EndpointSettings> { [first.Network] = Endpoint(first) } },
        };
    }

    private static List<ThrottleDevice>? Throttle(IReadOnlyDictionary<string, long>? rates) =>
        rates?.Select(r => new ThrottleDevice { Path = r.Key, Rate = (ulong)r.Value }).ToList();

    /// <summary>A volume or bind mount as Compose's short syntax writes it for the engine: "source:target:ro,z,rshared,nocopy".</summary>
    private static string Bind(MountRequest m)
    {
        var modes = new List<string> { m.ReadOnly ? "ro" : "rw" };
        if (m.Selinux is { } z)
            modes.Add(z);
        if (m.Propagation is { } p)
            modes.Add(p);
        if (m.NoCopy)
            modes.Add("nocopy");
        return $"{m.Source}:{m.Target}:{string.Join(',', modes)}";
    }

    private static EndpointSettings Endpoint(EndpointRequest e) => new()
    {
        Aliases = e.Aliases.ToList(),
        Links = e.Links.Count == 0 ? null! : e.Links.ToList(),
        DriverOpts = e.DriverOpts.Count == 0 ? null! : e.DriverOpts.ToDictionary(),
        MacAddress = e.MacAddress!,
        IPAMConfig = e.Ipv4Address is null && e.Ipv6Address is null && e.LinkLocalIps.Count == 0
            ? null!
            : new EndpointIPAMConfig { IPv4Address = e.Ipv4Address!, IPv6Address = e.Ipv6Address!, LinkLocalIPs = e.LinkLocalIps.ToList() },
    };

    private static Docker.DotNet.Models.RestartPolicy Policy(Domain.Plans.RestartPolicy policy) => new()
    {
        Name = policy.Mode switch
        {
            RestartMode.Always => RestartPolicyKind.Always,
            RestartMode.UnlessStopped => RestartPolicyKind.UnlessStopped,
            RestartMode.OnFailure => RestartPolicyKind.OnFailure,
            _ => RestartPolicyKind.No,
        },
        MaximumRetryCount = policy.Mode == RestartMode.OnFailure ? policy.MaxRetries : 0,
    };

    internal static ContainerObservation ToObservation(ContainerInspectResponse c)
    {
        var state = c.State ?? new State { Status = "unknown" };
        var host = c.HostConfig ?? new HostConfig();
        var config = c.Config ?? new ContainerConfig();
        return Map(c, state, host, config);
    }

    private static ContainerObservation Map(ContainerInspectResponse c, State state, HostConfig host, ContainerConfig config) => new()
    {
        Id = c.ID,
        Name = c.Name.TrimStart('/'),
        ImageId = c.Image,
        Status = state.Status,
        Running = state.Running,
        OomKilled = state.OOMKilled,
        ExitCode = (int)state.ExitCode,
        RestartCount = (int)c.RestartCount,
        Health = state.Health?.Status switch
        {
            "healthy" => HealthStatus.Healthy,
            "unhealthy" => HealthStatus.Unhealthy,
            "starting" => HealthStatus.Starting,
            _ => HealthStatus.None,
        },
        StartedAt = ParseTime(state.StartedAt),
        FinishedAt = ParseTime(state.FinishedAt),
        MemoryLimit = host.Memory,
        MemoryReservation = host.MemoryReservation,
        MemorySwap = host.MemorySwap,
        NanoCpus = host.NanoCPUs,
        RestartPolicy = host.RestartPolicy?.Name switch
        {
            RestartPolicyKind.Always => "always",
            RestartPolicyKind.UnlessStopped => "unless-stopped",
            RestartPolicyKind.OnFailure => "on-failure",
            _ => "no",
        },
        RestartMaxRetries = (int)(host.RestartPolicy?.MaximumRetryCount ?? 0),
        HealthTest = config.Healthcheck?.Test?.ToList(),
        HealthCheck = config.Healthcheck is { Test: [not "NONE", _, ..] } hc
            ? new Domain.Plans.HealthCheck(hc.Test.ToList(), Or(hc.Interval, 30), Or(hc.Timeout, 30), hc.Retries > 0 ? (int)hc.Retries : 3, Or(hc.StartPeriod, 0))
            : null,
        Labels = new Dictionary<string, string>(config.Labels ?? new Dictionary<string, string>()),
        Mounts = (c.Mounts ?? []).Select(m => new ObservedMount(m.Type ?? "", string.IsNullOrEmpty(m.Name) ? null : m.Name, m.Destination ?? "")).ToList(),
        DeclaredVolumes = (config.Volumes?.Keys ?? Enumerable.Empty<string>()).ToList(),
    };

    /// <summary>The engine's health-check durations: unset (zero) means its default.</summary>
    private static TimeSpan Or(TimeSpan? value, int defaultSeconds) => value is { } v && v > TimeSpan.Zero ? v : TimeSpan.FromSeconds(defaultSeconds);

    // The engine reports "0001-01-01T00:00:00Z" for "never".
    private static DateTimeOffset? ParseTime(string? value) =>
        DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) && t.Year > 1 ? t : null;
}

/// <summary>Hands every report to a callback, synchronously, in order.</summary>
internal sealed class Collect<T>(Action<T> each) : IProgress<T>
{
    public void Report(T value) => each(value);
}

/// <summary>Keeps the last report, synchronously: <see cref="Progress{T}"/> posts to the thread pool and may arrive after the call returned.</summary>
internal sealed class Latest<T> : IProgress<T>
{
    public T? Value { get; private set; }

    public void Report(T value) => Value = value;
}
