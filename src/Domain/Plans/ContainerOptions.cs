using DeployDeck.Domain.Units;

namespace DeployDeck.Domain.Plans;

/// <summary>
/// The Compose service keys that shape the container beyond image, process, limits and health: as Compose passes them
/// to the engine. Every property is the engine's default when unset, so a service that says nothing gets what
/// <c>docker compose up</c> would give it.
/// </summary>
public sealed record ContainerOptions
{
    public static readonly ContainerOptions None = new();

    public string? User { get; init; }

    public string? WorkingDir { get; init; }

    public string? Hostname { get; init; }

    public string? Domainname { get; init; }

    /// <summary>"host:ip" as the engine takes them.</summary>
    public IReadOnlyList<string> ExtraHosts { get; init; } = [];

    public IReadOnlyList<string> Dns { get; init; } = [];

    public IReadOnlyList<string> DnsSearch { get; init; } = [];

    public IReadOnlyList<string> DnsOptions { get; init; } = [];

    public IReadOnlyList<string> CapAdd { get; init; } = [];

    public IReadOnlyList<string> CapDrop { get; init; } = [];

    public bool? Init { get; init; }

    public bool ReadOnly { get; init; }

    public MemorySize? ShmSize { get; init; }

    public IReadOnlyDictionary<string, string> Sysctls { get; init; } = new Dictionary<string, string>();

    public long? PidsLimit { get; init; }

    public string? StopSignal { get; init; }

    public TimeSpan? StopGracePeriod { get; init; }

    public LoggingSpec? Logging { get; init; }

    /// <summary>Ports exposed to other containers only: "8080/tcp".</summary>
    public IReadOnlyList<string> Expose { get; init; } = [];

    /// <summary>A fixed container name: one container of the service at a time (stop-first).</summary>
    public string? ContainerName { get; init; }

    public bool Tty { get; init; }

    public bool StdinOpen { get; init; }

    public IReadOnlyList<string> GroupAdd { get; init; } = [];

    /// <summary>"shareable", "private", "host", "service:x", "container:x".</summary>
    public string? Ipc { get; init; }

    /// <summary>"host", "service:x", "container:x".</summary>
    public string? Pid { get; init; }

    public int? OomScoreAdj { get; init; }

    public bool? OomKillDisable { get; init; }

    public int? MemSwappiness { get; init; }

    public long? CpuShares { get; init; }

    public string? Cpuset { get; init; }

    public long? CpuQuota { get; init; }

    public long? CpuPeriod { get; init; }

    public long? CpuRtRuntime { get; init; }

    public long? CpuRtPeriod { get; init; }

    public bool Privileged { get; init; }

    public IReadOnlyList<DeviceMapping> Devices { get; init; } = [];

    public IReadOnlyList<string> DeviceCgroupRules { get; init; } = [];

    public IReadOnlyList<string> SecurityOpt { get; init; } = [];

    public string? MacAddress { get; init; }

    public string? Runtime { get; init; }

    public string? Platform { get; init; }

    public string? Isolation { get; init; }

    public string? CgroupParent { get; init; }

    /// <summary>"host" or "private": the cgroup namespace.</summary>
    public string? Cgroup { get; init; }

    public string? UsernsMode { get; init; }

    public string? Uts { get; init; }

    /// <summary>"service" or "container:name", optionally ":ro".</summary>
    public IReadOnlyList<string> VolumesFrom { get; init; } = [];

    /// <summary>"service" or "service:alias".</summary>
    public IReadOnlyList<string> Links { get; init; } = [];

    public IReadOnlyList<string> ExternalLinks { get; init; } = [];

    /// <summary>"/run" or "/run:size=64m,mode=1777".</summary>
    public IReadOnlyList<string> Tmpfs { get; init; } = [];

    public IReadOnlyDictionary<string, string> StorageOpt { get; init; } = new Dictionary<string, string>();

    public BlkioSpec? Blkio { get; init; }

    public PullPolicy PullPolicy { get; init; } = PullPolicy.Missing;
}

public sealed record LoggingSpec(string? Driver, IReadOnlyDictionary<string, string> Options);

public sealed record DeviceMapping(string PathOnHost, string PathInContainer, string Permissions = "rwm")
{
    public override string ToString() => $"{PathOnHost}:{PathInContainer}:{Permissions}";
}

/// <summary>blkio_config: a weight, and per-device weights and rates ("/dev/sda" → bytes or operations per second).</summary>
public sealed record BlkioSpec
{
    public int? Weight { get; init; }

    public IReadOnlyDictionary<string, long> WeightDevice { get; init; } = new Dictionary<string, long>();

    public IReadOnlyDictionary<string, long> DeviceReadBps { get; init; } = new Dictionary<string, long>();

    public IReadOnlyDictionary<string, long> DeviceWriteBps { get; init; } = new Dictionary<string, long>();

    public IReadOnlyDictionary<string, long> DeviceReadIops { get; init; } = new Dictionary<string, long>();

    public IReadOnlyDictionary<string, long> DeviceWriteIops { get; init; } = new Dictionary<string, long>();
}

public enum PullPolicy
{
    Missing,
    Always,
    Never,
    Build,
}

public enum UpdateOrder
{
    StartFirst,
    StopFirst,
}

/// <param name="Order">From <c>deploy.update_config.order</c>; null when the file is silent and DeployDeck chooses.</param>
/// <param name="Monitor">How long a new container must stay running (and healthy) to count as ready; null is the default.</param>
public sealed record UpdateSpec(UpdateOrder? Order = null, TimeSpan? Monitor = null)
{
    public static readonly UpdateSpec Default = new();

    /// <summary>Swarm's CLI default for <c>update_config.monitor</c>.</summary>
    public static readonly TimeSpan DefaultMonitor = TimeSpan.FromSeconds(5);
}

/// <summary>A service's attachment to one of the project's networks (the key under <c>networks:</c>).</summary>
public sealed record NetworkAttachment(string Network)
{
    public IReadOnlyList<string> Aliases { get; init; } = [];

    public string? Ipv4Address { get; init; }

    public string? Ipv6Address { get; init; }

    public IReadOnlyList<string> LinkLocalIps { get; init; } = [];

    public string? MacAddress { get; init; }

    public IReadOnlyDictionary<string, string> DriverOpts { get; init; } = new Dictionary<string, string>();

    /// <summary>Higher first: the network the container is created on.</summary>
    public int Priority { get; init; }

    public override string ToString() => Aliases.Count == 0 ? Network : $"{Network} (aliases {string.Join(", ", Aliases)})";
}

/// <summary>A config or a secret placed into the container as a file before it starts.</summary>
/// <param name="Source">The key under the top-level <c>configs:</c> or <c>secrets:</c>.</param>
/// <param name="Target">Absolute path in the container.</param>
/// <param name="Mode">Unix permission bits; null is 0444.</param>
public sealed record FileMount(ProjectFileKind Kind, string Source, string Target, string? Uid = null, string? Gid = null, int? Mode = null)
{
    public override string ToString() => $"{Kind.ToString().ToLowerInvariant()} {Source} → {Target}";
}
