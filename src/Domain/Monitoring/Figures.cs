using DeployDeck.Domain.Hosts;

namespace DeployDeck.Domain.Monitoring;

/// <summary>One sample of the host. A null figure could not be read this tick.</summary>
public sealed record HostFigures
{
    public required long MemoryTotalBytes { get; init; }

    /// <summary>MemTotal − MemAvailable, as the host check counts it.</summary>
    public long? MemoryUsedBytes { get; init; }

    public long? DiskTotalBytes { get; init; }

    public long? DiskUsedBytes { get; init; }

    public long? DiskAvailableBytes { get; init; }

    public double? Load1 { get; init; }

    public double? Load5 { get; init; }

    public double? Load15 { get; init; }

    public int Cpus { get; init; }

    /// <summary>The same figures as a host check's, so the runbook's bands apply unchanged.</summary>
    public HostSignals ToSignals(DateTimeOffset at) => new()
    {
        MemoryTotalBytes = MemoryTotalBytes,
        MemoryUsedBytes = MemoryUsedBytes,
        DiskTotalBytes = DiskTotalBytes,
        DiskUsedBytes = DiskUsedBytes,
        DiskAvailableBytes = DiskAvailableBytes,
        Load1 = Load1,
        Load5 = Load5,
        Load15 = Load15,
        Cpus = Cpus,
        MeasuredAt = at,
    };
}

/// <summary>One sample of one container. Counters (network, block I/O) are totals since the container started.</summary>
public sealed record ContainerFigures
{
    public required string Id { get; init; }

    public required string Name { get; init; }

    public string? Rollout { get; init; }

    public string? Phase { get; init; }

    public string? Service { get; init; }

    public string State { get; init; } = "running";

    /// <summary>none, starting, healthy, unhealthy.</summary>
    public string Health { get; init; } = "none";

    public int RestartCount { get; init; }

    /// <summary>usage − inactive_file: what the kernel cannot reclaim without swapping, as <c>docker stats</c> shows it.</summary>
    public long? MemoryBytes { get; init; }

    /// <summary>Null when the container has no memory limit.</summary>
    public long? MemoryLimitBytes { get; init; }

    /// <summary>Percent of one core (200 = two cores busy), since this container's previous sample.</summary>
    public double? CpuPercent { get; init; }

    public long? NetRxBytes { get; init; }

    public long? NetTxBytes { get; init; }

    public long? BlockReadBytes { get; init; }

    public long? BlockWriteBytes { get; init; }

    public int? Pids { get; init; }

    /// <summary>Memory as a share of the limit, 0–100+; null without a limit.</summary>
    public double? MemoryPercentOfLimit => MemoryBytes is { } m && MemoryLimitBytes is > 0 ? 100.0 * m / MemoryLimitBytes.Value : null;
}

/// <summary>A container's memory against its limit: red from <see cref="RedFromPercent"/>, yellow from <see cref="YellowFromPercent"/>.</summary>
public static class LimitBand
{
    public const double YellowFromPercent = 75;
    public const double RedFromPercent = 90;

    public static Band Of(ContainerFigures container) => container.MemoryPercentOfLimit is { } p
        ? p >= RedFromPercent ? Band.Red : p >= YellowFromPercent ? Band.Yellow : Band.Green
        : Band.Unknown;
}
