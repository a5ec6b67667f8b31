using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Rollouts;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Engine;
using DeployDeck.Infrastructure.Jobs;
using DeployDeck.Infrastructure.Preflight;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace DeployDeck.Worker.Rollouts;

/// <summary>
/// Drives a rollout level-wise from wherever it stands to its next resting state: it holds the rollout's lock, reads
/// what the database says, and hands each state to the part that acts on it — the project check, a phase, the
/// promotion, a rollback. Every step reads what the engine really has, so a drive that runs again after a crash
/// continues where the last one stopped. A failure of a moment (the engine or PostgreSQL away) ends the drive for
/// Hangfire to retry; anything else that goes wrong rolls back.
/// </summary>
public sealed class RolloutDriver(
    IDbContextFactory<DeployDeckDbContext> dbFactory,
    EngineConnections engines,
    PhaseRunner phases,
    ImagePullRunner pulls,
    RollbackRunner rollback,
    PreviousVersions previous,
    RolloutStates states,
    RolloutRecorder recorder,
    IConfiguration configuration,
    IOptions<RolloutOptions> options,
    ILogger<RolloutDriver> logger) : IRolloutJobs
{
    public async Task DriveAsync(Guid rolloutId, CancellationToken cancellationToken)
    {
        await using var held = await RolloutLock.TryAcquireAsync(DataServiceCollectionExtensions.RequireConnectionString(configuration), rolloutId, cancellationToken);
        if (held is null)
        {
            logger.LogInformation("Rollout {RolloutId} is driven by another worker; this run stops", rolloutId);
            return;
        }

        RolloutContext? context = null;
        try
        {
            await DriveLockedAsync(rolloutId, c => context = c, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw; // shutdown: Hangfire hands the job to the next worker, which resumes level-wise
        }
        catch (Exception ex) when (Transient.Is(ex))
        {
            logger.LogWarning("Rollout {RolloutId} paused by a passing failure ({Reason}); Hangfire retries and it resumes where it stopped", rolloutId, ex.Message);
            throw;
        }
        catch (Exception ex) when (context is not null)
        {
            logger.LogError(ex, "Rollout {RolloutId} stopped by an internal error; rolling back", rolloutId);
            await RollBackAfterErrorAsync(context, ex, CancellationToken.None);
        }
    }

    private async Task DriveLockedAsync(Guid rolloutId, Action<RolloutContext> loaded, CancellationToken ct)
    {
        RolloutContext? context = null; // a rollout's revision never changes: read once
        while (true)
        {
            Rollout? rollout;
            await using (var db = await dbFactory.CreateDbContextAsync(ct))
            {
                var rollouts = context is null ? db.Rollouts.AsNoTracking().Include(r => r.PlanRevision).Include(r => r.Plan).Include(r => r.Host) : db.Rollouts.AsNoTracking();
                rollout = await rollouts.FirstOrDefaultAsync(r => r.Id == rolloutId, ct);
                if (rollout is null)
                {
                    logger.LogWarning("Rollout {RolloutId} does not exist", rolloutId);
                    return;
                }

                if (context is null)
                {
                    context = RolloutContext.From(rollout, rollout.Plan!, rollout.PlanRevision!.ToSpec(), engines.For(rollout.Host!));
                    loaded(context);
                }
            }

            var plan = context.Plan;
            if (rollout.AbortRequestedBy is not null && !RolloutStateMachine.IsFinal(rollout.State) && rollout.State != RolloutState.RollingBack)
            {
                await AbortAsync(context, rollout, ct);
                return;
            }

            switch (rollout.State)
            {
                case RolloutState.Queued:
                    if (!await StartAsync(context, ct))
                        return;
                    continue;
                case RolloutState.Running when rollout.CurrentPhase >= plan.Phases.Count:
                    await RetireOrphansAsync(context, remove: !context.KeepPrevious, ct);
                    if (!context.KeepPrevious) // a fleet that may roll every host back removes them when it ends
                        await RemoveRetiredAsync(context, ct);
                    await recorder.RecordAsync(rolloutId, RolloutEventKinds.Succeeded, "Every phase passed", ct,
                        key: StepKey.Rollout("succeeded"), change: db => states.RolloutAsync(db, rolloutId, RolloutState.Succeeded));
                    return;
                case RolloutState.Running:
                    var index = rollout.CurrentPhase;
                    var outcome = await phases.RunAsync(context, index, ct);
                    if (outcome == PhaseOutcome.Passed)
                    {
                        if (!await PromoteAsync(context, index, ct))
                            return;
                        continue;
                    }

                    if (outcome == PhaseOutcome.Aborted)
                    {
                        await AbortAsync(context, rollout, ct);
                        return;
                    }

                    var reason = ((PhaseOutcome.FailedOutcome)outcome).Reason;
                    var attempt = await states.AttemptAsync(rolloutId, plan.Phases[index].Name, ct);
                    await recorder.RecordAsync(rolloutId, RolloutEventKinds.PhaseFailed, $"Phase '{plan.Phases[index].Name}' failed: {reason}", ct,
                        phase: plan.Phases[index].Name, key: StepKey.Phase(index, attempt, "failed"), change: db => states.PhaseAsync(db, rolloutId, index, PhaseState.Failed));
                    await rollback.RollBackAsync(context, index, plan.Phases[index].OnFailure, RolloutState.RolledBack, null, ct);
                    return;
                case RolloutState.RollingBack:
                    // A drive stopped while rolling back (a crash, the engine away) finishes that rollback.
                    var at = Math.Clamp(rollout.CurrentPhase, 0, plan.Phases.Count - 1);
                    var aborted = rollout.AbortRequestedBy is not null;
                    var policy = aborted ? RollbackScope.ForAbort(plan.Phases[at].OnFailure) : plan.Phases[at].OnFailure;
                    await rollback.RollBackAsync(context, at, policy == FailurePolicy.Pause ? FailurePolicy.RollbackPhase : policy,
                        aborted ? RolloutState.Aborted : rollout.Error?.StartsWith("Stopped by an internal error", StringComparison.Ordinal) == true ? RolloutState.Failed : RolloutState.RolledBack,
                        aborted ? $"Aborted by {rollout.AbortRequestedBy}" : rollout.Error, ct);
                    return;
                default:
                    return; // final, or waiting for a person (approval, pause)
            }
        }
    }

    /// <summary>
    /// Before anything starts: what the project needs exists on the host, the images it lacks are pulled, and its own
    /// networks and volumes are made.
    /// </summary>
    private async Task<bool> StartAsync(RolloutContext context, CancellationToken ct)
    {
        if ((await ProjectCheck.RefusalAsync(context.Engine, context.Layout, context.Plan, context.ProjectDirectory, ct)
             ?? await pulls.PullAsync(context, ct)) is { } refused)
        {
            await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.Failed, $"Refused before anything started: {refused}", ct,
                key: StepKey.Rollout("failed"), change: db => states.RolloutAsync(db, context.RolloutId, RolloutState.Failed, refused));
            return false;
        }

        foreach (var made in await ProjectCheck.CreateMissingAsync(context.Engine, context.Layout, options.Value.ExtraLabels, ct))
            await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.ProjectCreated, $"Created {made} of project {context.Layout.Project}", ct, key: StepKey.Rollout($"project:{made}"));
        await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.Started,
            $"Rollout started by {context.StartedBy}: {context.Plan.Phases.Count} phase(s), {context.Plan.AllServices.Count()} service(s)", ct,
            key: StepKey.Rollout("started"), change: db => states.RolloutAsync(db, context.RolloutId, RolloutState.Running));
        return true;
    }

    /// <returns>Whether the rollout goes on to the next phase now.</returns>
    private async Task<bool> PromoteAsync(RolloutContext context, int index, CancellationToken ct)
    {
        var plan = context.Plan;
        var waitsForApproval = index + 1 < plan.Phases.Count && plan.Phases[index].Promotion == PromotionMode.NeedsApproval;
        if (waitsForApproval)
        {
            await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.PhaseAwaitingApproval, $"Promotion to '{plan.Phases[index + 1].Name}' waits for an Approver", ct,
                phase: plan.Phases[index].Name, key: StepKey.Phase(index, 1, "awaiting-approval"), change: db => states.AdvanceAsync(db, context.RolloutId, index, waitsForApproval: true));
            return false;
        }

        await states.SaveAsync(db => states.AdvanceAsync(db, context.RolloutId, index, waitsForApproval: false), ct);
        return true;
    }

    /// <summary>Carries out an Operator's abort at a safe point: the current phase is rolled back per its policy, and the rollout ends Aborted.</summary>
    private async Task AbortAsync(RolloutContext context, Rollout seen, CancellationToken ct)
    {
        Rollout current;
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
            current = await db.Rollouts.AsNoTracking().FirstAsync(r => r.Id == seen.Id, ct);
        var reason = $"Aborted by {current.AbortRequestedBy}";
        if (current.State == RolloutState.Queued)
        {
            await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.Aborted, $"{reason} before it started", ct,
                key: StepKey.Rollout(RolloutEventKinds.Aborted), change: db => states.RolloutAsync(db, context.RolloutId, RolloutState.Aborted, reason));
            return;
        }

        var index = Math.Clamp(current.State == RolloutState.AwaitingApproval ? current.CurrentPhase - 1 : current.CurrentPhase, 0, context.Plan.Phases.Count - 1);
        await rollback.RollBackAsync(context, index, RollbackScope.ForAbort(context.Plan.Phases[index].OnFailure), RolloutState.Aborted, reason, ct);
    }

    /// <summary>Something no rule foresaw stopped the drive: the current phase is rolled back, and the rollout ends Failed saying what happened.</summary>
    private async Task RollBackAfterErrorAsync(RolloutContext context, Exception ex, CancellationToken ct)
    {
        var reason = $"Stopped by an internal error: {ex.Message}";
        try
        {
            Rollout current;
            await using (var db = await dbFactory.CreateDbContextAsync(ct))
                current = await db.Rollouts.AsNoTracking().FirstAsync(r => r.Id == context.RolloutId, ct);
            if (RolloutStateMachine.IsFinal(current.State) || current.State is RolloutState.AwaitingApproval or RolloutState.Paused)
                return;
            if (current.State == RolloutState.Queued)
            {
                await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.Failed, reason, ct,
                    key: StepKey.Rollout("failed"), change: db => states.RolloutAsync(db, context.RolloutId, RolloutState.Failed, reason));
                return;
            }

            await states.SaveAsync(async db =>
            {
                var rollout = await db.Rollouts.FindAsync([context.RolloutId], ct);
                rollout!.Error = reason;
                return true;
            }, ct);
            var index = Math.Clamp(current.CurrentPhase, 0, context.Plan.Phases.Count - 1);
            var policy = context.Plan.Phases[index].OnFailure == FailurePolicy.Pause ? FailurePolicy.RollbackPhase : context.Plan.Phases[index].OnFailure;
            await rollback.RollBackAsync(context, index, policy, RolloutState.Failed, reason, ct);
        }
        catch (Exception again) when (!Transient.Is(again))
        {
            logger.LogError(again, "Rollout {RolloutId}: the rollback after an internal error failed too", context.RolloutId);
            await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.Failed, $"{reason}; the rollback failed too: {again.Message}", ct,
                key: StepKey.Rollout("failed"), change: db => states.RolloutAsync(db, context.RolloutId, RolloutState.Failed, reason));
        }
    }

    /// <summary>
    /// Once every phase passed, the containers of services the revision no longer has stop (restart policy "no"), and go
    /// when the rollout succeeds; their volumes stay. A fleet keeps them stopped until it ends.
    /// </summary>
    private async Task RetireOrphansAsync(RolloutContext context, bool remove, CancellationToken ct)
    {
        foreach (var orphan in context.Reconcile?.Orphans ?? [])
        {
            var seen = await context.Engine.InspectAsync(orphan.ContainerId, ct);
            if (seen is null)
                continue;
            await context.Engine.SetRestartPolicyAsync(orphan.ContainerId, RestartPolicy.No, ct);
            if (seen.Running)
                await context.Engine.StopAsync(orphan.ContainerId, TimeSpan.FromSeconds(10), ct);
            await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.OrphanStopped, $"Stopped orphan container {orphan.ContainerName}: {orphan.Reason}", ct,
                service: orphan.Service, key: StepKey.Rollout($"orphan-stopped:{orphan.ContainerId}"));
            if (!remove)
                continue;
            await context.Engine.RemoveAsync(orphan.ContainerId, ct);
            await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.OrphanRemoved, $"Removed orphan container {orphan.ContainerName}; its volumes stay", ct,
                service: orphan.Service, key: StepKey.Rollout($"orphan-removed:{orphan.ContainerId}"));
        }
    }

    /// <summary>The rollout succeeded: the previous versions it kept for a rollback go.</summary>
    private async Task RemoveRetiredAsync(RolloutContext context, CancellationToken ct)
    {
        var services = context.Plan.AllServices.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var old in await previous.ListAsync(context, ct))
        {
            var service = PreviousVersions.ServiceOf(old);
            if (service is null || !services.Contains(service))
                continue;
            await context.Engine.RemoveAsync(old.Id, ct);
            await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.ServiceRetired, $"Removed previous container {old.Name}", ct, service: service, key: StepKey.Rollout($"retire:{old.Id}"));
        }
    }
}
