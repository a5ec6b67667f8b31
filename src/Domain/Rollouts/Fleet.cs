namespace DeployDeck.Domain.Rollouts;

public enum FleetState
{
    Queued,
    Running,
    Succeeded,
    Failed,
    RolledBack,
    Aborted,

    /// <summary>A wave passed; the next starts when an Approver approves it (a fleet started with wave approval).</summary>
    AwaitingApproval,
}

/// <summary>What happens to the fleet when one host's rollout does not succeed.</summary>
public enum FleetFailurePolicy
{
    /// <summary>The failed host rolls back (its own phase policy), hosts done keep the new version, later waves never start.</summary>
    Stop,

    /// <summary>As <see cref="Stop"/>, and the hosts done roll back too.</summary>
    RollBackAll,
}

/// <summary>One host of a fleet rollout: its wave, and the state of its rollout once its wave started (null before).</summary>
public sealed record FleetHostStatus(Guid HostId, int Wave, RolloutState State, bool Started);

public enum FleetStep
{
    /// <summary>Start the rollouts of <see cref="FleetDecision.Wave"/>.</summary>
    StartWave,

    /// <summary>Hosts of the current wave are still going.</summary>
    Wait,

    /// <summary>Roll back the hosts that succeeded, then end <see cref="FleetState.RolledBack"/>.</summary>
    RollBackDone,

    /// <summary>End in <see cref="FleetDecision.Final"/>; rollouts of waves never started end Aborted.</summary>
    Finish,

    /// <summary>Ask every started rollout still going to abort; wait for them.</summary>
    Abort,

    /// <summary>Every host so far succeeded; <see cref="FleetDecision.Wave"/> waits for an Approver's approval to start.</summary>
    AwaitApproval,
}

public sealed record FleetDecision(FleetStep Step, int Wave = 0, FleetState Final = FleetState.Running, string? Reason = null);

/// <summary>
/// The fleet's sequencing as a pure decision: waves in order, the first being the canary; a wave starts when every host
/// of the one before succeeded (and, with wave approval, an Approver approved it); a host that did not succeed stops
/// the fleet per its policy; an abort stops every host.
/// </summary>
public static class FleetPlan
{
    /// <summary>Waves of <paramref name="waveSize"/> hosts, in the order given.</summary>
    public static int WaveOf(int index, int waveSize) => index / Math.Max(1, waveSize);

    /// <param name="approvedThrough">With wave approval, the last wave an Approver let start (the canary needs none); null without.</param>
    public static FleetDecision Decide(IReadOnlyList<FleetHostStatus> hosts, FleetFailurePolicy policy, bool abortRequested, int? approvedThrough = null)
    {
        var started = hosts.Where(h => h.Started).ToList();
        if (abortRequested)
        {
            return started.Any(h => !RolloutStateMachine.IsFinal(h.State))
                ? new FleetDecision(FleetStep.Abort)
                : new FleetDecision(FleetStep.Finish, Final: FleetState.Aborted, Reason: "aborted");
        }

        if (started.Any(h => !RolloutStateMachine.IsFinal(h.State)))
            return new FleetDecision(FleetStep.Wait);

        var failed = started.FirstOrDefault(h => h.State != RolloutState.Succeeded);
        if (failed is not null)
        {
            var why = $"host {failed.HostId} ended {failed.State} in wave {failed.Wave + 1}";
            return policy == FleetFailurePolicy.RollBackAll && started.Any(h => h.State == RolloutState.Succeeded)
                ? new FleetDecision(FleetStep.RollBackDone, Reason: why)
                : new FleetDecision(FleetStep.Finish, Final: policy == FleetFailurePolicy.RollBackAll ? FleetState.RolledBack : FleetState.Failed, Reason: why);
        }

        var next = hosts.Where(h => !h.Started).Select(h => (int?)h.Wave).Min();
        return next switch
        {
            null => new FleetDecision(FleetStep.Finish, Final: FleetState.Succeeded),
            { } wave when wave > 0 && wave > approvedThrough => new FleetDecision(FleetStep.AwaitApproval, wave),
            { } wave => new FleetDecision(FleetStep.StartWave, wave),
        };
    }
}
