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
/// <remarks>
/// Running — and healthy, where there is a health check — must also have lasted: a container counts as ready only once it
/// stayed up for its <c>deploy.update_config.monitor</c> (5 s by default, as Swarm's CLI; Nomad's <c>min_healthy_time</c>)
/// without a restart, so a service that exits a second after its start does not pass its phase.
/// </remarks>
public static class ServiceReadiness
{
    /// <param name="waited">How long the container has been up (since it started).</param>
    /// <param name="restartsBefore">Restarts the container had before this wait (a previous container brought back).</param>
    public static ReadinessVerdict Evaluate(ServiceSpec spec, ContainerObservation? container, TimeSpan waited, bool oneShot = false, int restartsBefore = 0)
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

        if (container.RestartCount > restartsBefore)
            return new(Readiness.Failed, $"restarted {container.RestartCount - restartsBefore} time(s) before it was ready (last exit {container.ExitCode})");

        // The image's own health check counts as Compose counts it (service_healthy waits for it) unless the plan disabled it.
        var check = Effective(spec, container);
        var hasHealthCheck = check is not null;
        var monitor = spec.Update.Monitor ?? UpdateSpec.DefaultMonitor;
        if (!hasHealthCheck)
            return waited >= monitor ? new(Readiness.Ready, "running") : new(Readiness.Waiting, $"running, to stay up for {monitor.TotalSeconds:0.#}s");

        return container.Health switch
        {
            HealthStatus.Healthy when waited >= monitor => new(Readiness.Ready, "healthy"),
            HealthStatus.Healthy => new(Readiness.Waiting, $"healthy, to stay up for {monitor.TotalSeconds:0.#}s"),
            HealthStatus.Unhealthy => new(Readiness.Failed, "unhealthy"),
            _ when waited > check!.Deadline => new(Readiness.Failed, $"not healthy after {waited.TotalSeconds:0}s (deadline {check.Deadline.TotalSeconds:0}s)"),
            _ => new(Readiness.Waiting, "starting"),
        };
    }

    /// <summary>The health check a container runs: the plan's, else the image's; none when the plan disabled it.</summary>
    public static HealthCheck? Effective(ServiceSpec spec, ContainerObservation? container) =>
        spec.HealthCheck is { Test: ["NONE", ..] } ? null : spec.HealthCheck ?? container?.HealthCheck;

    /// <summary>The longest a service may take to be ready: its health check's deadline (or the start deadline), and its monitor time.</summary>
    public static TimeSpan Deadline(ServiceSpec spec, TimeSpan startDeadline, ContainerObservation? container = null) =>
        (Effective(spec, container)?.Deadline ?? startDeadline) + (spec.Update.Monitor ?? UpdateSpec.DefaultMonitor);
}
