using DeployDeck.Domain.Engine;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Rollouts;
using Microsoft.Extensions.Options;

namespace DeployDeck.Worker.Rollouts;

/// <summary>
/// Rolls back what a failure's policy (or an abort) says, latest phase first: the phase's new containers are removed and
/// the previous version of each service is brought back — started again with its name and restart policy, ready, and
/// passing the gates of the revision it was deployed with. A rollback that cannot verify the previous version says so.
/// </summary>
public sealed class RollbackRunner(
    RolloutStates states,
    RolloutRecorder recorder,
    GateRunner gates,
    ContainerWatch watch,
    PreviousVersions previous,
    IOptions<RolloutOptions> options,
    TimeProvider time)
{
    private readonly RolloutOptions _options = options.Value;

    /// <param name="failedIndex">The phase that failed (or was running at the abort).</param>
    /// <param name="final">The state the rollout ends in: RolledBack, Aborted, or Failed (an internal error).</param>
    public async Task RollBackAsync(RolloutContext context, int failedIndex, FailurePolicy policy, RolloutState final, string? reason, CancellationToken ct)
    {
        var plan = context.Plan;
        if (policy == FailurePolicy.Pause)
        {
            await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.Paused, $"Paused after phase '{plan.Phases[failedIndex].Name}' failed: an operator decides", ct,
                key: StepKey.Rollout("paused"), change: db => states.RolloutAsync(db, context.RolloutId, RolloutState.Paused));
            return;
        }

        // The phase that failed stays the current one: a drive resumed while rolling back knows where it was.
        await states.SaveAsync(async db =>
        {
            var rollout = await db.Rollouts.FindAsync([context.RolloutId], ct);
            rollout!.CurrentPhase = failedIndex;
            return await states.RolloutAsync(db, context.RolloutId, RolloutState.RollingBack) || true;
        }, ct);

        var failures = new List<string>();
        foreach (var index in RollbackScope.Phases(policy, failedIndex))
        {
            var phase = plan.Phases[index];
            await states.SaveAsync(db => states.PhaseAsync(db, context.RolloutId, index, PhaseState.RollingBack), ct);
            var created = await context.Engine.ListAsync(context.Filter(phase.Name), ct);
            foreach (var container in created)
            {
                await context.Engine.RemoveAsync(container.Id, ct);
                var service = container.Labels.GetValueOrDefault(OwnershipLabels.Service) ?? container.Name;
                await states.ServiceAsync(context.RolloutId, service, ServiceState.Removed, null, "rolled back", ct);
                await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.ServiceRemoved, $"Removed new container {container.Name}", ct, phase.Name, service,
                    StepKey.Rollback(index, $"removed:{container.Id}"));
            }

            var restoreFailure = await RestorePreviousAsync(context, phase, index, ct);
            if (restoreFailure is not null)
                failures.Add(restoreFailure);
            await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.PhaseRolledBack, $"Phase '{phase.Name}' rolled back: {created.Count} new container(s) removed{(restoreFailure is null ? "" : "; the previous version is NOT back")}", ct,
                phase.Name, key: StepKey.Phase(index, 1, "rolled-back"), change: db => states.PhaseAsync(db, context.RolloutId, index, PhaseState.RolledBack));
        }

        var kind = final switch
        {
            RolloutState.Aborted => RolloutEventKinds.Aborted,
            RolloutState.Failed => RolloutEventKinds.Failed,
            _ => RolloutEventKinds.RolledBack,
        };
        var summary = (reason is null ? "" : reason + ": ") + (failures.Count == 0 ? "rolled back; the previous version runs and passes its gates" : $"rolled back, but {string.Join("; ", failures)}");
        await recorder.RecordAsync(context.RolloutId, kind, ServiceDeployer.Capitalise(summary), ct,
            key: StepKey.Rollout(kind), change: db => states.RolloutAsync(db, context.RolloutId, final, failures.Count == 0 ? reason : string.Join("; ", failures)));
    }

    /// <summary>
    /// After a phase's new containers are removed, its previous version must be back: the containers of each service's
    /// newest earlier rollout are started if they were stopped, must become ready, and must pass the gates of the revision
    /// they were deployed with. Returns what failed, or null.
    /// </summary>
    private async Task<string?> RestorePreviousAsync(RolloutContext context, PhaseSpec phase, int index, CancellationToken ct)
    {
        var problems = new List<string>();
        var restored = 0;
        var all = await previous.ListAsync(context, ct);
        // A one-shot (a migration) ran to completion: starting its previous container would run it again.
        foreach (var service in phase.Services.Where(s => !context.Plan.IsOneShot(s.Name)))
        {
            foreach (var container in PreviousVersions.Latest(all, service.Name).OrderBy(c => c.Name, StringComparer.Ordinal))
            {
                // docker compose's container (adopted) has no revision: the engine's own health check of it counts, no gates,
                // and it gets back the restart policy it had, which replacing it set to "no".
                var spec = await previous.SpecAsync(container, service.Name, ct)
                    ?? (PreviousVersions.IsCompose(container)
                        ? service with { HealthCheck = null, Gates = [], Restart = context.Reconcile?.AdoptedRestart(container.Id) ?? service.Restart }
                        : service);
                var before = await context.Engine.InspectAsync(container.Id, ct);
                if (before is null)
                    continue;
                using var changes = watch.Follow(container.Id);
                await previous.ReviveAsync(context, container, spec, ct);
                var began = time.GetUtcNow();
                var deadline = ServiceReadiness.Deadline(spec, _options.StartDeadline, before) + _options.DeadlineGrace;
                ReadinessVerdict verdict;
                ContainerObservation? seen;
                do
                {
                    await changes.NextAsync(_options.PollInterval, ct);
                    seen = await context.Engine.InspectAsync(container.Id, ct);
                    // Up since it started: long ago for one that never stopped (start-first), a moment for one started again.
                    verdict = ServiceReadiness.Evaluate(spec, seen, time.GetUtcNow() - (seen?.StartedAt ?? began), restartsBefore: before.RestartCount);
                }
                while (verdict.Readiness == Readiness.Waiting && time.GetUtcNow() - began < deadline);

                if (verdict.Readiness != Readiness.Ready)
                {
                    problems.Add($"{service.Name}: previous container {container.Name} is not back ({verdict.Reason})");
                    continue;
                }

                foreach (var gate in spec.Gates.Where(g => !g.Disturbs))
                {
                    var outcome = await gates.EvaluateAsync(context.Engine, gate, spec, container.Id, began, ct);
                    if (!outcome.Passed)
                        problems.Add($"{service.Name}: previous container {container.Name} fails {gate}: {outcome.Figure}");
                }

                restored++;
                await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.ServiceRestored,
                    $"Previous container {container.Name} ({seen!.ImageId[..Math.Min(19, seen.ImageId.Length)]}) is {verdict.Reason}; {spec.Gates.Count} gate(s) checked",
                    ct, phase.Name, service.Name, StepKey.Rollback(index, $"restored:{container.Id}"));
            }
        }

        if (problems.Count > 0)
        {
            var message = $"ROLLBACK NOT VERIFIED for phase '{phase.Name}': {string.Join("; ", problems)}";
            await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.RollbackFailed, message, ct, phase.Name, key: StepKey.Rollback(index, "failed"));
            return message;
        }

        await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.RollbackVerified, $"Phase '{phase.Name}': {restored} previous container(s) back and passing their gates", ct,
            phase.Name, key: StepKey.Rollback(index, "verified"));
        return null;
    }
}
