using System.Globalization;
using DeployDeck.Compose.Yaml;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;

namespace DeployDeck.Compose;

/// <summary>One service of the merged Compose model as DeployDeck will run it, with what the import noticed.</summary>
/// <param name="HasImage">False when the file only says how to build it: <see cref="ServiceSpec.Image"/> is then a name DeployDeck made up.</param>
public sealed record ImportedService(ServiceSpec Spec, string? Phase, IReadOnlyList<string> Profiles, bool HasImage = true);

/// <summary>Turns one merged, interpolated Compose service into a <see cref="ServiceSpec"/>.</summary>
internal sealed class ServiceReader(string name, string projectName, IReadOnlyDictionary<string, string> variables, List<PlanIssue> issues)
{
    public const int MaxPortsPerService = 1000;

    private static readonly HashSet<string> Applied = new(StringComparer.Ordinal)
    {
        "image", "build", "command", "entrypoint", "environment", "ports", "labels", "restart", "healthcheck", "mem_limit",
        "mem_reservation", "memswap_limit", "cpus", "deploy", "depends_on", "profiles", "volumes", "networks", "ulimits", "env_file",
    };

    /// <summary>Compose keys DeployDeck reads past: they are listed as warnings, never dropped silently.</summary>
    private static readonly HashSet<string> NotApplied = new(StringComparer.Ordinal)
    {
        "annotations", "attach", "blkio_config", "cap_add", "cap_drop", "cgroup", "cgroup_parent", "configs", "container_name",
        "cpu_count", "cpu_percent", "cpu_period", "cpu_quota", "cpu_rt_period", "cpu_rt_runtime", "cpu_shares", "cpuset",
        "credential_spec", "develop", "device_cgroup_rules", "devices", "dns", "dns_opt", "dns_search", "domainname", "driver_opts",
        "expose", "extends", "external_links", "extra_hosts", "gpus", "group_add", "hostname", "init", "ipc", "isolation", "label_file",
        "links", "logging", "mac_address", "mem_swappiness", "models", "network_mode", "oom_kill_disable", "oom_score_adj", "pid",
        "pids_limit", "platform", "post_start", "pre_stop", "privileged", "provider", "pull_policy", "read_only", "runtime", "scale",
        "secrets", "security_opt", "shm_size", "stdin_open", "stop_grace_period", "stop_signal", "storage_opt", "sysctls", "tmpfs",
        "tty", "use_api_socket", "user", "userns_mode", "uts", "volumes_from", "working_dir", "mem_swappiness",
    };

    public ImportedService Read(YMap service)
    {
        var notApplied = new List<string>();
        foreach (var key in service.Keys)
        {
            if (key.StartsWith("x-", StringComparison.Ordinal) || Applied.Contains(key))
                continue;
            if (NotApplied.Contains(key))
                notApplied.Add(key);
            else
                Warn($"'{key}' is not a Compose service key; ignored");
        }

        if (notApplied.Count > 0)
            Warn($"{string.Join(", ", notApplied.Order(StringComparer.Ordinal))} {(notApplied.Count == 1 ? "is" : "are")} not applied by DeployDeck");

        var build = ReadBuild(service["build"]);
        var image = Text(service["image"], "image");
        if (image is null && build is null)
            Error("has neither image nor build");
        if (build is not null)
            Warn($"needs a build from '{build.Context}'{(image is null ? "" : $" (tagged {image})")}: the image must exist on the host before the rollout; its size class is unknown until it is built");

        var deploy = service["deploy"] as YMap;
        var spec = new ServiceSpec
        {
            Name = name,
            Image = image ?? $"{projectName}-{name}",
            Build = build,
            Command = CommandLine(service["command"], "command"),
            Entrypoint = CommandLine(service["entrypoint"], "entrypoint"),
            Environment = ReadEnvironment(service["environment"]),
            Ports = ReadPorts(service["ports"]),
            Labels = ReadLabels(service["labels"]),
            Resources = ReadResources(service, deploy),
            Restart = ReadRestart(service["restart"], deploy),
            HealthCheck = ReadHealthCheck(service["healthcheck"]),
            DependsOn = ReadDependsOn(service["depends_on"]),
            Volumes = ReadVolumes(service["volumes"]),
            Networks = service["networks"] is { } n ? ComposeMerge.AsMap(n, "networks").Keys.ToList() : [],
            Ulimits = ReadUlimits(service["ulimits"]),
            Gates = ReadGates((service["x-deploydeck"] as YMap)?["gates"]),
        };

        if (spec.Volumes.Count > 0)
            Warn($"volumes ({string.Join(", ", spec.Volumes)}) are recorded but not mounted by DeployDeck's rollout");
        if (spec.Networks.Count > 0)
            Warn($"networks ({string.Join(", ", spec.Networks)}) are recorded but not attached by DeployDeck's rollout");
        if (service["env_file"] is { } envFile)
            Warn($"env_file ({string.Join(", ", Strings(envFile, "env_file"))}) is not read: put those values in the environment or the .env given with the import");
        if (deploy is not null)
            CheckDeployKeys(deploy);

        return new ImportedService(spec, ReadPhase(service, spec.Labels), Strings(service["profiles"], "profiles"), image is not null);
    }

