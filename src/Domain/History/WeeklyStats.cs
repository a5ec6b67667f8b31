using System.Globalization;
using DeployDeck.Domain.Rollouts;

namespace DeployDeck.Domain.History;

/// <summary>A finished or running rollout as the manager view counts it.</summary>
/// <param name="FailedPhase">The phase that failed, if one did.</param>
public sealed record RolloutFact(string Host, DateTimeOffset CreatedAt, RolloutState State, TimeSpan? Duration, string? FailedPhase);

public sealed record PhaseFailures(string Phase, int Count);

/// <param name="Week">ISO week, "2026-W48".</param>
/// <param name="SuccessRate">Succeeded ÷ finished, 0–1; null when none finished.</param>
public sealed record HostWeek(
    string Host, string Week, DateOnly WeekStart, int Rollouts, int Finished, int Succeeded, double? SuccessRate, TimeSpan? MeanDuration, int RolledBack,
    IReadOnlyList<PhaseFailures> FailingPhases);

public static class WeeklyStats
{
    /// <summary>Per host and ISO week (UTC): counts, success rate, mean duration of finished rollouts, rollbacks, phases that fail most.</summary>
    public static IReadOnlyList<HostWeek> Compute(IEnumerable<RolloutFact> facts) =>
        facts.GroupBy(f => (f.Host, Week: Week(f.CreatedAt)))
            .Select(g =>
            {
                var finished = g.Where(f => RolloutStateMachine.IsFinal(f.State)).ToList();
                var succeeded = finished.Count(f => f.State == RolloutState.Succeeded);
                var durations = finished.Where(f => f.Duration is not null).Select(f => f.Duration!.Value).ToList();
                return new HostWeek(
                    g.Key.Host, g.Key.Week.Name, g.Key.Week.Start, g.Count(), finished.Count, succeeded,
                    finished.Count == 0 ? null : (double)succeeded / finished.Count,
                    durations.Count == 0 ? null : TimeSpan.FromTicks((long)durations.Average(d => d.Ticks)),
                    g.Count(f => f.State == RolloutState.RolledBack),
                    g.Where(f => f.FailedPhase is not null).GroupBy(f => f.FailedPhase!)
                        .Select(p => new PhaseFailures(p.Key, p.Count())).OrderByDescending(p => p.Count).ThenBy(p => p.Phase, StringComparer.Ordinal).ToList());
            })
            .OrderBy(w => w.WeekStart).ThenBy(w => w.Host, StringComparer.Ordinal)
            .ToList();

    public static (string Name, DateOnly Start) Week(DateTimeOffset at)
    {
        var day = DateOnly.FromDateTime(at.UtcDateTime);
        var start = day.AddDays(-(((int)day.DayOfWeek + 6) % 7));
        var dt = at.UtcDateTime;
        return ($"{ISOWeek.GetYear(dt)}-W{ISOWeek.GetWeekOfYear(dt):00}", start);
    }
}
