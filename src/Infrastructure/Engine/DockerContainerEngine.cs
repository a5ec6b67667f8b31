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
        using var cts = Timeout(cancellationToken);
        var response = await client.Containers.CreateContainerAsync(ToParameters(request), cts.Token);
        return response.ID;
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
            new Dictionary<string, string>(c.Labels ?? new Dictionary<string, string>()))).ToList();
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
        var labels = new Dictionary<string, string>(s.Labels);
        foreach (var (k, v) in request.Labels)
            labels[k] = v;
        var limits = s.Resources;
        var swap = limits.MemorySwapLimit?.Bytes ?? limits.MemoryLimit?.Bytes ?? 0; // swap = limit: no swap, as the runbook says

        return new CreateContainerParameters
        {
            Name = request.Name,
            Image = s.Image,
            Cmd = s.Command?.ToList()!,
            Entrypoint = s.Entrypoint?.ToList()!,
            Env = s.Environment.Select(e => $"{e.Key}={e.Value}").ToList(),
            Labels = labels,
            ExposedPorts = s.Ports.Select(p => $"{p.ContainerPort}/{p.Protocol}").Distinct().ToDictionary(p => p, _ => new EmptyStruct()),
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
                NanoCPUs = limits.Cpus?.NanoCpus ?? 0,
                RestartPolicy = new Docker.DotNet.Models.RestartPolicy
                {
                    Name = s.Restart.Mode switch
                    {
                        RestartMode.Always => RestartPolicyKind.Always,
                        RestartMode.UnlessStopped => RestartPolicyKind.UnlessStopped,
                        RestartMode.OnFailure => RestartPolicyKind.OnFailure,
                        _ => RestartPolicyKind.No,
                    },
                    MaximumRetryCount = s.Restart.Mode == RestartMode.OnFailure ? s.Restart.MaxRetries : 0,
                },
                // A port without a host port is published on one the engine picks, as Compose does.
                PortBindings = s.Ports.GroupBy(p => $"{p.ContainerPort}/{p.Protocol}")
                    .ToDictionary(g => g.Key, g => (IList<PortBinding>)g.Select(p => new PortBinding
                    {
                        HostIP = p.HostIp ?? "",
                        HostPort = p.HostPort?.ToString(CultureInfo.InvariantCulture) ?? "",
                    }).ToList()),
                Ulimits = s.Ulimits.Select(u => new Docker.DotNet.Models.Ulimit { Name = u.Key, Soft = u.Value.Soft, Hard = u.Value.Hard }).ToList(),
            },
        };
    }

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
        Labels = new Dictionary<string, string>(config.Labels ?? new Dictionary<string, string>()),
    };

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
