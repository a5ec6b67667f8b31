using DeployDeck.Domain.Monitoring;

namespace DeployDeck.Infrastructure.Data;

/// <summary>
/// What one phase of a rollout used while it ran: the host, the rollout's containers together, or one service.
/// Written by the Worker's sampler, flush by flush (peaks and sums merge); the raw samples are never stored.
/// </summary>
public sealed class PhaseUsageRecord
{
    public Guid RolloutId { get; set; }

    public int PhaseIndex { get; set; }

    public UsageSubject Subject { get; set; }

    /// <summary>The service for <see cref="UsageSubject.Service"/>; empty for the host and the rollout.</summary>
    public string Service { get; set; } = "";

    public required string Phase { get; set; }

    public long PeakMemoryBytes { get; set; }

    public long MemorySumBytes { get; set; }

    public int Samples { get; set; }

    /// <summary>Percent of one core; null for the host (its load is the figure there).</summary>
    public double? MaxCpuPercent { get; set; }

    public DateTimeOffset FirstSampleAt { get; set; }

    public DateTimeOffset LastSampleAt { get; set; }

    public long AverageMemoryBytes => Samples == 0 ? 0 : MemorySumBytes / Samples;
}
