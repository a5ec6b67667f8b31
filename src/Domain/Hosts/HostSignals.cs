namespace DeployDeck.Domain.Hosts;

/// <summary>
/// What a host check measured. A null figure is unknown (the method could not read it) — never an estimate;
/// <see cref="Notes"/> says why.
/// </summary>
public sealed record HostSignals
{
    public required long MemoryTotalBytes { get; init; }

    /// <summary>MemTotal − MemAvailable: what the kernel cannot hand out without swapping.</summary>
    public long? MemoryUsedBytes { get; init; }

    public long? DiskTotalBytes { get; init; }

    public long? DiskUsedBytes { get; init; }

    public long? DiskAvailableBytes { get; init; }

    public double? Load1 { get; init; }

    public double? Load5 { get; init; }

    public double? Load15 { get; init; }

    public int Cpus { get; init; }

    public int RunningContainers { get; init; }

    /// <summary>Memory of each running container (usage without page cache), by full container id.</summary>
    public IReadOnlyDictionary<string, long> ContainerMemory { get; init; } = new Dictionary<string, long>();

    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>What the check itself cost the host: the probe container's peak memory, as its cgroup reports it.</summary>
    public long? ProbePeakBytes { get; init; }

    public DateTimeOffset MeasuredAt { get; init; }

    public TimeSpan Took { get; init; }

    public double? MemoryPercent => MemoryUsedBytes is { } used && MemoryTotalBytes > 0 ? 100.0 * used / MemoryTotalBytes : null;

    /// <summary>As df computes it: used / (used + available), so the filesystem's reserved blocks count as full.</summary>
    public double? DiskPercent => DiskUsedBytes is { } used && DiskAvailableBytes is { } free && used + free > 0 ? 100.0 * used / (used + free) : null;

    public long? ContainersMemoryBytes => ContainerMemory.Count == 0 && RunningContainers > 0 ? null : ContainerMemory.Values.Sum();
}

/// <summary>The runbook's decision matrix, per host. Percentages of memory and disk; load as the 1-minute average.</summary>
public sealed record HostThresholds(
    double MemoryYellow = 70, double MemoryRed = 85, double DiskYellow = 70, double DiskRed = 85,
    double LoadYellow = 2, double LoadRed = 5, double KeepFreePercent = 30)
{
    public static readonly HostThresholds Default = new();

    public IEnumerable<string> Problems()
    {
        if (MemoryYellow is < 0 or > 100 || MemoryRed is < 0 or > 100 || MemoryYellow > MemoryRed)
            yield return $"memory thresholds {MemoryYellow}/{MemoryRed} % must be between 0 and 100, yellow not above red";
        if (DiskYellow is < 0 or > 100 || DiskRed is < 0 or > 100 || DiskYellow > DiskRed)
            yield return $"disk thresholds {DiskYellow}/{DiskRed} % must be between 0 and 100, yellow not above red";
        if (LoadYellow < 0 || LoadRed < 0 || LoadYellow > LoadRed || LoadRed > 10_000)
            yield return $"load thresholds {LoadYellow}/{LoadRed} must be 0 or more, yellow not above red";
        if (KeepFreePercent is < 0 or >= 100)
            yield return $"memory kept free {KeepFreePercent} % must be from 0 to under 100";
    }
}
