using DeployDeck.Domain.Engine;
using DeployDeck.Domain.Plans;

namespace DeployDeck.Domain.Rollouts;

/// <summary>
/// The reason a failed service gives: the verdict, preceded by what the engine knows of the container that explains
/// it. A container the kernel killed for memory fails its health checks on the way, and "unhealthy" alone would
/// send the user looking at the health check instead of the memory limit.
/// </summary>
public static class FailureCause
{
    /// <summary>Exit code of a process ended by SIGKILL: the kernel's OOM killer, or a <c>kill -9</c>.</summary>
    public const int SigKillExit = 137;

    /// <param name="verdict">What the gate or readiness check concluded ("unhealthy", "not running: exited, exit code 137"…).</param>
    /// <param name="container">The container as last inspected; null when it is gone.</param>
    /// <param name="ooms">The engine's OOM events of the container during this phase.</param>
    public static string Explain(ServiceSpec service, string verdict, ContainerObservation? container, IReadOnlyList<ContainerEvent> ooms)
    {
        if (NamesOom(verdict))
            return verdict;
        var limit = service.Resources.MemoryLimit is { } l ? $" above its limit of {l}" : "";
        if (container is { OomKilled: true })
            return $"OOM-killed (exit {container.ExitCode}){limit}; {verdict}";
        if (ooms.Count > 0)
        {
            var where = container is { Running: true } ? "a process in the container was OOM-killed" : "OOM-killed";
            return $"{where}{limit} ({ooms.Count} OOM kill(s) reported by the engine, first at {ooms[0].At:HH:mm:ss}); {verdict}";
        }

        if (container is { Running: false, ExitCode: SigKillExit } && !verdict.Contains("SIGKILL", StringComparison.Ordinal))
            return $"{verdict} (exit {SigKillExit} is SIGKILL: a kill -9, or the kernel, though the engine reported no OOM kill)";
        return verdict;
    }

    /// <summary>Whether a verdict already names an OOM kill, so that nothing more can improve it.</summary>
    public static bool NamesOom(string verdict) => verdict.Contains("OOM", StringComparison.Ordinal);
}