    private void Warn(string message) => issues.Add(new PlanIssue(Severity.Warning, message, Service: name));

    private void Error(string message) => issues.Add(new PlanIssue(Severity.Error, message, Service: name));

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

    private T Fail<T>(string message, T fallback)
    {
        Error(message);
        return fallback;
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

    private Dictionary<string, string> ReadEnvironment(YNode? node)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (node is null)
            return result;
        foreach (var (key, value) in ComposeMerge.AsMap(node, "environment").Entries)
        {
            if (value is YScalar { IsNull: true })
            {
                // "- KEY" / "KEY:" takes the value from the environment Compose runs in: here, the .env given with the import.
                if (variables.TryGetValue(key, out var fromEnv))
                    result[key] = fromEnv;
                else
                    Warn($"environment variable {key} has no value and is not in .env; it stays unset");
                continue;
            }

            result[key] = Text(value, $"environment.{key}") ?? "";
        }

        return result;
    }

    private Dictionary<string, string> ReadLabels(YNode? node)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (node is null)
            return result;
        foreach (var (key, value) in ComposeMerge.AsMap(node, "labels").Entries)
            result[key] = value is YScalar { IsNull: true } ? "" : Text(value, $"labels.{key}") ?? "";
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

    private TimeSpan? Duration(YNode? node, string key) => Parsed<TimeSpan>(node, key, Durations.TryParse);

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
            "on-failure" => new RestartPolicy(RestartMode.OnFailure, (int)attempts),
            "none" => RestartPolicy.No,
            _ => Fail($"deploy.restart_policy.condition '{condition}' is not none, on-failure or any", RestartPolicy.No),
        };
    }

    private long? Integer(YNode? node, string key)
    {
        var text = Text(node, key);
        if (text is null)
            return null;
        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < 0)
            return Fail<long?>($"{key}: '{text}' is not a whole number of 0 or more", null);
        return value;
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
        if (hc["disable"] is YScalar { Value: "true" or "True" or "yes" })
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
            var condition = value is YMap m ? Text(m["condition"], $"depends_on.{dep}.condition") : null;
            switch (condition ?? "service_started")
            {
                case "service_started":
                    result.Add(new(dep, DependencyCondition.ServiceStarted));
                    break;
                case "service_healthy":
                    result.Add(new(dep, DependencyCondition.ServiceHealthy));
                    break;
                case "service_completed_successfully":
                    result.Add(new(dep, DependencyCondition.ServiceCompletedSuccessfully));
                    break;
                default:
                    Error($"depends_on {dep}: condition '{condition}' is not service_started, service_healthy or service_completed_successfully");
                    break;
            }
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
        if (node is not YSeq seq)
            return result;
        foreach (var item in seq.Items)
        {
            switch (item)
            {
                case YScalar s:
                    result.Add(SplitVolume(s.Value));
                    break;
                case YMap m:
                    var target = Text(m["target"], "volumes.target");
                    if (target is null)
                    {
                        Error($"a volume (line {m.Line}) has no target");
                        break;
                    }

                    result.Add(new VolumeMount(Text(m["type"], "volumes.type") ?? "volume", Text(m["source"], "volumes.source"), target, m["read_only"] is YScalar { Value: "true" or "True" }));
                    break;
            }
        }

        return result;
    }

    internal static VolumeMount SplitVolume(string text)
    {
        var parts = text.Split(':');
        if (parts.Length == 1)
            return new VolumeMount("volume", null, parts[0]);
        var source = parts[0];
        var mode = parts.Length > 2 ? parts[2] : "";
        var type = source.StartsWith('/') || source.StartsWith('.') || source.StartsWith('~') ? "bind" : "volume";
        return new VolumeMount(type, source, parts[1], mode.Split(',').Contains("ro"));
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
            }
            else if (UlimitValue(value, $"ulimits.{key}") is { } both)
            {
                result[key] = new Ulimit(both, both);
            }
        }

        return result;
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

    /// <summary>A ulimit: a whole number, or -1 for unlimited.</summary>
    private long? UlimitValue(YNode? node, string key) => Text(node, key) is "-1" ? -1 : Integer(node, key);

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
        var ignored = deploy.Keys.Where(k => k is not ("resources" or "restart_policy")).ToList();
        if (deploy["resources"] is YMap resources)
        {
            if (resources["limits"] is YMap limits)
                ignored.AddRange(limits.Keys.Where(k => k is not ("memory" or "cpus")).Select(k => "resources.limits." + k));
            if (resources["reservations"] is YMap reservations)
                ignored.AddRange(reservations.Keys.Where(k => k != "memory").Select(k => "resources.reservations." + k));
        }

        if (ignored.Count > 0)
            Warn($"deploy {string.Join(", ", ignored)} {(ignored.Count == 1 ? "is" : "are")} not applied (DeployDeck runs one container per service on one host)");
    }
}
