namespace DeployDeck.Domain.Rollouts;

public enum RolloutState
{
    Queued,
    Running,
    AwaitingApproval,
    Paused,
    RollingBack,
    Succeeded,
    Failed,
    RolledBack,
    Aborted,
}

public enum PhaseState
{
    Pending,
    Deploying,
    Gating,
    Soaking,
    AwaitingApproval,
    Passed,
    Failed,
    RollingBack,
    RolledBack,
}

public enum ServiceState
{
    Pending,
    Creating,
    Starting,
    WaitingHealthy,
    Ready,
    Failed,
    Removed,
}

/// <summary>
/// Which state changes a rollout may make. Every writer goes through <see cref="Transition"/>,
/// so a finished rollout can never be restarted by a late or repeated job.
/// </summary>
public static class RolloutStateMachine
{
    private static readonly Dictionary<RolloutState, RolloutState[]> Allowed = new()
    {
        [RolloutState.Queued] = [RolloutState.Running, RolloutState.Aborted, RolloutState.Failed],
        [RolloutState.Running] = [RolloutState.AwaitingApproval, RolloutState.Paused, RolloutState.RollingBack, RolloutState.Succeeded, RolloutState.Failed, RolloutState.Aborted],
        [RolloutState.AwaitingApproval] = [RolloutState.Running, RolloutState.RollingBack, RolloutState.Aborted],
        [RolloutState.Paused] = [RolloutState.Running, RolloutState.RollingBack, RolloutState.Aborted],
        [RolloutState.RollingBack] = [RolloutState.RolledBack, RolloutState.Failed, RolloutState.Aborted],
        [RolloutState.Succeeded] = [],
        [RolloutState.Failed] = [],
        [RolloutState.RolledBack] = [],
        [RolloutState.Aborted] = [],
    };

    public static bool IsFinal(RolloutState state) => Allowed[state].Length == 0;

    public static bool CanTransition(RolloutState from, RolloutState to) => Allowed[from].Contains(to);

    public static RolloutState Transition(RolloutState from, RolloutState to) =>
        CanTransition(from, to) ? to : throw new InvalidRolloutTransitionException(from, to);
}

public sealed class InvalidRolloutTransitionException(RolloutState from, RolloutState to)
    : InvalidOperationException($"A rollout cannot go from {from} to {to}.")
{
    public RolloutState From { get; } = from;

    public RolloutState To { get; } = to;
}
