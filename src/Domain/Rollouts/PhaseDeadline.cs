using DeployDeck.Domain.Plans;

namespace DeployDeck.Domain.Rollouts;

/// <summary>
/// How long a phase may take before it fails for lack of progress, whatever hangs (the engine, a container, a gate).
/// It is what the phase's own rules allow — per wave, the slowest service's start deadline plus its gates, times the
/// batches the start limit makes; then the soak — with a margin for engine calls, and never more than a cap.
/// </summary>
public static class PhaseDeadline
{
    /// <summary>Engine calls, admission, the inspect that verifies limits: not covered by any service's own deadline.</summary>
    public static readonly TimeSpan Margin = TimeSpan.FromMinutes(1);

    /// <param name="startDeadline">How long a service without a health check may take to run.</param>
    /// <param name="grace">Added to each service's own deadline.</param>
    /// <param name="gateWindow">How long an HTTP or exec gate is retried.</param>
    /// <param name="maxParallelStarts">Services of a wave started at once.</param>
    /// <param name="cap">The longest any phase may take.</param>
    /// <param name="oneShot">Which services run to completion (a migration); they may take <paramref name="oneShotDeadline"/>.</param>
    public static TimeSpan For(PhaseSpec phase, TimeSpan startDeadline, TimeSpan grace, TimeSpan gateWindow, int maxParallelStarts, TimeSpan cap,
        Func<string, bool>? oneShot = null, TimeSpan oneShotDeadline = default)
    {
        var total = Margin + phase.Soak;
        foreach (var wave in StartOrder.Waves(phase))
        {
            var slowest = wave.Max(s => (oneShot?.Invoke(s.Name) == true ? oneShotDeadline : s.HealthCheck?.Deadline ?? startDeadline) + grace
                + s.Gates.Aggregate(TimeSpan.Zero, (sum, g) => sum + GateTime(g, gateWindow)));
            var batches = (wave.Count + Math.Max(1, maxParallelStarts) - 1) / Math.Max(1, maxParallelStarts);
            total += slowest * batches;
        }

        return total < cap ? total : cap;
    }

    private static TimeSpan GateTime(GateSpec gate, TimeSpan gateWindow) => gate.Kind switch
    {
        GateKind.Http or GateKind.Exec => gateWindow + TimeSpan.FromSeconds(gate.TimeoutSeconds),
        _ => TimeSpan.FromSeconds(gate.TimeoutSeconds),
    };
}
