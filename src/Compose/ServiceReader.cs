using System.Globalization;
using DeployDeck.Compose.Yaml;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;

namespace DeployDeck.Compose;

/// <summary>One service of the merged Compose model as DeployDeck will run it, with what the import noticed.</summary>
/// <param name="HasImage">False when the file only says how to build it: <see cref="ServiceSpec.Image"/> is then a name DeployDeck made up.</param>
public sealed record ImportedService(ServiceSpec Spec, string? Phase, IReadOnlyList<string> Profiles, bool HasImage = true);

/// <summary>Turns one merged, interpolated Compose service into a <see cref="ServiceSpec"/>.</summary>
internal sealed class ServiceReader(string name, string projectName, IReadOnlyDictionary<string, string> variables, ProjectFileSet files, List<PlanIssue> issues)
{
    public const int MaxPortsPerService = 1000;

    /// <summary>Every key a rollout applies to the container as Compose does.</summary>
    private static readonly HashSet<string> Applied = new(StringComparer.Ordinal)
    {
        "image", "build", "command", "entrypoint", "environment", "env_file", "ports", "labels", "label_file", "restart", "healthcheck",
        "mem_limit", "mem_reservation", "memswap_limit", "cpus", "deploy", "depends_on", "profiles", "volumes", "networks", "network_mode",
        "ulimits", "configs", "secrets", "scale", "user", "working_dir", "hostname", "domainname", "extra_hosts", "dns", "dns_search",
        "dns_opt", "cap_add", "cap_drop", "init", "read_only", "shm_size", "sysctls", "pids_limit", "stop_signal", "stop_grace_period",
        "logging", "expose", "container_name", "tty", "stdin_open", "group_add", "ipc", "pid", "oom_score_adj", "oom_kill_disable",
        "mem_swappiness", "cpu_shares", "cpuset", "cpu_quota", "cpu_period", "cpu_rt_runtime", "cpu_rt_period", "privileged", "devices",
        "device_cgroup_rules", "security_opt", "mac_address", "runtime", "platform", "cgroup_parent", "cgroup", "userns_mode", "uts",
        "volumes_from", "links", "external_links", "tmpfs", "storage_opt", "blkio_config", "pull_policy", "isolation", "extends",
    };

    /// <summary>Compose keys no rollout applies, with why: listed as warnings, never dropped silently.</summary>
    internal static readonly Dictionary<string, string> NotApplied = new(StringComparer.Ordinal)
    {
        ["annotations"] = "container annotations need Docker Engine 24 (API 1.43)",
        ["attach"] = "it chooses whose logs an attached `docker compose up` prints; DeployDeck runs detached",
        ["cpu_count"] = "a Windows-only setting",
        ["cpu_percent"] = "a Windows-only setting",
        ["credential_spec"] = "a Windows-only setting",
        ["develop"] = "it configures `docker compose watch`, a development loop",
        ["gpus"] = "GPU devices are not scheduled by DeployDeck",
        ["models"] = "Docker Model Runner models are not run by DeployDeck",
        ["provider"] = "Compose provider services are not run by DeployDeck",
        ["post_start"] = "lifecycle hooks are not run by DeployDeck",
        ["pre_stop"] = "lifecycle hooks are not run by DeployDeck",
        ["use_api_socket"] = "it hands the container the engine; bind-mount the socket instead, with an Admin's allowance",
    };

    public ImportedService Read(YMap service)
    {
        var notApplied = new List<string>();
        foreach (var key in service.Keys)
        {
            if (key.StartsWith("x-", StringComparison.Ordinal) || Applied.Contains(key))
                continue;
            if (NotApplied.TryGetValue(key, out var why))
                notApplied.Add($"{key} ({why})");
            else
                Warn($"'{key}' is not a Compose service key; ignored");
        }

        if (notApplied.Count > 0)
            Warn($"not applied by DeployDeck: {string.Join("; ", notApplied.Order(StringComparer.Ordinal))}");

        var build = ReadBuild(service["build"]);
        var image = Text(service["image"], "image");
        if (image is null && build is null)
            Error("has neither image nor build");
        if (build is not null)
            Warn($"needs a build from '{build.Context}'{(image is null ? "" : $" (tagged {image})")}: the image must exist on the host before the rollout; its size class is unknown until it is built");

        var deploy = service["deploy"] as YMap;
        var (environment, masked) = ReadEnvironment(service["env_file"], service["environment"]);
        var options = ReadOptions(service, deploy);
        var spec = new ServiceSpec
        {
            Name = name,
            Image = image ?? $"{projectName}-{name}",
            Build = build,
            Command = CommandLine(service["command"], "command"),
            Entrypoint = CommandLine(service["entrypoint"], "entrypoint"),
            Environment = environment,
            SecretFields = masked.Select(key => "environment." + key).ToList(),
            Ports = ReadPorts(service["ports"]),
            Labels = ReadLabels(service["label_file"], service["labels"]),
            Resources = ReadResources(service, deploy),
            Restart = ReadRestart(service["restart"], deploy),
            HealthCheck = ReadHealthCheck(service["healthcheck"]),
            DependsOn = ReadDependsOn(service["depends_on"]),
            Volumes = ReadVolumes(service["volumes"]),
            Networks = ReadNetworks(service["networks"]),
            NetworkMode = Text(service["network_mode"], "network_mode"),
            Ulimits = ReadUlimits(service["ulimits"]),
            Files = [.. ReadFileMounts(service["configs"], ProjectFileKind.Config), .. ReadFileMounts(service["secrets"], ProjectFileKind.Secret)],
            Replicas = ReadReplicas(service["scale"], deploy),
            Update = ReadUpdate(deploy),
            Options = options,
            Gates = ReadGates((service["x-deploydeck"] as YMap)?["gates"]),
        };

        // Compose starts a service after those it borrows from: links, network_mode/pid/ipc service:x, volumes_from.
        var implicitDependencies = Domain.Engine.ProjectLayout.BorrowsFrom(spec).Where(d => d != name && spec.DependsOn.All(e => e.Service != d)).ToList();
        if (implicitDependencies.Count > 0)
            spec = spec with { DependsOn = [.. spec.DependsOn, .. implicitDependencies.Select(d => new ServiceDependency(d))] };

        if (spec.NetworkMode is not null && service["networks"] is not null)
            Error("network_mode and networks cannot be combined");
        if (options.ContainerName is not null && spec.Replicas > 1)
            Error($"container_name {options.ContainerName} names one container, but the service has {spec.Replicas} replicas");
        if (deploy is not null)
            CheckDeployKeys(deploy);

        return new ImportedService(spec, ReadPhase(service, spec.Labels), Strings(service["profiles"], "profiles"), image is not null);
    }

