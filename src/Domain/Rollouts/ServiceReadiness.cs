using DeployDeck.Domain.Engine;
using DeployDeck.Domain.Plans;

namespace DeployDeck.Domain.Rollouts;

public enum Readiness
{
    Waiting,
    Ready,
    Failed,
}

public sealed record ReadinessVerdict(Readiness Readiness, string Reason);

/// <summary>
/// The first gate: a service is ready when it runs, or is healthy where it has a health check. A one-shot service (one
/// that others wait for with service_completed_successfully, like a migration) is ready when it has exited 0.
/// </summary>
public static class ServiceReadiness
{
    public static ReadinessVerdict Evaluate(ServiceSpec spec, ContainerObservation? container, TimeSpan waited, bool oneShot = false)
    {
        if (container is null)
            return new(Readiness.Failed, "the container is gone");
        if (container.OomKilled)
            return new(Readiness.Failed, $"OOM-killed (exit {container.ExitCode}) above its limit of {spec.Resources.MemoryLimit}");
        if (oneShot)
        {
            return container.Running || container.Status == "created"
                ? new(Readiness.Waiting, "running to completion")
                : container.ExitCode == 0
                    ? new(Readiness.Ready, "completed successfully (exit 0)")
                    : new(Readiness.Failed, $"exited with code {container.ExitCode}; a one-shot service must exit 0");
        }

        if (!container.Running)
            return container.Status == "created"
                ? new(Readiness.Waiting, "created, not started")
                : new(Readiness.Failed, $"not running: {container.Status}, exit code {container.ExitCode}");

        var hasHealthCheck = spec.HealthCheck is { Test: [not "NONE", ..] };
        if (!hasHealthCheck)
            return new(Readiness.Ready, "running");

        return container.Health switch
        {
            HealthStatus.Healthy => new(Readiness.Ready, "healthy"),
            HealthStatus.Unhealthy => new(Readiness.Failed, "unhealthy"),
            _ when waited > spec.HealthCheck!.Deadline => new(Readiness.Failed, $"not healthy after {waited.TotalSeconds:0}s (deadline {spec.HealthCheck.Deadline.TotalSeconds:0}s)"),
            _ => new(Readiness.Waiting, "starting"),
        };
    }
}
