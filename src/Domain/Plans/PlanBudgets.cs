using DeployDeck.Domain.Units;

namespace DeployDeck.Domain.Plans;

/// <param name="Limits">Sum of the phase's memory limits.</param>
/// <param name="CumulativeLimits">Limits of this phase and every earlier one: what runs once it is up.</param>
/// <param name="Unlimited">Services without a memory limit: their use is unbounded, the totals understate it.</param>
public sealed record PhaseBudget(
    string Phase, MemorySize Limits, MemorySize Reservations, CpuShare Cpus, MemorySize CumulativeLimits, MemorySize CumulativeReservations,
    MemorySize? Budget, CpuShare? CpuBudget, IReadOnlyList<string> Unlimited)
{
    /// <summary>Share of the phase budget its limits take (0–1+), or null without a budget.</summary>
    public double? Use => Budget is { Bytes: > 0 } b ? (double)Limits.Bytes / b.Bytes : null;
}

/// <summary>Per phase and for the whole stack: the sums the runbook checks against the host before a rollout.</summary>
public sealed record PlanBudgets(IReadOnlyList<PhaseBudget> Phases, MemorySize Limits, MemorySize Reservations, MemorySize? StackBudget)
{
    public static PlanBudgets Of(PlanSpec plan)
    {
        var phases = new List<PhaseBudget>();
        var cumulative = MemorySize.Zero;
        var cumulativeReservations = MemorySize.Zero;
        foreach (var phase in plan.Phases)
        {
            var limits = Sum(phase.Services.Select(s => s.Resources.MemoryLimit));
            var reservations = Sum(phase.Services.Select(s => s.Resources.MemoryReservation));
            var cpus = new CpuShare(phase.Services.Sum(s => s.Resources.Cpus?.NanoCpus ?? 0));
            cumulative += limits;
            cumulativeReservations += reservations;
            phases.Add(new PhaseBudget(phase.Name, limits, reservations, cpus, cumulative, cumulativeReservations, phase.MemoryBudget, phase.CpuBudget,
                phase.Services.Where(s => s.Resources.MemoryLimit is null).Select(s => s.Name).ToList()));
        }

        return new PlanBudgets(phases, cumulative, cumulativeReservations, plan.StackBudget);
    }

    private static MemorySize Sum(IEnumerable<MemorySize?> sizes) => new(sizes.Sum(s => s?.Bytes ?? 0));
}
