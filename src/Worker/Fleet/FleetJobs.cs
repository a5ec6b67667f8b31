using DeployDeck.Domain.Engine;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Rollouts;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Engine;
using DeployDeck.Infrastructure.Jobs;
using DeployDeck.Worker.Rollouts;
using Hangfire;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Worker.Fleet;

/// <summary>
/// Drives a fleet rollout: it never deploys anything itself. Each host has its own rollout (created queued with the fleet)
/// that the host's own <see cref="IRolloutJobs"/> job runs — phases, admission, gates and rollback on that host's engine.
/// This job starts the rollouts of one wave at a time and watches them; what to do next is <see cref="FleetPlan.Decide"/>.
/// Re-entrant: every step reads the database, so a job run again after a crash goes on where the last one stopped.
/// </summary>
public sealed class FleetJobs(
    IDbContextFactory<DeployDeckDbContext> dbFactory, IBackgroundJobClient jobs, FleetRollback rollback, IConfiguration configuration, TimeProvider time,
    ILogger<FleetJobs> logger) : IFleetJobs
{
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(2);

    public async Task DriveAsync(Guid fleetRolloutId, CancellationToken cancellationToken)
    {
        await using var held = await RolloutLock.TryAcquireAsync(DataServiceCollectionExtensions.RequireConnectionString(configuration), fleetRolloutId, cancellationToken);
        if (held is null)
        {
            logger.LogInformation("Fleet rollout {FleetId} is driven by another worker; this run stops", fleetRolloutId);
            return;
        }

        while (!cancellationToken.IsCancellationRequested)
        {
            FleetRollout? fleet;
            Dictionary<Guid, Rollout> rollouts;
            await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
            {
                fleet = await db.FleetRollouts.Include(f => f.Hosts).FirstOrDefaultAsync(f => f.Id == fleetRolloutId, cancellationToken);
                if (fleet is null || fleet.State is not (FleetState.Queued or FleetState.Running or FleetState.AwaitingApproval))
                    return;
                var ids = fleet.Hosts.Select(h => h.RolloutId).ToList();
                rollouts = await db.Rollouts.AsNoTracking().Where(r => ids.Contains(r.Id)).ToDictionaryAsync(r => r.Id, cancellationToken);
                if (fleet.State == FleetState.Queued)
                {
                    fleet.State = FleetState.Running;
                    fleet.StartedAt = time.GetUtcNow();
                    await db.SaveChangesAsync(cancellationToken);
                    logger.LogInformation("Fleet rollout {FleetId} started: {Hosts} host(s) in waves of {WaveSize}", fleet.Id, fleet.Hosts.Count, fleet.WaveSize);
                }
            }

            // A host the fleet rolled back after it had succeeded counts as rolled back.
            var statuses = fleet.Hosts.OrderBy(h => h.Order)
                .Select(h => new FleetHostStatus(h.HostId, h.Wave, h.RolledBackAt is null ? rollouts[h.RolloutId].State : RolloutState.RolledBack, h.Started)).ToList();
            var decision = FleetPlan.Decide(statuses, fleet.OnHostFailure, fleet.AbortRequestedBy is not null, fleet.ApproveWaves ? fleet.ApprovedThroughWave : null);
            if (fleet.State == FleetState.AwaitingApproval && decision.Step != FleetStep.AwaitApproval)
                await SetStateAsync(fleet.Id, FleetState.AwaitingApproval, FleetState.Running, cancellationToken);
            switch (decision.Step)
            {
                case FleetStep.StartWave:
                    await StartWaveAsync(fleet, decision.Wave, cancellationToken);
                    break;
                case FleetStep.AwaitApproval:
                    if (await SetStateAsync(fleet.Id, FleetState.Running, FleetState.AwaitingApproval, cancellationToken))
                        logger.LogInformation("Fleet rollout {FleetId}: wave {Wave} waits for an Approver's approval", fleet.Id, decision.Wave + 1);
                    await Task.Delay(Poll, time, cancellationToken);
                    break;
                case FleetStep.Wait:
                    await Task.Delay(Poll, time, cancellationToken);
                    break;
                case FleetStep.Abort:
                    await AbortHostsAsync(fleet, cancellationToken);
                    await Task.Delay(Poll, time, cancellationToken);
                    break;
                case FleetStep.RollBackDone:
                    await RollBackDoneAsync(fleet, rollouts, decision.Reason!, cancellationToken);
                    break;
                default:
                    await FinishAsync(fleet, rollouts, decision, cancellationToken);
                    return;
            }
        }
    }

    /// <summary>One conditional update: an abort or an approval in between is never overwritten.</summary>
    private async Task<bool> SetStateAsync(Guid fleetId, FleetState from, FleetState to, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.FleetRollouts.Where(f => f.Id == fleetId && f.State == from).ExecuteUpdateAsync(u => u.SetProperty(f => f.State, to), ct) > 0;
    }

    private async Task StartWaveAsync(FleetRollout fleet, int wave, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var hosts = await db.FleetHosts.Where(h => h.FleetRolloutId == fleet.Id && h.Wave == wave && !h.Started).ToListAsync(ct);
        foreach (var host in hosts)
            host.Started = true;
        await db.SaveChangesAsync(ct);
        // Enqueued after the mark is saved: a crash in between leaves a started host whose rollout the supervisor finds undriven.
        foreach (var host in hosts)
            jobs.Enqueue<IRolloutJobs>(j => j.DriveAsync(host.RolloutId, CancellationToken.None));
        logger.LogInformation("Fleet rollout {FleetId}: wave {Wave} started ({Hosts} host(s))", fleet.Id, wave + 1, hosts.Count);
    }

    /// <summary>Every host's rollout still going stops at its next safe point; hosts not started yet never will.</summary>
    private async Task AbortHostsAsync(FleetRollout fleet, CancellationToken ct)
    {
        var ids = fleet.Hosts.Where(h => h.Started).Select(h => h.RolloutId).ToList();
        var now = time.GetUtcNow();
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        await db.Rollouts.Where(r => ids.Contains(r.Id) && r.AbortRequestedBy == null && r.State != RolloutState.Succeeded && r.State != RolloutState.Failed
                && r.State != RolloutState.RolledBack && r.State != RolloutState.Aborted)
            .ExecuteUpdateAsync(u => u.SetProperty(r => r.AbortRequestedBy, fleet.AbortRequestedBy).SetProperty(r => r.AbortRequestedAt, now), ct);
    }

    private async Task RollBackDoneAsync(FleetRollout fleet, Dictionary<Guid, Rollout> rollouts, string reason, CancellationToken ct)
    {
        foreach (var host in fleet.Hosts.Where(h => h.Started && h.RolledBackAt is null && rollouts[h.RolloutId].State == RolloutState.Succeeded).OrderByDescending(h => h.Order))
        {
            await rollback.RollBackAsync(rollouts[host.RolloutId], $"Rolled back by fleet rollout {fleet.Id}: {reason}", ct);
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            await db.FleetHosts.Where(h => h.Id == host.Id).ExecuteUpdateAsync(u => u.SetProperty(h => h.RolledBackAt, time.GetUtcNow()), ct);
        }
    }

    private async Task FinishAsync(FleetRollout fleet, Dictionary<Guid, Rollout> rollouts, FleetDecision decision, CancellationToken ct)
    {
        // Rollouts of waves that never started end now, saying why.
        foreach (var host in fleet.Hosts.Where(h => !h.Started))
        {
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            var rollout = await db.Rollouts.FirstAsync(r => r.Id == host.RolloutId, ct);
            if (RolloutStateMachine.IsFinal(rollout.State))
                continue;
            var why = $"Not started: wave {host.Wave + 1} of fleet rollout {fleet.Id} never started ({decision.Reason})";
            rollout.State = RolloutStateMachine.Transition(rollout.State, RolloutState.Aborted);
            rollout.FinishedAt = time.GetUtcNow();
            rollout.Error = why;
            db.RolloutEvents.Add(new RolloutEvent { RolloutId = rollout.Id, At = time.GetUtcNow(), Kind = "rollout.aborted", Message = why, Key = "fleet:not-started" });
            await db.SaveChangesAsync(ct);
        }

        if (decision.Final == FleetState.Succeeded)
        {
            foreach (var host in fleet.Hosts.Where(h => rollouts[h.RolloutId].KeepPrevious))
                await rollback.RemovePreviousAsync(rollouts[host.RolloutId], ct);
        }

        await using (var db = await dbFactory.CreateDbContextAsync(ct))
        {
            await db.FleetRollouts.Where(f => f.Id == fleet.Id).ExecuteUpdateAsync(u => u
                .SetProperty(f => f.State, decision.Final).SetProperty(f => f.FinishedAt, time.GetUtcNow()).SetProperty(f => f.Error, decision.Reason), ct);
        }

        logger.LogInformation("Fleet rollout {FleetId} ended {State}{Reason}", fleet.Id, decision.Final, decision.Reason is null ? "" : $": {decision.Reason}");
    }
}

