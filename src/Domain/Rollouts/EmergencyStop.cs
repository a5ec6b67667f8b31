using DeployDeck.Domain.Engine;

namespace DeployDeck.Domain.Rollouts;

/// <summary>
/// The runbook's emergency: stop the non-essential stages in reverse order, keep core running. Which containers go,
/// in which order: every running DeployDeck container of a phase after the first, latest phase first.
/// </summary>
public static class EmergencyStop
{
    /// <param name="phaseIndex">The position of a container's phase in its plan revision, or null when unknown (kept running).</param>
    public static IReadOnlyList<ContainerSummary> Order(IEnumerable<ContainerSummary> containers, Func<ContainerSummary, int?> phaseIndex) =>
        containers
            .Where(c => c.State is "running" or "restarting")
            .Select(c => (Container: c, Index: phaseIndex(c)))
            .Where(x => x.Index is > 0)
            .OrderByDescending(x => x.Index)
            .ThenBy(x => x.Container.Name, StringComparer.Ordinal)
            .Select(x => x.Container)
            .ToList();
}
