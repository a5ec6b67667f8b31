using DeployDeck.Domain.Units;

namespace DeployDeck.Domain.Plans;

/// <summary>One service as DeployDeck will run it: image, process, limits, restart policy and health check.</summary>
public sealed record ServiceSpec
{
    public required string Name { get; init; }

    public required string Image { get; init; }

    /// <summary>Null keeps the image's own command.</summary>
    public IReadOnlyList<string>? Command { get; init; }

    public IReadOnlyList<string>? Entrypoint { get; init; }

    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    public IReadOnlyList<PortMapping> Ports { get; init; } = [];

    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    public ResourceLimits Resources { get; init; } = ResourceLimits.None;

    public RestartPolicy Restart { get; init; } = RestartPolicy.No;

    public HealthCheck? HealthCheck { get; init; }

    public IReadOnlyList<ServiceDependency> DependsOn { get; init; } = [];

    /// <summary>Set when Compose builds the image: it must exist on the host before the rollout.</summary>
    public BuildSpec? Build { get; init; }

    public IReadOnlyList<VolumeMount> Volumes { get; init; } = [];

    /// <summary>The project networks the service joins; empty means the project's default network (unless <see cref="NetworkMode"/>).</summary>
    public IReadOnlyList<NetworkAttachment> Networks { get; init; } = [];

    /// <summary>"host", "none", "bridge", "service:x", "container:x"; null joins the project's networks.</summary>
    public string? NetworkMode { get; init; }

    public IReadOnlyDictionary<string, Ulimit> Ulimits { get; init; } = new Dictionary<string, Ulimit>();

    /// <summary>Configs and secrets placed into the container before it starts.</summary>
    public IReadOnlyList<FileMount> Files { get; init; } = [];

    /// <summary>Containers of the service (<c>scale</c>, <c>deploy.replicas</c>); 0 creates none.</summary>
    public int Replicas { get; init; } = 1;

    public UpdateSpec Update { get; init; } = UpdateSpec.Default;

    /// <summary>Every other key that shapes the container (user, hostname, capabilities, logging …).</summary>
    public ContainerOptions Options { get; init; } = ContainerOptions.None;

    /// <summary>Success criteria beyond running/healthy: HTTP, logs, exec, memory.</summary>
    public IReadOnlyList<GateSpec> Gates { get; init; } = [];

    /// <summary>
    /// Fields that are secrets by origin — a value from .env or an env_file, or a variable substituted into it — by
    /// path in this service ("environment.DB_URL", "command[2]", or "command[2]#11+7" for 7 characters from the 11th):
    /// masked wherever shown and scrubbed from output, whatever their key. See <see cref="SecretKeys"/>.
    /// </summary>
    public IReadOnlyList<string> SecretFields { get; init; } = [];
}

public sealed record BuildSpec(string Context, string? Dockerfile = null, string? Target = null);

/// <param name="Type">"volume", "bind", "tmpfs" (or "npipe", "cluster", "image", which one Linux engine does not take).</param>
/// <param name="Source">The volume's key under the top-level <c>volumes:</c>, or a host path (absolute, or relative to the plan's
/// project directory); null for an anonymous volume or tmpfs.</param>
public sealed record VolumeMount(string Type, string? Source, string Target, bool ReadOnly = false)
{
    /// <summary>volume.nocopy: the image's content at the target is not copied into a new volume.</summary>
    public bool NoCopy { get; init; }

    public string? Subpath { get; init; }

    /// <summary>bind.propagation: "rprivate", "shared", "slave" …</summary>
    public string? Propagation { get; init; }

    /// <summary>bind.create_host_path; short syntax binds are created by the engine when missing, which DeployDeck refuses.</summary>
    public bool? CreateHostPath { get; init; }

    /// <summary>bind.selinux: "z" or "Z".</summary>
    public string? Selinux { get; init; }

    public long? TmpfsSizeBytes { get; init; }

    public int? TmpfsMode { get; init; }

    public bool IsBind => Type == "bind";