/// <summary>
/// Rolls back a host whose rollout had succeeded, for a fleet whose policy is rollBackAll: its new containers go, and the
/// previous version of each service (kept because the rollout was told to, <see cref="Rollout.KeepPrevious"/>) is started
/// again and must be ready. The host's rollout records it as its last step.
/// </summary>
public sealed class FleetRollback(
    IDbContextFactory<DeployDeckDbContext> dbFactory, EngineConnections engines, RolloutRecorder recorder, TimeProvider time, ILogger<FleetRollback> logger)
{
    public async Task RollBackAsync(Rollout rollout, string reason, CancellationToken ct)
    {
        var (engine, plan) = await EngineAndPlanAsync(rollout, ct);
        var mine = await engine.ListAsync(new Dictionary<string, string> { [OwnershipLabels.Rollout] = rollout.Id.ToString() }, ct);
        foreach (var container in mine)
            await engine.RemoveAsync(container.Id, ct);

        var problems = new List<string>();
        var restored = 0;
        foreach (var (service, previous) in await PreviousAsync(engine, rollout, plan, ct))
        {
            var latest = (await Task.WhenAll(previous.Select(c => engine.InspectAsync(c.Id, ct)))).OfType<ContainerObservation>()
                .OrderByDescending(c => c.StartedAt ?? DateTimeOffset.MinValue).FirstOrDefault();
            if (latest is null)
                continue;
            if (!latest.Running)
                await engine.StartAsync(latest.Id, ct);
            var began = time.GetUtcNow();
            var deadline = (service.HealthCheck?.Deadline ?? TimeSpan.FromSeconds(60)) + TimeSpan.FromSeconds(15);
            ReadinessVerdict verdict;
            do
            {
                await Task.Delay(TimeSpan.FromSeconds(1), time, ct);
                verdict = ServiceReadiness.Evaluate(service, await engine.InspectAsync(latest.Id, ct), time.GetUtcNow() - began);
            }
            while (verdict.Readiness == Readiness.Waiting && time.GetUtcNow() - began < deadline);
            if (verdict.Readiness == Readiness.Ready)
                restored++;
            else
                problems.Add($"{service.Name}: previous container {latest.Name} is not back ({verdict.Reason})");
        }

        var message = $"{reason}; {mine.Count} new container(s) removed, {restored} previous container(s) back"
            + (problems.Count == 0 ? "" : $"; NOT VERIFIED: {string.Join("; ", problems)}");
        await recorder.RecordAsync(rollout.Id, RolloutEventKinds.FleetRolledBack, message, ct, key: new StepKey("fleet:rolled-back"));
        logger.LogWarning("Rollout {RolloutId}: {Message}", rollout.Id, message);
    }

    /// <summary>The fleet succeeded: the previous versions kept for a rollback go, as a single rollout's success removes them.</summary>
    public async Task RemovePreviousAsync(Rollout rollout, CancellationToken ct)
    {
        var (engine, plan) = await EngineAndPlanAsync(rollout, ct);
        foreach (var (_, previous) in await PreviousAsync(engine, rollout, plan, ct))
        {
            foreach (var container in previous)
                await engine.RemoveAsync(container.Id, ct);
        }
    }

    private async Task<(IContainerEngine Engine, PlanSpec Plan)> EngineAndPlanAsync(Rollout rollout, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var host = await db.Hosts.AsNoTracking().FirstAsync(h => h.Id == rollout.HostId, ct);
        var revision = await db.PlanRevisions.AsNoTracking().FirstAsync(r => r.Id == rollout.PlanRevisionId, ct);
        return (engines.For(host).Engine, revision.ToSpec());
    }

    private static async Task<List<(ServiceSpec Service, List<ContainerSummary> Previous)>> PreviousAsync(IContainerEngine engine, Rollout rollout, PlanSpec plan, CancellationToken ct)
    {
        var all = await engine.ListAsync(new Dictionary<string, string> { [OwnershipLabels.Plan] = rollout.PlanId.ToString() }, ct);
        var previous = all.Where(c => c.Labels.GetValueOrDefault(OwnershipLabels.Rollout) != rollout.Id.ToString()).ToList();
        return plan.AllServices.Where(s => !plan.IsOneShot(s.Name))
            .Select(s => (s, previous.Where(c => c.Labels.GetValueOrDefault(OwnershipLabels.Service) == s.Name).ToList()))
            .Where(p => p.Item2.Count > 0).ToList();
    }
}
