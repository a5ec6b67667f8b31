using DeployDeck.Domain.Rollouts;
using DeployDeck.Infrastructure.Data;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Worker.Rollouts;

/// <summary>
/// The one place a rollout's, a phase's and a service's state change. Rollout changes go through the state machine: a
/// change it refuses returns false, and the event that would have recorded it is not written.
/// </summary>
public sealed class RolloutStates(IDbContextFactory<DeployDeckDbContext> dbFactory, TimeProvider time)
{
    /// <summary>Applies a rollout state change to <paramref name="db"/> (saved by the caller, with its event); false when refused or already there.</summary>
    public async Task<bool> RolloutAsync(DeployDeckDbContext db, Guid rolloutId, RolloutState state, string? error = null)
    {
        var rollout = await db.Rollouts.FirstAsync(r => r.Id == rolloutId);
        if (rollout.State == state || !RolloutStateMachine.CanTransition(rollout.State, state))
            return false;
        rollout.State = state;
        var now = time.GetUtcNow();
        if (state == RolloutState.Running)
            rollout.StartedAt ??= now;
        if (RolloutStateMachine.IsFinal(state))
            rollout.FinishedAt = now;
        rollout.Error = error ?? rollout.Error;
        return true;
    }

    public async Task<bool> PhaseAsync(DeployDeckDbContext db, Guid rolloutId, int index, PhaseState state)
    {
        var phase = await db.RolloutPhases.FirstAsync(p => p.RolloutId == rolloutId && p.Index == index);
        var now = time.GetUtcNow();
        phase.State = state;
        if (state == PhaseState.Deploying)
        {
            phase.StartedAt ??= now;
            phase.FinishedAt = null; // run again after a resume
        }

        if (state is PhaseState.Passed or PhaseState.Failed or PhaseState.RolledBack)
            phase.FinishedAt = now;
        return true;
    }

    /// <summary>A passed phase moves the rollout on: to the next phase, or to waiting for an Approver.</summary>
    public async Task<bool> AdvanceAsync(DeployDeckDbContext db, Guid rolloutId, int passed, bool waitsForApproval)
    {
        var rollout = await db.Rollouts.FirstAsync(r => r.Id == rolloutId);
        rollout.CurrentPhase = Math.Max(rollout.CurrentPhase, passed + 1);
        if (waitsForApproval)
            rollout.State = RolloutStateMachine.Transition(rollout.State, RolloutState.AwaitingApproval);
        return true;
    }

    /// <summary>A change saved on its own, with no event.</summary>
    public async Task SaveAsync(Func<DeployDeckDbContext, Task<bool>> change, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (await change(db))
            await db.SaveChangesAsync(ct);
    }

    public async Task ServiceAsync(Guid rolloutId, string name, ServiceState state, string? containerId, string? detail, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var now = time.GetUtcNow();
        await db.RolloutServices
            .Where(s => s.RolloutId == rolloutId && s.Name == name)
            .ExecuteUpdateAsync(u => u
                .SetProperty(s => s.State, state)
                .SetProperty(s => s.ContainerId, s => containerId ?? s.ContainerId)
                .SetProperty(s => s.Detail, detail)
                .SetProperty(s => s.UpdatedAt, now), ct);
    }

    public async Task UnfinishedServicesFailedAsync(Guid rolloutId, IReadOnlyList<string> services, string reason, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        await db.RolloutServices
            .Where(s => s.RolloutId == rolloutId && services.Contains(s.Name) && s.State != ServiceState.Ready && s.State != ServiceState.Failed)
            .ExecuteUpdateAsync(u => u.SetProperty(s => s.State, ServiceState.Failed).SetProperty(s => s.Detail, reason).SetProperty(s => s.UpdatedAt, time.GetUtcNow()), ct);
    }

    /// <summary>A phase is run again after an operator resumed a paused rollout: each resume of it is one more attempt.</summary>
    public async Task<int> AttemptAsync(Guid rolloutId, string phase, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return 1 + await db.RolloutEvents.CountAsync(e => e.RolloutId == rolloutId && e.Kind == RolloutEventKinds.Resumed && e.Phase == phase, ct);
    }

    /// <summary>When the phase first started deploying in this attempt: a run resumed after a crash keeps its deadline.</summary>
    public async Task<DateTimeOffset?> PhaseStartedAsync(Guid rolloutId, int index, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.RolloutPhases.Where(p => p.RolloutId == rolloutId && p.Index == index && p.State != PhaseState.Pending).Select(p => p.StartedAt).FirstOrDefaultAsync(ct);
    }

    public async Task<bool> AbortRequestedAsync(Guid rolloutId, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Rollouts.AnyAsync(r => r.Id == rolloutId && r.AbortRequestedBy != null, ct);
    }
}
