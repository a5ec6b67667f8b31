using DeployDeck.Domain.History;
using DeployDeck.Domain.Rollouts;

namespace DeployDeck.Domain.Tests;

public sealed class WeeklyStatsTests
{
    private static readonly DateTimeOffset Monday = new(2026, 11, 23, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_week_counts_rollouts_success_rate_mean_duration_rollbacks_and_the_phases_that_fail_most()
    {
        var facts = new[]
        {
            new RolloutFact("a", Monday, RolloutState.Succeeded, TimeSpan.FromMinutes(10), null),
            new RolloutFact("a", Monday.AddDays(2), RolloutState.RolledBack, TimeSpan.FromMinutes(4), "analytics"),
            new RolloutFact("a", Monday.AddDays(3), RolloutState.Failed, TimeSpan.FromMinutes(1), "core"),
            new RolloutFact("a", Monday.AddDays(4), RolloutState.RolledBack, TimeSpan.FromMinutes(5), "analytics"),
            new RolloutFact("a", Monday.AddDays(6), RolloutState.Running, null, null),
        };

        var week = Assert.Single(WeeklyStats.Compute(facts));

        Assert.Equal(("a", "2026-W48", new DateOnly(2026, 11, 23)), (week.Host, week.Week, week.WeekStart));
        Assert.Equal((5, 4, 1, 2), (week.Rollouts, week.Finished, week.Succeeded, week.RolledBack));
        Assert.Equal(0.25, week.SuccessRate);
        Assert.Equal(TimeSpan.FromMinutes(5), week.MeanDuration);
        Assert.Equal([new PhaseFailures("analytics", 2), new PhaseFailures("core", 1)], week.FailingPhases);
    }

    [Fact]
    public void Hosts_and_iso_weeks_are_separate_rows_in_week_order()
    {
        var facts = new[]
        {
            new RolloutFact("b", Monday.AddDays(7), RolloutState.Succeeded, TimeSpan.FromMinutes(1), null),
            new RolloutFact("a", Monday.AddDays(-1), RolloutState.Succeeded, TimeSpan.FromMinutes(1), null), // Sunday: the week before
            new RolloutFact("a", Monday, RolloutState.Succeeded, TimeSpan.FromMinutes(1), null),
        };

        var weeks = WeeklyStats.Compute(facts);

        Assert.Equal(["a 2026-W47", "a 2026-W48", "b 2026-W49"], weeks.Select(w => $"{w.Host} {w.Week}"));
    }

    [Fact]
    public void A_week_with_nothing_finished_has_no_success_rate_rather_than_zero()
    {
        var week = Assert.Single(WeeklyStats.Compute([new RolloutFact("a", Monday, RolloutState.Running, null, null)]));

        Assert.Null(week.SuccessRate);
        Assert.Null(week.MeanDuration);
    }
}
