using DeployDeck.Domain.Rollouts;

namespace DeployDeck.Domain.Tests;

public sealed class RolloutStateMachineTests
{
    [Theory]
    [InlineData(RolloutState.Succeeded)]
    [InlineData(RolloutState.Failed)]
    [InlineData(RolloutState.RolledBack)]
    [InlineData(RolloutState.Aborted)]
    public void Final_state_allows_no_transition(RolloutState final)
    {
        Assert.True(RolloutStateMachine.IsFinal(final));
        foreach (var to in Enum.GetValues<RolloutState>())
            Assert.False(RolloutStateMachine.CanTransition(final, to));
    }

    [Fact]
    public void Finished_rollout_cannot_be_started_again_by_a_late_job()
    {
        var ex = Assert.Throws<InvalidRolloutTransitionException>(() => RolloutStateMachine.Transition(RolloutState.Succeeded, RolloutState.Running));
        Assert.Contains("Succeeded", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(RolloutState.Queued, RolloutState.Running)]
    [InlineData(RolloutState.Running, RolloutState.AwaitingApproval)]
    [InlineData(RolloutState.AwaitingApproval, RolloutState.Running)]
    [InlineData(RolloutState.Running, RolloutState.RollingBack)]
    [InlineData(RolloutState.RollingBack, RolloutState.RolledBack)]
    [InlineData(RolloutState.Paused, RolloutState.Running)]
    public void Expected_path_is_allowed(RolloutState from, RolloutState to) =>
        Assert.Equal(to, RolloutStateMachine.Transition(from, to));

    [Fact]
    public void Queued_rollout_cannot_skip_straight_to_success() =>
        Assert.False(RolloutStateMachine.CanTransition(RolloutState.Queued, RolloutState.Succeeded));
}
