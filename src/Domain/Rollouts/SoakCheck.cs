using DeployDeck.Domain.Engine;
using DeployDeck.Domain.Plans;

namespace DeployDeck.Domain.Rollouts;

/// <summary>
/// During a phase's soak a service must stay as it was when the phase passed its gates: running, not OOM-killed,
/// not restarted, not unhealthy. Only what happened since then counts — an old OOM of an earlier container does not.
/// </summary>
public static class SoakCheck
{
    /// <returns>Why the service fails its soak, or null.</returns>
    public static string? Evaluate(ServiceSpec service, ContainerObservation baseline, ContainerObservation? now)
    {
        if (now is null)
            return "the container is gone";
        if (now.OomKilled && !baseline.OomKilled)
            return $"OOM-killed (exit {now.ExitCode}) above its limit of {service.Resources.MemoryLimit}";
        if (now.RestartCount > baseline.RestartCount)
            return $"restarted {now.RestartCount - baseline.RestartCount} time(s) (exit {now.ExitCode})";
        if (!now.Running)
            return $"stopped: {now.Status}, exit code {now.ExitCode}";
        if (now.Health == HealthStatus.Unhealthy)
            return "unhealthy";
        return null;
    }
}