    public bool IsNamedVolume => Type == "volume" && Source is not null;

    public override string ToString() => (Type == "tmpfs" ? "tmpfs:" : "") + (Source is null ? "" : Source + ":") + Target + (ReadOnly ? ":ro" : "");
}

public sealed record Ulimit(long Soft, long Hard);

/// <param name="MemoryLimit">Hard limit: the kernel OOM-kills above it.</param>
/// <param name="MemoryReservation">Soft guarantee.</param>
/// <param name="MemorySwapLimit">Memory + swap; equal to the limit means no swap.</param>
public sealed record ResourceLimits(MemorySize? MemoryLimit, MemorySize? MemoryReservation, MemorySize? MemorySwapLimit, CpuShare? Cpus)
{
    public static readonly ResourceLimits None = new(null, null, null, null);
}

public enum RestartMode
{
    No,
    Always,
    UnlessStopped,
    OnFailure,
}

public sealed record RestartPolicy(RestartMode Mode, int MaxRetries = 0)
{
    public static readonly RestartPolicy No = new(RestartMode.No);

    /// <summary>The engine's name of the mode: "no", "always", "unless-stopped", "on-failure".</summary>
    public string EngineName => Mode switch
    {
        RestartMode.Always => "always",
        RestartMode.UnlessStopped => "unless-stopped",
        RestartMode.OnFailure => "on-failure",
        _ => "no",
    };

    /// <summary>Compose notation, "on-failure:3" included.</summary>
    public override string ToString() => Mode == RestartMode.OnFailure && MaxRetries > 0 ? $"on-failure:{MaxRetries}" : EngineName;

    public static bool TryParse(string? text, out RestartPolicy policy, out string error)
    {
        policy = No;
        error = "";
        var s = (text ?? "").Trim().ToLowerInvariant();
        switch (s)
        {
            case "" or "no" or "none":
                return true;
            case "always":
                policy = new RestartPolicy(RestartMode.Always);
                return true;
            case "unless-stopped":
                policy = new RestartPolicy(RestartMode.UnlessStopped);
                return true;
            case "on-failure" or "on_failure":
                policy = new RestartPolicy(RestartMode.OnFailure);
                return true;
        }

        if (s.StartsWith("on-failure:", StringComparison.Ordinal)
            && int.TryParse(s["on-failure:".Length..], out var retries) && retries is >= 0 and <= 1000)
        {
            policy = new RestartPolicy(RestartMode.OnFailure, retries);
            return true;
        }

        error = $"'{text}' is not a restart policy (no, always, unless-stopped, on-failure[:N])";
        return false;
    }
}

/// <param name="Test">As the engine takes it: ["CMD", ...], ["CMD-SHELL", "..."] or ["NONE"].</param>
public sealed record HealthCheck(IReadOnlyList<string> Test, TimeSpan Interval, TimeSpan Timeout, int Retries, TimeSpan StartPeriod)
{
    /// <summary>The longest a healthy container may take to be reported healthy.</summary>
    public TimeSpan Deadline => StartPeriod + Interval * Math.Max(1, Retries) + Timeout;
}

public sealed record PortMapping(int ContainerPort, int? HostPort = null, string Protocol = "tcp", string? HostIp = null)
{
    public override string ToString() =>
        (HostIp is null ? "" : HostIp + ":") + (HostPort is null ? "" : $"{HostPort}:") + $"{ContainerPort}/{Protocol}";
}

public enum DependencyCondition
{
    ServiceStarted,
    ServiceHealthy,
    ServiceCompletedSuccessfully,
}

public sealed record ServiceDependency(string Service, DependencyCondition Condition = DependencyCondition.ServiceStarted)
{
    /// <summary>depends_on.x.restart: this service is restarted when x is recreated.</summary>
    public bool Restart { get; init; }

    /// <summary>depends_on.x.required: false lets this service start when x is not in the plan.</summary>
    public bool Required { get; init; } = true;

    public override string ToString() => Condition == DependencyCondition.ServiceStarted ? Service : $"{Service} ({Condition})";
}