    private void Warn(string message) => issues.Add(new PlanIssue(Severity.Warning, message, Service: name));

    private void Error(string message) => issues.Add(new PlanIssue(Severity.Error, message, Service: name));

    private T Fail<T>(string message, T fallback)
    {
        Error(message);
        return fallback;
    }

    private string? Text(YNode? node, string key)
    {
        switch (node)
        {
            case null:
            case YScalar { IsNull: true }:
                return null;
            case YScalar s:
                return s.Value;
            default:
                Error($"{key} must be a single value, not {node.Kind} (line {node.Line})");
                return null;
        }
    }

    private List<string> Strings(YNode? node, string key) => node switch
    {
        null or YScalar { IsNull: true } => [],
        YScalar s => [s.Value],
        YSeq seq => seq.Items.Select(i => Text(i, key) ?? "").ToList(),
        _ => Fail<List<string>>($"{key} must be a value or a list, not {node.Kind}", []),
    };

    /// <summary>A YAML boolean, as both YAML 1.1 (docker-compose v1) and 1.2 read it.</summary>
    private bool? Bool(YNode? node, string key)
    {
        var text = Text(node, key);
        return text switch
        {
            null => null,
            "true" or "True" or "TRUE" or "yes" or "Yes" or "YES" or "on" or "On" or "ON" => true,
            "false" or "False" or "FALSE" or "no" or "No" or "NO" or "off" or "Off" or "OFF" => false,
            _ => Fail<bool?>($"{key}: '{text}' is not true or false", null),
        };
    }

    private long? Integer(YNode? node, string key, long min = 0, long max = long.MaxValue)
    {
        var text = Text(node, key);
        if (text is null)
            return null;
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            var range = max == long.MaxValue ? $"of {min} or more" : $"from {min} to {max}";
            return Fail<long?>($"{key}: '{text}' is not a whole number {range}", null);
        }

