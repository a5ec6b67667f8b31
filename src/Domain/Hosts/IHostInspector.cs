namespace DeployDeck.Domain.Hosts;

public enum ReclaimKind
{
    Images,
    Containers,
    Volumes,
    BuildCache,
}

/// <param name="Id">What the engine removes it by: image id, container id, volume name, cache record id.</param>
public sealed record ReclaimableItem(ReclaimKind Kind, string Id, string Name, long? SizeBytes, string Detail);

/// <summary>The engine's <c>system df</c>: totals per kind and, item by item, what could be removed.</summary>
public sealed record DiskUsageReport(
    long ImagesBytes, long ContainersBytes, long VolumesBytes, long BuildCacheBytes, IReadOnlyList<ReclaimableItem> Reclaimable, IReadOnlyList<string> Notes)
{
    public long ReclaimableBytes(ReclaimKind kind) => Reclaimable.Where(r => r.Kind == kind).Sum(r => r.SizeBytes ?? 0);
}

public sealed record PruneResult(IReadOnlyList<ReclaimableItem> Removed, long FreedBytes, IReadOnlyList<string> Skipped);

/// <summary>Measures a host and its images, and cleans it up, through the engine alone (no SSH).</summary>
public interface IHostInspector
{
    Task<HostSignals> MeasureAsync(CancellationToken cancellationToken);

    Task<IReadOnlyDictionary<string, ImageFacts>> ImagesAsync(IEnumerable<string> images, CancellationToken cancellationToken);

    /// <summary>Memory in use by the running containers of a plan, by service: the versions a rollout replaces.</summary>
    Task<IReadOnlyDictionary<string, long>> PlanMemoryAsync(Guid planId, HostSignals signals, CancellationToken cancellationToken);

    Task<DiskUsageReport> DiskUsageAsync(CancellationToken cancellationToken);

    /// <summary>Removes the confirmed items (by id) that are of these kinds and still reclaimable now; nothing else.</summary>
    Task<PruneResult> PruneAsync(IReadOnlyCollection<ReclaimKind> kinds, IReadOnlyCollection<string> confirmed, CancellationToken cancellationToken);
}
