namespace DeployDeck.Infrastructure.Monitoring;

public enum StatsSourceKind
{
    /// <summary>cgroup files when the engine is local and its cgroup tree is readable, else one-shot stats calls.</summary>
    Auto,
    Cgroup,
    Engine,
}

/// <summary>The Worker's sampler of host and container figures. Validated on start.</summary>
public sealed class MonitoringOptions
{
    public const string Section = "Monitoring";

    public bool Enabled { get; set; } = true;

    /// <summary>How often the host and every managed container are sampled (0.25 s – 60 s).</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

    public StatsSourceKind Source { get; set; } = StatsSourceKind.Auto;

    /// <summary>The host's cgroup tree; when the Worker runs in a container, mount the host's /sys/fs/cgroup and point here.</summary>
    public string CgroupRoot { get; set; } = "/sys/fs/cgroup";

    /// <summary>The host's /proc (meminfo, loadavg, each container's network counters).</summary>
    public string ProcRoot { get; set; } = "/proc";

    /// <summary>The disk to measure; empty means the engine's Docker root directory.</summary>
    public string? DataRoot { get; set; }

    /// <summary>How often the list of managed containers is refreshed from the engine (new and removed containers).</summary>
    public TimeSpan ContainerListInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often each container is inspected again for its restart count and limit.</summary>
    public TimeSpan InspectInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>One engine call of the sampler (list, inspect, one-shot stats) that takes longer is abandoned.</summary>
    public TimeSpan StatsTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Concurrent one-shot stats calls when the engine is the source.</summary>
    public int MaxParallelStats { get; set; } = 4;

    /// <summary>How often per-phase peaks and averages are written to PostgreSQL.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>For a remote engine: how often host memory, disk and load are measured through a probe container.</summary>
    public TimeSpan RemoteHostInterval { get; set; } = TimeSpan.FromSeconds(30);

    public IEnumerable<string> Problems()
    {
        if (Interval < TimeSpan.FromMilliseconds(250) || Interval > TimeSpan.FromSeconds(60))
            yield return $"Monitoring:Interval {Interval} must be from 00:00:00.250 to 00:01:00";
        if (ContainerListInterval <= TimeSpan.Zero || InspectInterval <= TimeSpan.Zero || FlushInterval <= TimeSpan.Zero || RemoteHostInterval <= TimeSpan.Zero)
            yield return "Monitoring:ContainerListInterval, InspectInterval, FlushInterval and RemoteHostInterval must be positive";
        if (StatsTimeout <= TimeSpan.Zero || StatsTimeout > TimeSpan.FromSeconds(30))
            yield return $"Monitoring:StatsTimeout {StatsTimeout} must be positive and at most 30 s";
        if (MaxParallelStats is < 1 or > 64)
            yield return $"Monitoring:MaxParallelStats {MaxParallelStats} must be from 1 to 64";
        if (string.IsNullOrWhiteSpace(CgroupRoot) || string.IsNullOrWhiteSpace(ProcRoot))
            yield return "Monitoring:CgroupRoot and ProcRoot must be set";
    }
}
