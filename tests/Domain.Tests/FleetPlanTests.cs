using DeployDeck.Domain.Rollouts;

namespace DeployDeck.Domain.Tests;

public sealed class FleetPlanTests
{
    private static readonly Guid A = Guid.NewGuid(), B = Guid.NewGuid(), C = Guid.NewGuid();

    private static FleetHostStatus H(Guid id, int wave, RolloutState state = RolloutState.Queued, bool started = false) => new(id, wave, state, started);

    [Fact]
    public void The_first_wave_is_the_canary_and_the_next_starts_only_when_every_host_of_it_succeeded()
    {
        Assert.Equal(new FleetDecision(FleetStep.StartWave, 0), FleetPlan.Decide([H(A, 0), H(B, 1), H(C, 2)], FleetFailurePolicy.Stop, false));
        Assert.Equal(FleetStep.Wait, FleetPlan.Decide([H(A, 0, RolloutState.Running, true), H(B, 1)], FleetFailurePolicy.Stop, false).Step);
        Assert.Equal(new FleetDecision(FleetStep.StartWave, 1), FleetPlan.Decide([H(A, 0, RolloutState.Succeeded, true), H(B, 1), H(C, 2)], FleetFailurePolicy.Stop, false));
        Assert.Equal(FleetState.Succeeded, FleetPlan.Decide([H(A, 0, RolloutState.Succeeded, true), H(B, 1, RolloutState.Succeeded, true)], FleetFailurePolicy.Stop, false).Final);
    }

    [Fact]
    public void A_failed_host_with_stop_ends_the_fleet_failed_and_later_waves_never_start()
    {
        var decision = FleetPlan.Decide([H(A, 0, RolloutState.Succeeded, true), H(B, 1, RolloutState.RolledBack, true), H(C, 2)], FleetFailurePolicy.Stop, false);
        Assert.Equal((FleetStep.Finish, FleetState.Failed), (decision.Step, decision.Final));
        Assert.Contains("wave 2", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failed_host_with_roll_back_all_rolls_back_the_hosts_done_first()
    {
        Assert.Equal(FleetStep.RollBackDone,
            FleetPlan.Decide([H(A, 0, RolloutState.Succeeded, true), H(B, 1, RolloutState.RolledBack, true), H(C, 2)], FleetFailurePolicy.RollBackAll, false).Step);
        Assert.Equal(FleetState.RolledBack, FleetPlan.Decide([H(A, 0, RolloutState.RolledBack, true), H(C, 1)], FleetFailurePolicy.RollBackAll, false).Final);
    }

    [Fact]
    public void With_wave_approval_the_canary_starts_at_once_and_each_later_wave_waits_for_its_approval()
    {
        Assert.Equal(new FleetDecision(FleetStep.StartWave, 0), FleetPlan.Decide([H(A, 0), H(B, 1), H(C, 2)], FleetFailurePolicy.Stop, false, approvedThrough: 0));
        var done = H(A, 0, RolloutState.Succeeded, true);
        Assert.Equal(new FleetDecision(FleetStep.AwaitApproval, 1), FleetPlan.Decide([done, H(B, 1), H(C, 2)], FleetFailurePolicy.Stop, false, approvedThrough: 0));
        Assert.Equal(new FleetDecision(FleetStep.StartWave, 1), FleetPlan.Decide([done, H(B, 1), H(C, 2)], FleetFailurePolicy.Stop, false, approvedThrough: 1));
        Assert.Equal(new FleetDecision(FleetStep.AwaitApproval, 2),
            FleetPlan.Decide([done, H(B, 1, RolloutState.Succeeded, true), H(C, 2)], FleetFailurePolicy.Stop, false, approvedThrough: 1));
        // Waiting never outlasts a failure or an abort: neither needs an approval.
        Assert.Equal(FleetState.Failed, FleetPlan.Decide([done, H(B, 1, RolloutState.RolledBack, true), H(C, 2)], FleetFailurePolicy.Stop, false, approvedThrough: 1).Final);
        Assert.Equal(FleetState.Aborted, FleetPlan.Decide([done, H(B, 1)], FleetFailurePolicy.Stop, true, approvedThrough: 0).Final);
    }

    [Fact]
    public void An_abort_stops_the_hosts_going_and_ends_aborted_once_they_stopped()
    {
        Assert.Equal(FleetStep.Abort, FleetPlan.Decide([H(A, 0, RolloutState.Running, true), H(B, 1)], FleetFailurePolicy.Stop, true).Step);
        Assert.Equal(FleetState.Aborted, FleetPlan.Decide([H(A, 0, RolloutState.Aborted, true), H(B, 1)], FleetFailurePolicy.Stop, true).Final);
    }

    [Theory]
    [InlineData(0, 1, 0)]
    [InlineData(1, 1, 1)]
    [InlineData(3, 2, 1)]
    public void Waves_are_the_hosts_in_order_by_wave_size(int index, int size, int wave) => Assert.Equal(wave, FleetPlan.WaveOf(index, size));
}