        return value;
    }

    private Dictionary<string, string> StringMap(YNode? node, string key)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (node is null or YScalar { IsNull: true })
            return result;
        try
        {
            foreach (var (k, v) in ComposeMerge.AsMap(node, key).Entries)
                result[k] = v is YScalar { IsNull: true } ? "" : Text(v, $"{key}.{k}") ?? "";
        }
        catch (ComposeException e)
        {
            Error(e.Message);
        }

        return result;
    }

    private BuildSpec? ReadBuild(YNode? node) => node switch
    {
        null or YScalar { IsNull: true } => null,
        YScalar s => new BuildSpec(s.Value),
        YMap m => new BuildSpec(Text(m["context"], "build.context") ?? ".", Text(m["dockerfile"], "build.dockerfile"), Text(m["target"], "build.target")),
        _ => Fail<BuildSpec?>($"build must be a path or a mapping, not {node.Kind}", null),
    };

    private List<string>? CommandLine(YNode? node, string key)
    {
        switch (node)
        {
            case null or YScalar { IsNull: true }:
                return null;
            case YScalar s:
                try
                {
                    return ShellWords.Split(s.Value);
                }
                catch (FormatException e)
                {
                    return Fail<List<string>?>($"{key}: {e.Message}", null);
                }

            case YSeq seq:
                return seq.Items.Select(i => Text(i, key) ?? "").ToList();
            default:
                return Fail<List<string>?>($"{key} must be a string or a list, not {node.Kind}", null);
        }
    }

    /// <summary>
    /// The environment as Compose builds it: each env_file in order (later files win), then <c>environment</c> over them.
    /// Values that came from an env_file or the .env are secrets by origin (masked wherever shown, whatever their key).
    /// </summary>
    private (Dictionary<string, string> Environment, List<string> Masked) ReadEnvironment(YNode? envFiles, YNode? node)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var masked = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (path, required) in ReadEnvFileList(envFiles, "env_file"))
        {
            if (files.Find(path) is not { } file)
            {
                if (required)
                    Error($"env_file {path} was not uploaded with the import: add it to the import's files");
                continue;
            }

            try
            {
                foreach (var (key, value) in EnvFile.Parse(file.Content, file.Name))
                {
                    result[key] = value;
                    masked.Add(key);
                }
            }
            catch (ComposeException e)
            {
                Error(e.Message);
            }
        }

        if (node is not null)
        {
            foreach (var (key, value) in ComposeMerge.AsMap(node, "environment").Entries)
            {
                masked.Remove(key);
                if (value is YScalar { IsNull: true })
                {
                    // "- KEY" / "KEY:" takes the value from the environment Compose runs in: here, the .env given with the import.
                    if (variables.TryGetValue(key, out var fromEnv))
                    {
                        result[key] = fromEnv;
                        masked.Add(key);
                    }
                    else
                    {
                        result.Remove(key);
                        Warn($"environment variable {key} has no value and is not in .env; it stays unset");
                    }

                    continue;
                }

                result[key] = Text(value, $"environment.{key}") ?? "";
            }
        }

        return (result, masked.Order(StringComparer.Ordinal).ToList());
    }

    /// <summary>env_file and label_file: a path, a list of paths, or a list of <c>{path, required}</c>.</summary>
    private List<(string Path, bool Required)> ReadEnvFileList(YNode? node, string key)
    {
        var result = new List<(string, bool)>();
        IEnumerable<YNode> items = node switch
        {
            null or YScalar { IsNull: true } => [],
            YSeq seq => seq.Items,
            _ => [node],
        };
        foreach (var item in items)
        {
            switch (item)
            {
                case YScalar s:
                    result.Add((s.Value, true));
                    break;
                case YMap m when Text(m["path"], $"{key}.path") is { } path:
                    result.Add((path, Bool(m["required"], $"{key}.required") ?? true));
                    break;
                default:
                    Error($"{key} entries must be paths or mappings with a path (line {item.Line})");
                    break;
            }
        }

        return result;
    }

    private Dictionary<string, string> ReadLabels(YNode? labelFiles, YNode? node)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (path, _) in ReadEnvFileList(labelFiles, "label_file"))
        {
            if (files.Find(path) is not { } file)
            {
                Error($"label_file {path} was not uploaded with the import: add it to the import's files");
                continue;
            }

            try
            {
                foreach (var (key, value) in EnvFile.Parse(file.Content, file.Name))
                    result[key] = value;
            }
            catch (ComposeException e)
            {
                Error(e.Message);
            }
        }

        foreach (var (key, value) in StringMap(node, "labels"))
            result[key] = value;
        return result;
    }

    private ResourceLimits ReadResources(YMap service, YMap? deploy)
    {
        var resources = deploy?["resources"] as YMap;
        var limits = resources?["limits"] as YMap;
        var reservations = resources?["reservations"] as YMap;

        var memory = Either(Size(service["mem_limit"], "mem_limit"), Size(limits?["memory"], "deploy.resources.limits.memory"), "mem_limit", "deploy.resources.limits.memory");
        var reservation = Either(Size(service["mem_reservation"], "mem_reservation"), Size(reservations?["memory"], "deploy.resources.reservations.memory"), "mem_reservation", "deploy.resources.reservations.memory");
        var swap = Size(service["memswap_limit"], "memswap_limit");
        var cpus = Either(Cpus(service["cpus"], "cpus"), Cpus(limits?["cpus"], "deploy.resources.limits.cpus"), "cpus", "deploy.resources.limits.cpus");
        return new ResourceLimits(memory, reservation, swap, cpus);
    }

    /// <summary>Both set and different: the engine gets deploy.resources (Compose v2 applies it last), and the user is told.</summary>
    private T? Either<T>(T? legacy, T? deploy, string legacyKey, string deployKey)
        where T : struct
    {
        if (legacy is { } a && deploy is { } b && !a.Equals(b))
            Warn($"{legacyKey} ({a}) and {deployKey} ({b}) disagree; {deployKey} is used");
        return deploy ?? legacy;
    }

    private MemorySize? Size(YNode? node, string key) => Parsed<MemorySize>(node, key, MemorySize.TryParse);

    private CpuShare? Cpus(YNode? node, string key) => Parsed<CpuShare>(node, key, CpuShare.TryParse);

    /// <summary>A duration: "1m30s", or a bare number of seconds as docker-compose v1 also takes it.</summary>
    private TimeSpan? Duration(YNode? node, string key)
    {
        if (Text(node, key) is { } text && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
            return seconds is >= 0 and <= 86_400 * 365 ? TimeSpan.FromSeconds(seconds) : Fail<TimeSpan?>($"{key}: '{text}' is out of range", null);
        return Parsed<TimeSpan>(node, key, Durations.TryParse);
    }

    private T? Parsed<T>(YNode? node, string key, UnitParser<T> parse)
        where T : struct
    {
        var text = Text(node, key);
        if (text is null)
            return null;
        if (!parse(text, out var value, out var error))
            return Fail<T?>($"{key}: {error}", null);
        return value;
    }

    private RestartPolicy ReadRestart(YNode? node, YMap? deploy)
    {
        var text = Text(node, "restart");
        if (text is not null)
        {
            // YAML 1.1 readers turn an unquoted `no` into false; both mean "no".
            if (text is "false" or "False")
                text = "no";
            if (!RestartPolicy.TryParse(text, out var policy, out var error))
                return Fail($"restart: {error}", RestartPolicy.No);
            return policy;
        }

        if (deploy?["restart_policy"] is not YMap rp)
            return RestartPolicy.No;
        var condition = Text(rp["condition"], "deploy.restart_policy.condition") ?? "any";
        var attempts = Integer(rp["max_attempts"], "deploy.restart_policy.max_attempts") ?? 0;
        if (rp.Has("delay") || rp.Has("window"))
            Warn("deploy.restart_policy delay and window are not applied (the engine's restart policy has no such settings)");
        return condition switch
        {
            "any" => new RestartPolicy(RestartMode.Always),
            "on-failure" => new RestartPolicy(RestartMode.OnFailure, (int)Math.Min(attempts, 1000)),
            "none" => RestartPolicy.No,
            _ => Fail($"deploy.restart_policy.condition '{condition}' is not none, on-failure or any", RestartPolicy.No),
        };
    }

    private HealthCheck? ReadHealthCheck(YNode? node)
    {
        if (node is null or YScalar { IsNull: true })
            return null;
        if (node is not YMap hc)
            return Fail<HealthCheck?>($"healthcheck must be a mapping, not {node.Kind}", null);

        var interval = Duration(hc["interval"], "healthcheck.interval") ?? TimeSpan.FromSeconds(30);
        var timeout = Duration(hc["timeout"], "healthcheck.timeout") ?? TimeSpan.FromSeconds(30);
        var startPeriod = Duration(hc["start_period"], "healthcheck.start_period") ?? TimeSpan.Zero;
        var retries = (int)Math.Min(Integer(hc["retries"], "healthcheck.retries") ?? 3, 1000);
        if (hc.Has("start_interval"))
            Warn("healthcheck.start_interval needs Docker Engine 25 (API 1.44); the interval is used throughout the start period");
        if (Bool(hc["disable"], "healthcheck.disable") == true)
            return new HealthCheck(["NONE"], interval, timeout, retries, startPeriod);

        List<string> test;
        switch (hc["test"])
        {
            case null or YScalar { IsNull: true }:
                Warn("healthcheck has no test: the image's own check (if any) is used unchanged");
                return null;
            case YScalar s when s.Value.Length > 0:
                test = ["CMD-SHELL", s.Value];
                break;
            case YSeq seq when seq.Items.Count > 0 && seq.Items[0] is YScalar { Value: "CMD" or "CMD-SHELL" or "NONE" }:
                test = seq.Items.Select(i => Text(i, "healthcheck.test") ?? "").ToList();
                if (test[0] != "NONE" && test.Count < 2)
                    return Fail<HealthCheck?>($"healthcheck test {test[0]} has no command", null);
                break;
            default:
                return Fail<HealthCheck?>("healthcheck test must be a command string or a list starting with CMD, CMD-SHELL or NONE", null);
        }

        return new HealthCheck(test, interval, timeout, retries, startPeriod);
    }

    private List<ServiceDependency> ReadDependsOn(YNode? node)
    {
        if (node is null)
            return [];
        var result = new List<ServiceDependency>();
        foreach (var (dep, value) in ComposeMerge.AsMap(node, "depends_on").Entries)
        {
            var map = value as YMap;
            var condition = map is null ? null : Text(map["condition"], $"depends_on.{dep}.condition");
            var restart = map is not null && Bool(map["restart"], $"depends_on.{dep}.restart") == true;
            var required = map is null || Bool(map["required"], $"depends_on.{dep}.required") != false;
            DependencyCondition? parsed = (condition ?? "service_started") switch
            {
                "service_started" => DependencyCondition.ServiceStarted,
                "service_healthy" => DependencyCondition.ServiceHealthy,
                "service_completed_successfully" => DependencyCondition.ServiceCompletedSuccessfully,
                _ => null,
            };
            if (parsed is null)
                Error($"depends_on {dep}: condition '{condition}' is not service_started, service_healthy or service_completed_successfully");
            else
                result.Add(new(dep, parsed.Value) { Restart = restart, Required = required });
        }

        return result;
    }

    private List<PortMapping> ReadPorts(YNode? node)
    {
        var result = new List<PortMapping>();
        if (node is null or YScalar { IsNull: true })
            return result;
        if (node is not YSeq seq)
            return Fail($"ports must be a list, not {node.Kind}", result);
        foreach (var item in seq.Items)
        {
            try
            {
                var mappings = item switch
                {
                    YScalar s => PortSyntax.ParseShort(s.Value),
                    YMap m => [PortSyntax.ParseLong(Text(m["target"], "ports.target"), Text(m["published"], "ports.published"), Text(m["protocol"], "ports.protocol"), Text(m["host_ip"], "ports.host_ip"))],
                    _ => throw new FormatException($"a port must be a string or a mapping, not {item.Kind}"),
                };
                foreach (var p in mappings)
                {
                    if (!result.Contains(p))
                        result.Add(p);
                }
            }
            catch (FormatException e)
            {
                Error($"ports (line {item.Line}): {e.Message}");
            }

            if (result.Count > MaxPortsPerService)
                return Fail($"publishes more than {MaxPortsPerService} ports", result);
        }

        return result;
    }

    private List<VolumeMount> ReadVolumes(YNode? node)
    {
        var result = new List<VolumeMount>();
        if (node is null or YScalar { IsNull: true })
            return result;
        if (node is not YSeq seq)
            return Fail($"volumes must be a list, not {node.Kind}", result);
        foreach (var item in seq.Items)
        {
            try
            {
                var mount = item switch
                {
                    YScalar s => VolumeSyntax.ParseShort(s.Value),
                    YMap m => ReadLongVolume(m),
                    _ => throw new FormatException($"a volume must be a string or a mapping, not {item.Kind}"),
                };
                if (mount is null)
                    continue;
                if (result.Any(v => v.Target == mount.Target))
                    Error($"volumes: two mounts at {mount.Target}");
                else
                    result.Add(mount);
            }
            catch (FormatException e)
            {
                Error($"volumes (line {item.Line}): {e.Message}");
            }
        }

        return result;
    }

    private VolumeMount? ReadLongVolume(YMap m)
    {
        var type = Text(m["type"], "volumes.type") ?? "volume";
        var target = Text(m["target"], "volumes.target");
        if (target is null)
            throw new FormatException("a volume in long syntax needs a target");
        if (!target.StartsWith('/'))
            throw new FormatException($"target {target} must be an absolute path in the container");
        var source = Text(m["source"], "volumes.source");
        var bind = m["bind"] as YMap;
        var volume = m["volume"] as YMap;
        var tmpfs = m["tmpfs"] as YMap;
        switch (type)
        {
            case "bind" when string.IsNullOrEmpty(source):
                throw new FormatException($"the bind mount at {target} needs a source");
            case "tmpfs" when source is not null:
                throw new FormatException($"the tmpfs at {target} takes no source");
            case "bind" or "volume" or "tmpfs":
                break;
            case "npipe":
                throw new FormatException("npipe mounts exist on Windows engines only");
            case "cluster" or "image":
                throw new FormatException($"{type} mounts need Docker Engine 28 (image) or a cluster volume plugin; not applied by DeployDeck");
            default:
                throw new FormatException($"volume type '{type}' is not bind, volume or tmpfs");
        }

        if (m.Has("consistency"))
            Warn($"volumes {target}: consistency applies to Docker Desktop only; ignored");
        var subpath = volume is null ? null : Text(volume["subpath"], "volumes.volume.subpath");
        if (subpath is not null)
            Error($"volumes {target}: volume.subpath needs Docker Engine 26 (API 1.45); not applied by DeployDeck");
        return new VolumeMount(type, string.IsNullOrEmpty(source) ? null : source, target, Bool(m["read_only"], "volumes.read_only") ?? false)
        {
            NoCopy = volume is not null && Bool(volume["nocopy"], "volumes.volume.nocopy") == true,
            Subpath = subpath,
            Propagation = bind is null ? null : Text(bind["propagation"], "volumes.bind.propagation"),
            CreateHostPath = bind is null ? null : Bool(bind["create_host_path"], "volumes.bind.create_host_path"),
            Selinux = bind is null ? null : Text(bind["selinux"], "volumes.bind.selinux"),
            TmpfsSizeBytes = tmpfs is null ? null : Size(tmpfs["size"], "volumes.tmpfs.size")?.Bytes,
            TmpfsMode = tmpfs is null ? null : FileModeOf(tmpfs["mode"], "volumes.tmpfs.mode"),
        };
    }

    private List<NetworkAttachment> ReadNetworks(YNode? node)
    {
        var result = new List<NetworkAttachment>();
        if (node is null or YScalar { IsNull: true })
            return result;
        YMap map;
        try
        {
            map = ComposeMerge.AsMap(node, "networks");
        }
        catch (ComposeException e)
        {
            return Fail(e.Message, result);
        }

        foreach (var (network, value) in map.Entries)
        {
            if (value is not YMap settings)
            {
                if (value is not YScalar { IsNull: true })
                    Error($"networks.{network} must be a mapping, not {value.Kind}");
                result.Add(new NetworkAttachment(network));
                continue;
            }

            result.Add(new NetworkAttachment(network)
            {
                Aliases = Strings(settings["aliases"], $"networks.{network}.aliases"),
                Ipv4Address = Text(settings["ipv4_address"], $"networks.{network}.ipv4_address"),
                Ipv6Address = Text(settings["ipv6_address"], $"networks.{network}.ipv6_address"),
                LinkLocalIps = Strings(settings["link_local_ips"], $"networks.{network}.link_local_ips"),
                MacAddress = Text(settings["mac_address"], $"networks.{network}.mac_address"),
                DriverOpts = StringMap(settings["driver_opts"], $"networks.{network}.driver_opts"),
                Priority = (int)(Integer(settings["priority"], $"networks.{network}.priority", int.MinValue, int.MaxValue) ?? 0),
            });
        }

        return result;
    }

    /// <summary>configs: and secrets: of a service: "name" or <c>{source, target, uid, gid, mode}</c>.</summary>
    private List<FileMount> ReadFileMounts(YNode? node, ProjectFileKind kind)
    {
        var key = kind == ProjectFileKind.Config ? "configs" : "secrets";
        var result = new List<FileMount>();
        if (node is null or YScalar { IsNull: true })
            return result;
        if (node is not YSeq seq)
            return Fail($"{key} must be a list, not {node.Kind}", result);
        foreach (var item in seq.Items)
        {
            string? source;
            string? target = null;
            string? uid = null, gid = null;
            int? mode = null;
            switch (item)
            {
                case YScalar s:
                    source = s.Value;
                    break;
                case YMap m:
                    source = Text(m["source"], $"{key}.source");
                    target = Text(m["target"], $"{key}.target");
                    uid = Text(m["uid"], $"{key}.uid");
                    gid = Text(m["gid"], $"{key}.gid");
                    mode = FileModeOf(m["mode"], $"{key}.mode");
                    break;
                default:
                    Error($"{key} entries must be names or mappings (line {item.Line})");
                    continue;
            }

            if (string.IsNullOrEmpty(source))
            {
                Error($"a {key} entry (line {item.Line}) has no source");
                continue;
            }

            // Compose's defaults: a config at /<name>, a secret at /run/secrets/<name>; a relative secret target goes there too.
            target = kind == ProjectFileKind.Secret
                ? string.IsNullOrEmpty(target) ? $"/run/secrets/{source}" : target.StartsWith('/') ? target : $"/run/secrets/{target}"
                : string.IsNullOrEmpty(target) ? $"/{source}" : target.StartsWith('/') ? target : $"/{target}";
            result.Add(new FileMount(kind, source, ProjectPaths.Normalise(target), uid, gid, mode));
        }

        return result;
    }

    /// <summary>A Unix mode: octal as YAML 1.1 writes it (0440), or decimal (288), as Compose takes both.</summary>
    private int? FileModeOf(YNode? node, string key)
    {
        var text = Text(node, key);
        if (text is null)
            return null;
        var octal = text.StartsWith("0o", StringComparison.Ordinal) ? text[2..] : text.Length > 1 && text[0] == '0' ? text[1..] : null;
        try
        {
            var mode = octal is not null ? Convert.ToInt32(octal, 8) : int.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
            return mode is >= 0 and <= 4095 ? mode : Fail<int?>($"{key}: '{text}' is not a file mode (0000–7777)", null);
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
        {
            return Fail<int?>($"{key}: '{text}' is not a file mode (0000–7777)", null);
        }
    }

    private int ReadReplicas(YNode? scale, YMap? deploy)
    {
        var fromScale = Integer(scale, "scale", 0, 100);
        var fromDeploy = deploy is null ? null : Integer(deploy["replicas"], "deploy.replicas", 0, 100);
        if (fromScale is { } a && fromDeploy is { } b && a != b)
            Error($"scale ({a}) and deploy.replicas ({b}) disagree");
        if (deploy is not null && Text(deploy["mode"], "deploy.mode") is { } mode && mode is not ("replicated" or "global"))
            Error($"deploy.mode '{mode}' is not replicated or global");
        return (int)(fromDeploy ?? fromScale ?? 1);
    }

    private UpdateSpec ReadUpdate(YMap? deploy)
    {
        if (deploy?["update_config"] is not YMap update)
            return UpdateSpec.Default;
        UpdateOrder? order = Text(update["order"], "deploy.update_config.order") switch
        {
            null => null,
            "start-first" => UpdateOrder.StartFirst,
            "stop-first" => UpdateOrder.StopFirst,
            var other => Fail<UpdateOrder?>($"deploy.update_config.order '{other}' is not start-first or stop-first", null),
        };
        return new UpdateSpec(order, Duration(update["monitor"], "deploy.update_config.monitor"));
    }

    private Dictionary<string, Ulimit> ReadUlimits(YNode? node)
    {
        var result = new Dictionary<string, Ulimit>(StringComparer.Ordinal);
        if (node is not YMap map)
            return result;
        foreach (var (key, value) in map.Entries)
        {
            if (value is YMap limits)
            {
                var soft = UlimitValue(limits["soft"], $"ulimits.{key}.soft");
                var hard = UlimitValue(limits["hard"], $"ulimits.{key}.hard");
                if (soft is { } sv && hard is { } hv)
                {
                    if (hv >= 0 && (sv < 0 || sv > hv))
                        Error($"ulimits.{key}: soft {sv} is above hard {hv}");
                    result[key] = new Ulimit(sv, hv);
                }
                else
                {
                    Error($"ulimits.{key} needs both soft and hard");
                }
            }
            else if (UlimitValue(value, $"ulimits.{key}") is { } both)
            {
                result[key] = new Ulimit(both, both);
            }
        }

        return result;
    }

    /// <summary>A ulimit: a whole number, or -1 for unlimited.</summary>
    private long? UlimitValue(YNode? node, string key) => Text(node, key) is "-1" ? -1 : Integer(node, key);

    private ContainerOptions ReadOptions(YMap s, YMap? deploy)
    {
        var pids = Integer(s["pids_limit"], "pids_limit", -1);
        var deployPids = (deploy?["resources"] as YMap)?["limits"] is YMap limits ? Integer(limits["pids"], "deploy.resources.limits.pids", -1) : null;
        if (pids is { } p && deployPids is { } dp && p != dp)
            Warn($"pids_limit ({p}) and deploy.resources.limits.pids ({dp}) disagree; deploy.resources.limits.pids is used");
        var isolation = Text(s["isolation"], "isolation");
        if (isolation is not null && isolation != "default")
            Error($"isolation '{isolation}' exists on Windows engines only");
        var containerName = Text(s["container_name"], "container_name");
        if (containerName is not null && !ContainerNames.IsValid(containerName))
            Error($"container_name '{containerName}' is not a container name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)");

        return new ContainerOptions
        {
            User = Text(s["user"], "user"),
            WorkingDir = Text(s["working_dir"], "working_dir"),
            Hostname = Text(s["hostname"], "hostname"),
            Domainname = Text(s["domainname"], "domainname"),
            ExtraHosts = ReadExtraHosts(s["extra_hosts"]),
            Dns = Strings(s["dns"], "dns"),
            DnsSearch = Strings(s["dns_search"], "dns_search"),
            DnsOptions = Strings(s["dns_opt"], "dns_opt"),
            CapAdd = Strings(s["cap_add"], "cap_add"),
            CapDrop = Strings(s["cap_drop"], "cap_drop"),
            Init = Bool(s["init"], "init"),
            ReadOnly = Bool(s["read_only"], "read_only") ?? false,
            ShmSize = Size(s["shm_size"], "shm_size"),
            Sysctls = StringMap(s["sysctls"], "sysctls"),
            PidsLimit = deployPids ?? pids,
            StopSignal = Text(s["stop_signal"], "stop_signal"),
            StopGracePeriod = Duration(s["stop_grace_period"], "stop_grace_period"),
            Logging = ReadLogging(s["logging"]),
            Expose = ReadExpose(s["expose"]),
            ContainerName = containerName,
            Tty = Bool(s["tty"], "tty") ?? false,
            StdinOpen = Bool(s["stdin_open"], "stdin_open") ?? false,
            GroupAdd = Strings(s["group_add"], "group_add"),
            Ipc = Text(s["ipc"], "ipc"),
            Pid = Text(s["pid"], "pid"),
            OomScoreAdj = (int?)Integer(s["oom_score_adj"], "oom_score_adj", -1000, 1000),
            OomKillDisable = Bool(s["oom_kill_disable"], "oom_kill_disable"),
            MemSwappiness = (int?)Integer(s["mem_swappiness"], "mem_swappiness", 0, 100),
            CpuShares = Integer(s["cpu_shares"], "cpu_shares", 0, 262_144),
            Cpuset = Text(s["cpuset"], "cpuset"),
            CpuQuota = Micros(s["cpu_quota"], "cpu_quota"),
            CpuPeriod = Micros(s["cpu_period"], "cpu_period"),
            CpuRtRuntime = Micros(s["cpu_rt_runtime"], "cpu_rt_runtime"),
            CpuRtPeriod = Micros(s["cpu_rt_period"], "cpu_rt_period"),
            Privileged = Bool(s["privileged"], "privileged") ?? false,
            Devices = ReadDevices(s["devices"]),
            DeviceCgroupRules = Strings(s["device_cgroup_rules"], "device_cgroup_rules"),
            SecurityOpt = Strings(s["security_opt"], "security_opt"),
            MacAddress = Text(s["mac_address"], "mac_address"),
            Runtime = Text(s["runtime"], "runtime"),
            Platform = Text(s["platform"], "platform"),
            Isolation = isolation,
            CgroupParent = Text(s["cgroup_parent"], "cgroup_parent"),
            Cgroup = Text(s["cgroup"], "cgroup") switch
            {
                null => null,
                var cgroup when cgroup is "host" or "private" => cgroup,
                var other => Fail<string?>($"cgroup '{other}' is not host or private", null),
            },
            UsernsMode = Text(s["userns_mode"], "userns_mode"),
            Uts = Text(s["uts"], "uts"),
            VolumesFrom = Strings(s["volumes_from"], "volumes_from"),
            Links = Strings(s["links"], "links"),
            ExternalLinks = Strings(s["external_links"], "external_links"),
            Tmpfs = Strings(s["tmpfs"], "tmpfs"),
            StorageOpt = StringMap(s["storage_opt"], "storage_opt"),
            Blkio = ReadBlkio(s["blkio_config"]),
            PullPolicy = ReadPullPolicy(s["pull_policy"]),
        };
    }

    /// <summary>cpu_quota and friends: microseconds, or a duration ("100ms") as Compose also takes them.</summary>
    private long? Micros(YNode? node, string key)
    {
        var text = Text(node, key);
        if (text is null)
            return null;
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var micros))
            return micros >= -1 ? micros : Fail<long?>($"{key}: '{text}' must be -1 or more", null);
        return Durations.TryParse(text, out var duration, out var error) ? (long)(duration.TotalMilliseconds * 1000) : Fail<long?>($"{key}: {error}", null);
    }

    /// <summary>extra_hosts: "host:ip", "host=ip", or a mapping host → ip (or a list of ips); the engine takes "host:ip".</summary>
    private List<string> ReadExtraHosts(YNode? node)
    {
        var result = new List<string>();
        switch (node)
        {
            case null or YScalar { IsNull: true }:
                break;
            case YMap map:
                foreach (var (host, value) in map.Entries)
                    result.AddRange(Strings(value, $"extra_hosts.{host}").Select(ip => $"{host}:{ip.Trim('[', ']')}"));
                break;
            default:
                foreach (var entry in Strings(node, "extra_hosts"))
                {
                    var eq = entry.IndexOf('=', StringComparison.Ordinal);
                    var colon = entry.IndexOf(':', StringComparison.Ordinal);
                    var cut = eq >= 0 ? eq : colon;
                    if (cut <= 0 || cut == entry.Length - 1)
                    {
                        Error($"extra_hosts '{entry}' is not host:ip");
                        continue;
                    }

                    result.Add($"{entry[..cut]}:{entry[(cut + 1)..].Trim('[', ']')}");
                }

                break;
        }

        return result;
    }

    private LoggingSpec? ReadLogging(YNode? node)
    {
        if (node is null or YScalar { IsNull: true })
            return null;
        if (node is not YMap map)
            return Fail<LoggingSpec?>($"logging must be a mapping, not {node.Kind}", null);
        return new LoggingSpec(Text(map["driver"], "logging.driver"), StringMap(map["options"], "logging.options"));
    }

    /// <summary>expose: "80", "8080-8081", "53/udp", or numbers; each as "port/protocol".</summary>
    private List<string> ReadExpose(YNode? node)
    {
        var result = new List<string>();
        foreach (var entry in Strings(node, "expose"))
        {
            try
            {
                foreach (var port in PortSyntax.ParseShort(entry))
                {
                    if (port.HostPort is not null)
                        throw new FormatException($"'{entry}' exposes a port to other containers only; it takes no host port");
                    var text = $"{port.ContainerPort}/{port.Protocol}";
                    if (!result.Contains(text))
                        result.Add(text);
                }
            }
            catch (FormatException e)
            {
                Error($"expose: {e.Message}");
            }
        }

        return result;
    }

    /// <summary>devices: "/dev/x", "/dev/x:/dev/y", "/dev/x:/dev/y:rw", or <c>{source, target, permissions}</c>.</summary>
    private List<DeviceMapping> ReadDevices(YNode? node)
    {
        var result = new List<DeviceMapping>();
        if (node is not YSeq seq)
        {
            if (node is not null and not YScalar { IsNull: true })
                Error($"devices must be a list, not {node.Kind}");
            return result;
        }

        foreach (var item in seq.Items)
        {
            if (item is YMap m)
            {
                var source = Text(m["source"], "devices.source");
                if (source is null)
                {
                    Error($"a device (line {m.Line}) has no source");
                    continue;
                }

                result.Add(new DeviceMapping(source, Text(m["target"], "devices.target") ?? source, Text(m["permissions"], "devices.permissions") ?? "rwm"));
                continue;
            }

            var parts = (Text(item, "devices") ?? "").Split(':');
            result.Add(parts.Length switch
            {
                1 => new DeviceMapping(parts[0], parts[0]),
                2 when parts[1].All(c => c is 'r' or 'w' or 'm') => new DeviceMapping(parts[0], parts[0], parts[1]),
                2 => new DeviceMapping(parts[0], parts[1]),
                _ => new DeviceMapping(parts[0], parts[1], parts[2]),
            });
        }

        return result;
    }

    private BlkioSpec? ReadBlkio(YNode? node)
    {
        if (node is null or YScalar { IsNull: true })
            return null;
        if (node is not YMap map)
            return Fail<BlkioSpec?>($"blkio_config must be a mapping, not {node.Kind}", null);

        Dictionary<string, long> PerDevice(string key, string valueKey, bool bytes)
        {
            var result = new Dictionary<string, long>(StringComparer.Ordinal);
            if (map[key] is not YSeq seq)
                return result;
            foreach (var entry in seq.Items.OfType<YMap>())
            {
                var path = Text(entry["path"], $"blkio_config.{key}.path");
                var value = bytes ? Size(entry[valueKey], $"blkio_config.{key}.{valueKey}")?.Bytes : Integer(entry[valueKey], $"blkio_config.{key}.{valueKey}");
                if (path is not null && value is not null)
                    result[path] = value.Value;
            }

            return result;
        }

        return new BlkioSpec
        {
            Weight = (int?)Integer(map["weight"], "blkio_config.weight", 10, 1000),
            WeightDevice = PerDevice("weight_device", "weight", false),
            DeviceReadBps = PerDevice("device_read_bps", "rate", true),
            DeviceWriteBps = PerDevice("device_write_bps", "rate", true),
            DeviceReadIops = PerDevice("device_read_iops", "rate", false),
            DeviceWriteIops = PerDevice("device_write_iops", "rate", false),
        };
    }

    private PullPolicy ReadPullPolicy(YNode? node) => Text(node, "pull_policy") switch
    {
        null or "missing" or "if_not_present" => PullPolicy.Missing,
        "always" => PullPolicy.Always,
        "never" => PullPolicy.Never,
        "build" => PullPolicy.Build,
        var other when other.StartsWith("every_", StringComparison.Ordinal) || other is "daily" or "weekly" => Warned(other),
        var other => Fail($"pull_policy '{other}' is not always, missing, never or build", PullPolicy.Missing),
    };

    private PullPolicy Warned(string policy)
    {
        Warn($"pull_policy {policy}: DeployDeck keeps no pull history; the image is pulled on every rollout (always)");
        return PullPolicy.Always;
    }

    /// <summary>
    /// <c>x-deploydeck.gates</c>: <c>- http: URL</c> (<c>status: 200-299</c>, <c>timeout: 3s</c>), <c>- logs: PATTERN</c>
    /// (<c>window: 2m</c>), <c>- exec: COMMAND</c> (string or list), <c>- memory: 90</c> (percent of the limit),
    /// <c>- chaos: 30s</c> (killed, must be back within that time).
    /// </summary>
    private List<GateSpec> ReadGates(YNode? node)
    {
        var gates = new List<GateSpec>();
        if (node is null)
            return gates;
        if (node is not YSeq seq)
            return Fail($"x-deploydeck.gates must be a list, not {node.Kind}", gates);
        foreach (var item in seq.Items.OfType<YMap>())
        {
            var timeout = Duration(item["timeout"], "x-deploydeck.gates.timeout")?.TotalSeconds ?? 5;
            GateSpec? gate = null;
            if (Text(item["http"], "x-deploydeck.gates.http") is { } url)
            {
                var (min, max) = (200, 399);
                if (Text(item["status"], "x-deploydeck.gates.status") is { } status)
                {
                    var parts = status.Split('-', 2);
                    if (!int.TryParse(parts[0], CultureInfo.InvariantCulture, out min) || !int.TryParse(parts[^1], CultureInfo.InvariantCulture, out max))
                        Error($"x-deploydeck.gates.status '{status}' is not a status or a range like 200-299");
                }

                gate = new GateSpec { Kind = GateKind.Http, Url = url, MinStatus = min, MaxStatus = max, TimeoutSeconds = timeout };
            }
            else if (Text(item["logs"], "x-deploydeck.gates.logs") is { } pattern)
            {
                gate = new GateSpec { Kind = GateKind.Logs, Pattern = pattern, WindowSeconds = (int)(Duration(item["window"], "x-deploydeck.gates.window")?.TotalSeconds ?? 60), TimeoutSeconds = timeout };
            }
            else if (item["exec"] is { } exec)
            {
                gate = new GateSpec { Kind = GateKind.Exec, Command = CommandLine(exec, "x-deploydeck.gates.exec"), TimeoutSeconds = timeout };
            }
            else if (Text(item["memory"], "x-deploydeck.gates.memory") is { } percent)
            {
                gate = new GateSpec
                {
                    Kind = GateKind.Memory,
                    MaxMemoryPercent = double.TryParse(percent.TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out var p) ? p : null,
                    TimeoutSeconds = timeout,
                };
            }
            else if (item["chaos"] is { } chaos)
            {
                gate = new GateSpec { Kind = GateKind.Chaos, TimeoutSeconds = Duration(chaos, "x-deploydeck.gates.chaos")?.TotalSeconds ?? 30 };
            }
            else
            {
                Error($"x-deploydeck gate (line {item.Line}) needs one of http, logs, exec, memory, chaos");
            }

            if (gate is not null)
                gates.Add(gate);
        }

        return gates;
    }

    private string? ReadPhase(YMap service, IReadOnlyDictionary<string, string> labels)
    {
        var fromExtension = service["x-deploydeck"] is YMap ext ? Text(ext["phase"], "x-deploydeck.phase") : null;
        labels.TryGetValue("deploydeck.phase", out var fromLabel);
        if (fromExtension is not null && fromLabel is not null && fromExtension != fromLabel)
            Error($"the deploydeck.phase label ({fromLabel}) and x-deploydeck.phase ({fromExtension}) disagree");
        var phase = fromLabel ?? fromExtension;
        return string.IsNullOrWhiteSpace(phase) ? null : phase.Trim();
    }

    private void CheckDeployKeys(YMap deploy)
    {
        var ignored = deploy.Keys.Where(k => k is not ("resources" or "restart_policy" or "replicas" or "update_config" or "mode")).ToList();
        if (deploy["resources"] is YMap resources)
        {
            ignored.AddRange(resources.Keys.Where(k => k is not ("limits" or "reservations")).Select(k => "resources." + k));
            if (resources["limits"] is YMap limits)
                ignored.AddRange(limits.Keys.Where(k => k is not ("memory" or "cpus" or "pids")).Select(k => "resources.limits." + k));
            if (resources["reservations"] is YMap reservations)
                ignored.AddRange(reservations.Keys.Where(k => k != "memory").Select(k => "resources.reservations." + k));
        }

        if (deploy["update_config"] is YMap update)
            ignored.AddRange(update.Keys.Where(k => k is not ("order" or "monitor")).Select(k => "update_config." + k));
        if (ignored.Count > 0)
            Warn($"deploy {string.Join(", ", ignored)} {(ignored.Count == 1 ? "is" : "are")} not applied (DeployDeck runs the service's containers on one engine; its phases decide the update)");
    }
}

/// <summary>The engine's rule for container names.</summary>
public static class ContainerNames
{
    public static bool IsValid(string name) =>
        name.Length is > 0 and <= 128 && char.IsAsciiLetterOrDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-');
}
