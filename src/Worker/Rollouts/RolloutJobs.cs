using DeployDeck.Domain.Engine;
using DeployDeck.Domain.Hosts;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Rollouts;
using DeployDeck.Domain.Units;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Engine;
using DeployDeck.Infrastructure.Jobs;
using DeployDeck.Infrastructure.Preflight;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace DeployDeck.Worker.Rollouts;

/// <summary>
/// Drives a rollout level-wise: every step reads what the database says should be and what the engine
/// really has (containers labelled with rollout and service), and does only what is missing. A job that
/// runs again after a crash therefore continues where the last one stopped, without a second container.
/// </summary>
public sealed class RolloutJobs(
    IDbContextFactory<DeployDeckDbContext> dbFactory,
    EngineConnections engines,
    PreflightRunner preflight,
    GateRunner gates,
    ContainerWatch watch,
    RolloutRecorder recorder,
    IConfiguration configuration,
    IOptions<RolloutOptions> options,
    TimeProvider time,
    ILogger<RolloutJobs> logger) : IRolloutJobs
{
    private readonly RolloutOptions _options = options.Value;

    // The rollout's host's own engine, bound when a drive begins: a job (one scope) drives one rollout.
    private HostEngine hostEngine = null!;
    private IContainerEngine engine = null!;

    public async Task DriveAsync(Guid rolloutId, CancellationToken cancellationToken)
    {
        await using var held = await RolloutLock.TryAcquireAsync(DataServiceCollectionExtensions.RequireConnectionString(configuration), rolloutId, cancellationToken);
        if (held is null)
        {
            logger.LogInformation("Rollout {RolloutId} is driven by another worker; this run stops", rolloutId);
            return;
        }

        try
        {
            if (!await BindHostEngineAsync(rolloutId, cancellationToken))
                return;
            await DriveLockedAsync(rolloutId, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw; // shutdown: Hangfire hands the job to the next worker, which resumes level-wise
        }
        catch (Exception ex)
        {
            var unreachable = EngineProblem.Of(ex, cancellationToken) is { } problem ? $"the engine of host '{hostEngine?.HostName}' failed: {problem.Reason}" : null;
            if (unreachable is null)
                logger.LogError(ex, "Rollout {RolloutId} failed unexpectedly", rolloutId);
            else
                logger.LogWarning("Rollout {RolloutId} stopped: {Reason}", rolloutId, unreachable);
            await recorder.RecordAsync(rolloutId, "rollout.failed", unreachable is null ? $"Stopped by an internal error: {ex.Message}" : $"Stopped: {unreachable}", CancellationToken.None,
                key: "rollout:failed", change: db => ToStateAsync(db, rolloutId, RolloutState.Failed, unreachable ?? ex.Message));
        }
    }

    /// <summary>The rollout's host's engine client; false when there is no rollout (any more).</summary>
    private async Task<bool> BindHostEngineAsync(Guid rolloutId, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var host = await db.Rollouts.AsNoTracking().Where(r => r.Id == rolloutId).Select(r => r.Host).FirstOrDefaultAsync(ct);
        if (host is null)
        {
            logger.LogWarning("Rollout {RolloutId} does not exist", rolloutId);
            return false;
        }

        hostEngine = engines.For(host);
        engine = hostEngine.Engine;
        return true;
    }

    private async Task DriveLockedAsync(Guid rolloutId, CancellationToken ct)
    {
        PlanSpec? revision = null; // a rollout's revision never changes: read once
        while (true)
        {
            Rollout? rollout;
            PlanSpec plan;
            await using (var db = await dbFactory.CreateDbContextAsync(ct))
            {
                var rollouts = revision is null ? db.Rollouts.AsNoTracking().Include(r => r.PlanRevision) : db.Rollouts.AsNoTracking();
                rollout = await rollouts.FirstOrDefaultAsync(r => r.Id == rolloutId, ct);
                if (rollout is null)
                {
                    logger.LogWarning("Rollout {RolloutId} does not exist", rolloutId);
                    return;
                }

                plan = revision ??= rollout.PlanRevision!.ToSpec();
            }

            if (rollout.AbortRequestedBy is not null && !RolloutStateMachine.IsFinal(rollout.State) && rollout.State != RolloutState.RollingBack)
            {
                await AbortAsync(rollout, plan, ct);
                return;
            }

            switch (rollout.State)
            {
                case RolloutState.Queued:
                    await recorder.RecordAsync(rolloutId, "rollout.started", $"Rollout started by {rollout.StartedBy}: {plan.Phases.Count} phase(s), {plan.AllServices.Count()} service(s)", ct,
                        key: "rollout:started", change: db => ToStateAsync(db, rolloutId, RolloutState.Running));
                    continue;
                case RolloutState.Running when rollout.CurrentPhase >= plan.Phases.Count:
                    if (!rollout.KeepPrevious) // a fleet that may roll every host back removes them when it ends
                        await RemoveRetiredAsync(rollout, plan, ct);
                    await recorder.RecordAsync(rolloutId, "rollout.succeeded", "Every phase passed", ct,
                        key: "rollout:succeeded", change: db => ToStateAsync(db, rolloutId, RolloutState.Succeeded));
                    return;
                case RolloutState.Running:
                    if (!await RunPhaseAsync(rollout, plan, rollout.CurrentPhase, ct))
                        return;
                    continue;
                default:
                    return; // final, or waiting for a person (approval, pause)
            }
        }
    }

    /// <returns>Whether the rollout goes on to the next phase now.</returns>
    private async Task<bool> RunPhaseAsync(Rollout rollout, PlanSpec plan, int index, CancellationToken ct)
    {
        var phase = plan.Phases[index];
        var run = new PhaseRun(index, await AttemptAsync(rollout.Id, phase.Name, ct), time.GetUtcNow());
        await ClearEarlierAttemptsAsync(rollout, phase, run, ct);
        // What a run before a crash already created of this attempt, for the whole phase in one call.
        var created = (await engine.ListAsync(new Dictionary<string, string> { [OwnershipLabels.Rollout] = rollout.Id.ToString(), [OwnershipLabels.Phase] = phase.Name }, ct))
            .Where(c => OwnershipLabels.AttemptOf(c.Labels) == run.Attempt && c.Labels.ContainsKey(OwnershipLabels.Service))
            .ToLookup(c => c.Labels[OwnershipLabels.Service], StringComparer.Ordinal);
        if (created.Count == 0 && await AdmitAsync(rollout, plan, run, ct) is { } refused) // resuming a phase already admitted: its containers are on the host
        {
            await recorder.RecordAsync(rollout.Id, "phase.failed", $"Phase '{phase.Name}' refused by admission: {refused}", ct,
                phase: phase.Name, key: run.Key("failed"), change: db => ToPhaseStateAsync(db, rollout.Id, index, PhaseState.Failed));
            await RollBackAsync(rollout, plan, index, ct);
            return false;
        }

        var again = run.Attempt > 1 ? $" (attempt {run.Attempt})" : "";
        await recorder.RecordAsync(rollout.Id, "phase.started", $"Phase {index + 1}/{plan.Phases.Count} '{phase.Name}': {phase.Services.Count} service(s){again}", ct,
            phase: phase.Name, key: run.Key("started"), change: db => ToPhaseStateAsync(db, rollout.Id, index, PhaseState.Deploying));

        // Nothing stays "deploying" forever: whatever hangs, the phase fails when its own rules' time is up.
        var deadline = PhaseDeadline.For(phase, _options.StartDeadline, _options.DeadlineGrace, _options.StartDeadline, _options.MaxParallelStarts, _options.PhaseDeadlineCap,
            plan.IsOneShot, _options.OneShotDeadline);
        using var phaseTime = CancellationTokenSource.CreateLinkedTokenSource(ct);
        phaseTime.CancelAfter(deadline);
        string? failure;
        try
        {
            failure = await DeployPhaseAsync(rollout, plan, phase, run, created, phaseTime.Token);
            if (failure is null && phase.Soak > TimeSpan.Zero)
                failure = await SoakAsync(rollout, plan, phase, run, phaseTime.Token);
        }
        catch (OperationCanceledException) when (phaseTime.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            failure = $"no progress within the phase deadline of {Domain.Units.Durations.Format(deadline)}";
            await MarkUnfinishedServicesFailedAsync(rollout.Id, phase, failure, ct);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested && EngineProblem.Of(ex, phaseTime.Token) is { } problem)
        {
            failure = $"the engine of host '{hostEngine.HostName}' failed: {problem.Reason}";
            await MarkUnfinishedServicesFailedAsync(rollout.Id, phase, failure, ct);
        }

        if (failure == Aborted)
        {
            await AbortAsync(rollout, plan, ct);
            return false;
        }

        if (failure is null)
        {
            await recorder.RecordAsync(rollout.Id, "phase.passed", $"Phase '{phase.Name}' passed its gates", ct,
                phase: phase.Name, key: run.Key("passed"), change: db => ToPhaseStateAsync(db, rollout.Id, index, PhaseState.Passed));
            await RetirePreviousContainersAsync(rollout, phase, ct);
            return await PromoteAsync(rollout.Id, plan, index, ct);
        }

        await recorder.RecordAsync(rollout.Id, "phase.failed", $"Phase '{phase.Name}' failed: {failure}", ct,
            phase: phase.Name, key: run.Key("failed"), change: db => ToPhaseStateAsync(db, rollout.Id, index, PhaseState.Failed));
        await RollBackAsync(rollout, plan, index, ct);
        return false;
    }

    /// <returns>Null when every service of the phase is ready and passed its gates; otherwise the first failure.</returns>
    /// <param name="existing">The phase's containers of this attempt by service, created by a run before a crash.</param>
    private async Task<string?> DeployPhaseAsync(Rollout rollout, PlanSpec plan, PhaseSpec phase, PhaseRun run, ILookup<string, ContainerSummary> existing, CancellationToken ct)
    {
        using var gate = new SemaphoreSlim(_options.MaxParallelStarts);
        foreach (var wave in StartOrder.Waves(phase))
        {
            var results = await Task.WhenAll(wave.Select(async service =>
            {
                await gate.WaitAsync(ct);
                try
                {
                    return await DeployServiceAsync(rollout, phase, service, existing[service.Name].FirstOrDefault(), run, plan.IsOneShot(service.Name), ct);
                }
                finally
                {
                    gate.Release();
                }
            }));
            if (results.FirstOrDefault(r => r is not null) is { } failure)
                return failure;
            if (await AbortRequestedAsync(rollout.Id, ct))
                return Aborted;
        }

        return null;
    }

    /// <summary>A phase is run again after an operator resumed a paused rollout: each resume of it is one more attempt.</summary>
    private async Task<int> AttemptAsync(Guid rolloutId, string phase, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return 1 + await db.RolloutEvents.CountAsync(e => e.RolloutId == rolloutId && e.Kind == RolloutEventKinds.Resumed && e.Phase == phase, ct);
    }

    /// <summary>The containers a failed attempt left for the operator to look at go before the phase runs again.</summary>
    private async Task ClearEarlierAttemptsAsync(Rollout rollout, PhaseSpec phase, PhaseRun run, CancellationToken ct)
    {
        if (run.Attempt == 1)
            return;
        var containers = await engine.ListAsync(new Dictionary<string, string> { [OwnershipLabels.Rollout] = rollout.Id.ToString(), [OwnershipLabels.Phase] = phase.Name }, ct);
        foreach (var container in containers.Where(c => OwnershipLabels.AttemptOf(c.Labels) != run.Attempt))
        {
            await engine.RemoveAsync(container.Id, ct);
            var service = container.Labels.GetValueOrDefault(OwnershipLabels.Service) ?? container.Name;
            await recorder.RecordAsync(rollout.Id, "service.removed", $"Removed {container.Name} of the failed attempt {OwnershipLabels.AttemptOf(container.Labels)}", ct,
                phase.Name, service, run.ServiceKey(service, $"cleared:{container.Id}"));
        }
    }

    private async Task MarkUnfinishedServicesFailedAsync(Guid rolloutId, PhaseSpec phase, string reason, CancellationToken ct)
    {
        var names = phase.Services.Select(s => s.Name).ToList();
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        await db.RolloutServices
            .Where(s => s.RolloutId == rolloutId && names.Contains(s.Name) && s.State != ServiceState.Ready && s.State != ServiceState.Failed)
            .ExecuteUpdateAsync(u => u.SetProperty(s => s.State, ServiceState.Failed).SetProperty(s => s.Detail, reason).SetProperty(s => s.UpdatedAt, time.GetUtcNow()), ct);
    }

    /// <summary>Admission again before the phase: the host may have changed since the rollout started. Null when admitted.</summary>
    private async Task<string?> AdmitAsync(Rollout rollout, PlanSpec plan, PhaseRun run, CancellationToken ct)
    {
        var index = run.Index;
        var phase = plan.Phases[index];
        // The launcher checked the host and admitted every phase a moment ago: the first phase goes on that check
        // while it is fresh; a job that waited (no Worker running) checks again, as every later phase does.
        var age = time.GetUtcNow() - (rollout.Preflight?.Signals.MeasuredAt ?? DateTimeOffset.MinValue);
        if (index == 0 && run.Attempt == 1 && rollout.Preflight is { Forecast: not null, Refusal: null } launch && age <= _options.LaunchCheckFreshFor)
        {
            await recorder.RecordAsync(rollout.Id, "phase.admitted", $"{Admitted(launch, phase)} (the launch check, {age.TotalSeconds:0.0} s ago)", ct,
                phase: phase.Name, key: run.Key("admission"));
            return null;
        }

        DockerHost? host;
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
            host = await db.Hosts.AsNoTracking().FirstOrDefaultAsync(h => h.Id == rollout.HostId, ct);
        if (host is null)
            return "the host was deleted";

        var check = await preflight.ForecastAsync(plan, rollout.PlanId, host, index, ct);
        if (check.Refusal is { } refusal)
        {
            await recorder.RecordAsync(rollout.Id, "phase.admission-refused", Capitalise(refusal), ct, phase: phase.Name, key: run.Key("admission"));
            return refusal;
        }

        await recorder.RecordAsync(rollout.Id, "phase.admitted", Admitted(check, phase), ct, phase: phase.Name, key: run.Key("admission"));
        return null;
    }

    private static string Admitted(PreflightResult check, PhaseSpec phase)
    {
        var forecast = check.Forecast?.Phases.FirstOrDefault(p => p.Phase == phase.Name);
        var peak = forecast?.PredictedPeak is { } p ? $"predicted peak {new MemorySize(p)} of {new MemorySize(check.Signals.MemoryTotalBytes)} (keeping {check.Thresholds.KeepFreePercent:0.#} % free)" : "host memory unknown";
        return $"Host {check.Verdict.Overall.ToString().ToUpperInvariant()} ({check.Verdict.Summary}); {peak}";
    }

    private async Task<bool> PromoteAsync(Guid rolloutId, PlanSpec plan, int index, CancellationToken ct)
    {
        var waitsForApproval = index + 1 < plan.Phases.Count && plan.Phases[index].Promotion == PromotionMode.NeedsApproval;
        async Task Advance(DeployDeckDbContext db)
        {
            var rollout = await db.Rollouts.FirstAsync(r => r.Id == rolloutId, ct);
            rollout.CurrentPhase = Math.Max(rollout.CurrentPhase, index + 1);
            if (waitsForApproval)
                rollout.State = RolloutStateMachine.Transition(rollout.State, RolloutState.AwaitingApproval);
        }

        if (waitsForApproval)
        {
            await recorder.RecordAsync(rolloutId, "phase.awaiting-approval", $"Promotion to '{plan.Phases[index + 1].Name}' waits for an Approver", ct,
                phase: plan.Phases[index].Name, key: $"phase:{index}:awaiting-approval", change: Advance);
        }
        else
        {
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            await Advance(db);
            await db.SaveChangesAsync(ct);
        }

        return !waitsForApproval;
    }

    /// <returns>Null when the service is ready; otherwise why it failed.</returns>
    /// <param name="oneShot">The service runs to completion (others wait for it with service_completed_successfully): ready means exited 0.</param>
    /// <param name="existing">The service's container of this attempt, created by a run before a crash; null when there is none yet.</param>
    private async Task<string?> DeployServiceAsync(Rollout rollout, PhaseSpec phase, ServiceSpec service, ContainerSummary? existing, PhaseRun run, bool oneShot, CancellationToken ct)
    {
        try
        {
            var labels = new Dictionary<string, string>(_options.ExtraLabels);
            foreach (var (key, value) in OwnershipLabels.For(rollout.Id, rollout.PlanId, phase.Name, service.Name, rollout.PlanRevisionId))
                labels[key] = value;
            labels[OwnershipLabels.Attempt] = run.Attempt.ToString(System.Globalization.CultureInfo.InvariantCulture);

            string containerId;
            if (existing is null)
            {
                await SetServiceStateAsync(rollout.Id, service.Name, ServiceState.Creating, null, null, ct);
                containerId = await engine.CreateAsync(new ContainerRequest(OwnershipLabels.ContainerName(rollout.Id, service.Name), service, labels), ct);
                // Started at once, recorded after: the bookkeeping must not add to the service's start time. A crash in
                // between leaves a container in "created", which the next run starts (below).
                await engine.StartAsync(containerId, ct);
                await SetServiceStateAsync(rollout.Id, service.Name, ServiceState.Starting, containerId, null, ct);
                await recorder.RecordAsync(rollout.Id, "service.created", $"Created {service.Image} ({Describe(service)})", ct, phase.Name, service.Name, run.ServiceKey(service.Name, "created"));
                await recorder.RecordAsync(rollout.Id, "service.started", "Started", ct, phase.Name, service.Name, run.ServiceKey(service.Name, "started"));
            }
            else
            {
                containerId = existing.Id;
                await SetServiceStateAsync(rollout.Id, service.Name, ServiceState.Starting, containerId, null, ct);
            }

            using var changes = watch.Follow(containerId);
            var observed = await engine.InspectAsync(containerId, ct);
            if (observed is { Status: "created" })
            {
                await engine.StartAsync(containerId, ct);
                await recorder.RecordAsync(rollout.Id, "service.started", "Started", ct, phase.Name, service.Name, run.ServiceKey(service.Name, "started"));
                observed = await engine.InspectAsync(containerId, ct);
            }

            if (observed is not null)
            {
                var mismatches = AppliedLimits.Mismatches(service, observed);
                if (mismatches.Count > 0)
                    return await ServiceFailedAsync(rollout.Id, phase, service, run, $"the engine did not apply the plan: {string.Join("; ", mismatches)}", ct);
                await recorder.RecordAsync(rollout.Id, "service.limits-verified", $"Engine applied {Describe(service)}", ct, phase.Name, service.Name, run.ServiceKey(service.Name, "limits-verified"));
            }

            await SetServiceStateAsync(rollout.Id, service.Name, ServiceState.WaitingHealthy, containerId, null, ct);
            var deadline = (oneShot ? _options.OneShotDeadline : service.HealthCheck?.Deadline ?? _options.StartDeadline) + _options.DeadlineGrace;
            var began = time.GetUtcNow();
            while (true)
            {
                var waited = time.GetUtcNow() - (observed?.StartedAt is { } s && s > DateTimeOffset.UnixEpoch ? s : began);
                var verdict = ServiceReadiness.Evaluate(service, observed, waited, oneShot);
                if (verdict.Readiness == Readiness.Ready)
                {
                    await SetServiceStateAsync(rollout.Id, service.Name, ServiceState.Ready, containerId, verdict.Reason, ct);
                    await recorder.RecordAsync(rollout.Id, "service.ready", $"{Capitalise(verdict.Reason)} after {waited.TotalSeconds:0.0}s", ct, phase.Name, service.Name, run.ServiceKey(service.Name, "ready"));
                    // An exited one-shot has no process to ask: only its logs can still be read.
                    var gated = oneShot ? service with { Gates = service.Gates.Where(g => g.Kind == GateKind.Logs).ToList() } : service;
                    return await CheckGatesAsync(rollout, phase, gated, containerId, run, ct);
                }

                if (verdict.Readiness == Readiness.Failed)
                    return await ServiceFailedAsync(rollout.Id, phase, service, run, verdict.Reason, ct);
                if (time.GetUtcNow() - began > deadline)
                    return await ServiceFailedAsync(rollout.Id, phase, service, run, $"no progress within its deadline of {deadline.TotalSeconds:0}s ({verdict.Reason})", ct);

                await changes.NextAsync(_options.PollInterval, ct);
                observed = await engine.InspectAsync(containerId, ct);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            return await ServiceFailedAsync(rollout.Id, phase, service, run, ex.Message, ct);
        }
    }

    /// <summary>
    /// The phase's wait before promotion: every few seconds each new container must still be as it was when the gates
    /// passed (no OOM kill, no restart, running, not unhealthy) and every gate must still pass. A Worker that resumes
    /// during a soak starts the soak again: the wait is never shortened.
    /// </summary>
    private async Task<string?> SoakAsync(Rollout rollout, PlanSpec plan, PhaseSpec phase, PhaseRun run, CancellationToken ct)
    {
        await recorder.RecordAsync(rollout.Id, "phase.soaking", $"Soaking for {Domain.Units.Durations.Format(phase.Soak)}; containers and gates checked every {_options.SoakCheckInterval.TotalSeconds:0.#} s", ct,
            phase: phase.Name, key: run.Key("soaking"), change: db => ToPhaseStateAsync(db, rollout.Id, run.Index, PhaseState.Soaking));
        var containers = await engine.ListAsync(new Dictionary<string, string> { [OwnershipLabels.Rollout] = rollout.Id.ToString(), [OwnershipLabels.Phase] = phase.Name }, ct);
        var byService = containers.Where(c => c.Labels.ContainsKey(OwnershipLabels.Service)).ToDictionary(c => c.Labels[OwnershipLabels.Service], c => c.Id, StringComparer.Ordinal);
        var baselines = new Dictionary<string, ContainerObservation>(StringComparer.Ordinal);
        foreach (var service in phase.Services.Where(s => !plan.IsOneShot(s.Name)))
        {
            if (byService.TryGetValue(service.Name, out var id) && await engine.InspectAsync(id, ct) is { } seen)
                baselines[service.Name] = seen;
        }

        var started = time.GetUtcNow();
        var end = started + phase.Soak;
        var checks = 0;
        while (time.GetUtcNow() < end)
        {
            var wait = end - time.GetUtcNow();
            await Task.Delay(wait < _options.SoakCheckInterval ? wait : _options.SoakCheckInterval, time, ct);
            if (await AbortRequestedAsync(rollout.Id, ct))
                return Aborted;
            checks++;
            foreach (var service in phase.Services)
            {
                if (!baselines.TryGetValue(service.Name, out var baseline))
                    continue;
                var now = await engine.InspectAsync(baseline.Id, ct);
                var problem = SoakCheck.Evaluate(service, baseline, now) ?? await OomSinceAsync(rollout.Id, baseline.Id, run.Began, ct);
                foreach (var gate in problem is null ? service.Gates.Where(g => !g.Disturbs) : [])
                {
                    var outcome = await gates.EvaluateAsync(engine, gate, service, baseline.Id, started, ct);
                    if (!outcome.Passed)
                    {
                        problem = $"gate {gate}: {outcome.Figure}";
                        break;
                    }
                }

                if (problem is not null)
                {
                    var after = time.GetUtcNow() - started;
                    await recorder.RecordAsync(rollout.Id, "soak.failed", $"{service.Name} after {after.TotalSeconds:0}s of soak: {problem}", ct, phase.Name, service.Name, run.Key("soak-failed"));
                    return await ServiceFailedAsync(rollout.Id, phase, service, run, $"during soak: {problem}", ct);
                }
            }
        }

        await recorder.RecordAsync(rollout.Id, "phase.soaked", $"Soaked {Domain.Units.Durations.Format(phase.Soak)}: {checks} check(s), no OOM kill, no restart, every gate held", ct,
            phase: phase.Name, key: run.Key("soaked"));
        return null;
    }

    /// <summary>
    /// Each gate of the service, recorded with its figure. HTTP and exec gates may need a moment after "ready"
    /// (a port that opens late), so they are retried until the start deadline; logs and memory are read once; a chaos
    /// gate runs last. Then the engine's own record: no OOM kill since the phase began, even one the container survived.
    /// </summary>
    private async Task<string?> CheckGatesAsync(Rollout rollout, PhaseSpec phase, ServiceSpec service, string containerId, PhaseRun run, CancellationToken ct)
    {
        var ordered = service.Gates.Select((gate, i) => (gate, i)).OrderBy(g => g.gate.Disturbs).ToList();
        foreach (var (gate, i) in ordered)
        {
            var until = time.GetUtcNow() + _options.StartDeadline;
            GateOutcome outcome;
            while (true)
            {
                outcome = await gates.EvaluateAsync(engine, gate, service, containerId, run.Began, ct);
                if (outcome.Passed || gate.Kind is GateKind.Logs or GateKind.Memory or GateKind.Chaos || time.GetUtcNow() >= until)
                    break;
                await Task.Delay(TimeSpan.FromSeconds(1), time, ct);
            }

            var key = run.ServiceKey(service.Name, $"gate:{i}:{gate.Kind.ToString().ToLowerInvariant()}");
            if (!outcome.Passed)
            {
                await recorder.RecordAsync(rollout.Id, "gate.failed", $"{gate}: {outcome.Figure}", ct, phase.Name, service.Name, key);
                return await ServiceFailedAsync(rollout.Id, phase, service, run, $"gate failed — {gate}: {outcome.Figure}", ct);
            }

            await recorder.RecordAsync(rollout.Id, "gate.passed", $"{gate}: {outcome.Figure}", ct, phase.Name, service.Name, key);
        }

        if (await OomSinceAsync(rollout.Id, containerId, run.Began, ct) is { } oom)
        {
            await recorder.RecordAsync(rollout.Id, "gate.failed", $"no OOM kill since the phase began: {oom}", ct, phase.Name, service.Name, run.ServiceKey(service.Name, "gate:oom"));
            return await ServiceFailedAsync(rollout.Id, phase, service, run, oom, ct);
        }

        return null;
    }

    /// <summary>What the engine's event log says of OOM kills in the container since a moment, or null. Older ones are not this phase's.</summary>
    private async Task<string?> OomSinceAsync(Guid rolloutId, string containerId, DateTimeOffset since, CancellationToken ct)
    {
        var events = await watch.OomsSinceAsync(hostEngine, rolloutId, containerId, since, ct);
        return events.Count == 0 ? null
            : $"the engine reported {events.Count} OOM kill(s) in the container (first at {events[0].At:HH:mm:ss}), though it kept running";
    }

    private async Task<string> ServiceFailedAsync(Guid rolloutId, PhaseSpec phase, ServiceSpec service, PhaseRun run, string reason, CancellationToken ct)
    {
        await SetServiceStateAsync(rolloutId, service.Name, ServiceState.Failed, null, reason, ct);
        await recorder.RecordAsync(rolloutId, "service.failed", reason, ct, phase.Name, service.Name, run.ServiceKey(service.Name, "failed"));
        return $"{service.Name}: {reason}";
    }

    /// <summary>Marks a phase stopped by an abort rather than by a failure.</summary>
    private const string Aborted = "\u0000aborted";

    /// <summary>One run of a phase. Event keys carry the attempt, so a phase run again records its steps again.</summary>
    private sealed record PhaseRun(int Index, int Attempt, DateTimeOffset Began)
    {
        public string Key(string step) => Attempt == 1 ? $"phase:{Index}:{step}" : $"phase:{Index}#{Attempt}:{step}";

        public string ServiceKey(string service, string step) => Attempt == 1 ? $"service:{service}:{step}" : $"service:{service}#{Attempt}:{step}";
    }

    private async Task<bool> AbortRequestedAsync(Guid rolloutId, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Rollouts.AnyAsync(r => r.Id == rolloutId && r.AbortRequestedBy != null, ct);
    }

    /// <summary>Carries out an Operator's abort at a safe point: the current phase is rolled back per its policy (pause counts as "roll back the phase"), and the rollout ends Aborted.</summary>
    private async Task AbortAsync(Rollout rollout, PlanSpec plan, CancellationToken ct)
    {
        Rollout current;
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
            current = await db.Rollouts.AsNoTracking().FirstAsync(r => r.Id == rollout.Id, ct);
        var reason = $"Aborted by {current.AbortRequestedBy}";
        if (current.State == RolloutState.Queued)
        {
            await recorder.RecordAsync(rollout.Id, "rollout.aborted", $"{reason} before it started", ct,
                key: "rollout:aborted", change: db => ToStateAsync(db, rollout.Id, RolloutState.Aborted, reason));
            return;
        }

        var index = Math.Clamp(current.State == RolloutState.AwaitingApproval ? current.CurrentPhase - 1 : current.CurrentPhase, 0, plan.Phases.Count - 1);
        var policy = plan.Phases[index].OnFailure == FailurePolicy.Pause ? FailurePolicy.RollbackPhase : plan.Phases[index].OnFailure;
        await RollBackAsync(rollout, plan, index, ct, policy, RolloutState.Aborted, reason);
    }

    private async Task RollBackAsync(Rollout rollout, PlanSpec plan, int failedIndex, CancellationToken ct,
        FailurePolicy? policyOverride = null, RolloutState final = RolloutState.RolledBack, string? reason = null)
    {
        var policy = policyOverride ?? plan.Phases[failedIndex].OnFailure;
        if (policy == FailurePolicy.Pause)
        {
            await recorder.RecordAsync(rollout.Id, "rollout.paused", $"Paused after phase '{plan.Phases[failedIndex].Name}' failed: an operator decides", ct,
                key: "rollout:paused", change: db => ToStateAsync(db, rollout.Id, RolloutState.Paused));
            return;
        }

        await using (var db = await dbFactory.CreateDbContextAsync(ct))
        {
            await ToStateAsync(db, rollout.Id, RolloutState.RollingBack);
            await db.SaveChangesAsync(ct);
        }

        var phases = policy == FailurePolicy.RollbackAll ? Enumerable.Range(0, failedIndex + 1).Reverse() : [failedIndex];
        var failures = new List<string>();
        foreach (var index in phases)
        {
            var phase = plan.Phases[index];
            await using (var db = await dbFactory.CreateDbContextAsync(ct))
            {
                await ToPhaseStateAsync(db, rollout.Id, index, PhaseState.RollingBack);
                await db.SaveChangesAsync(ct);
            }

            var created = await engine.ListAsync(new Dictionary<string, string> { [OwnershipLabels.Rollout] = rollout.Id.ToString(), [OwnershipLabels.Phase] = phase.Name }, ct);
            foreach (var container in created)
            {
                await engine.RemoveAsync(container.Id, ct);
                var service = container.Labels.GetValueOrDefault(OwnershipLabels.Service) ?? container.Name;
                await SetServiceStateAsync(rollout.Id, service, ServiceState.Removed, null, "rolled back", ct);
                await recorder.RecordAsync(rollout.Id, "service.removed", $"Removed new container {container.Name}", ct, phase.Name, service, $"rollback:{service}:removed");
            }

            var restoreFailure = await RestorePreviousAsync(rollout, plan, phase, index, ct);
            if (restoreFailure is not null)
                failures.Add(restoreFailure);
            await recorder.RecordAsync(rollout.Id, "phase.rolled-back", $"Phase '{phase.Name}' rolled back: {created.Count} new container(s) removed{(restoreFailure is null ? "" : "; the previous version is NOT back")}", ct,
                phase.Name, key: $"phase:{index}:rolled-back", change: db => ToPhaseStateAsync(db, rollout.Id, index, PhaseState.RolledBack));
        }

        var kind = final == RolloutState.Aborted ? "rollout.aborted" : "rollout.rolled-back";
        var summary = (reason is null ? "" : reason + ": ") + (failures.Count == 0 ? "rolled back; the previous version runs and passes its gates" : $"rolled back, but {string.Join("; ", failures)}");
        await recorder.RecordAsync(rollout.Id, kind, Capitalise(summary), ct,
            key: $"rollout:{kind}", change: db => ToStateAsync(db, rollout.Id, final, failures.Count == 0 ? reason : string.Join("; ", failures)));
    }

    /// <summary>
    /// Once a phase passed, containers of earlier rollouts of its services are stopped — not removed: a rollback of
    /// everything starts them again. They are removed when the rollout succeeds.
    /// </summary>
    private async Task RetirePreviousContainersAsync(Rollout rollout, PhaseSpec phase, CancellationToken ct)
    {
        var previous = await PreviousAsync(rollout, ct);
        foreach (var service in phase.Services)
        {
            foreach (var container in previous.Where(c => c.Labels.GetValueOrDefault(OwnershipLabels.Service) == service.Name))
            {
                if (container.State is "running" or "restarting" or "paused")
                    await engine.StopAsync(container.Id, TimeSpan.FromSeconds(10), ct);
                await recorder.RecordAsync(rollout.Id, "service.replaced", $"Stopped previous container {container.Name}; kept until the rollout ends, for a rollback", ct,
                    phase.Name, service.Name, $"replace:{container.Id}");
            }
        }
    }

    /// <summary>Containers of earlier rollouts of the plan: one engine call for the whole plan.</summary>
    private async Task<List<ContainerSummary>> PreviousAsync(Rollout rollout, CancellationToken ct)
    {
        var all = await engine.ListAsync(new Dictionary<string, string> { [OwnershipLabels.Plan] = rollout.PlanId.ToString() }, ct);
        return all.Where(c => c.Labels.GetValueOrDefault(OwnershipLabels.Rollout) != rollout.Id.ToString()).ToList();
    }

    /// <summary>The rollout succeeded: the previous versions it kept for a rollback go.</summary>
    private async Task RemoveRetiredAsync(Rollout rollout, PlanSpec plan, CancellationToken ct)
    {
        var services = plan.AllServices.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var previous in await PreviousAsync(rollout, ct))
        {
            var service = previous.Labels.GetValueOrDefault(OwnershipLabels.Service);
            if (service is null || !services.Contains(service))
                continue;
            await engine.RemoveAsync(previous.Id, ct);
            await recorder.RecordAsync(rollout.Id, "service.retired", $"Removed previous container {previous.Name}", ct, service: service, key: $"retire:{previous.Id}");
        }
    }

    /// <summary>
    /// After a phase's new containers are removed, its previous version must be back: the newest previous container
    /// of each service is started if it was stopped, must become ready, and must pass the gates of the revision it was
    /// deployed with. Returns what failed, or null.
    /// </summary>
    private async Task<string?> RestorePreviousAsync(Rollout rollout, PlanSpec plan, PhaseSpec phase, int index, CancellationToken ct)
    {
        var problems = new List<string>();
        var restored = 0;
        // A one-shot (a migration) ran to completion: starting its previous container would run it again.
        var all = await PreviousAsync(rollout, ct);
        foreach (var service in phase.Services.Where(s => !plan.IsOneShot(s.Name)))
        {
            var previous = all.Where(c => c.Labels.GetValueOrDefault(OwnershipLabels.Service) == service.Name)
                .OrderByDescending(c => c.Name, StringComparer.Ordinal).ToList();
            var candidates = new List<ContainerObservation>();
            foreach (var c in previous)
            {
                if (await engine.InspectAsync(c.Id, ct) is { } seen)
                    candidates.Add(seen);
            }

            var latest = candidates.OrderByDescending(c => c.StartedAt ?? DateTimeOffset.MinValue).FirstOrDefault();
            if (latest is null)
                continue; // first rollout of this service: there is nothing to go back to
            if (!latest.Running)
                await engine.StartAsync(latest.Id, ct);

            var spec = await PreviousSpecAsync(previous.First(c => c.Id == latest.Id), service.Name, ct) ?? service;
            var began = time.GetUtcNow();
            var deadline = (spec.HealthCheck?.Deadline ?? _options.StartDeadline) + _options.DeadlineGrace;
            using var changes = watch.Follow(latest.Id);
            ReadinessVerdict verdict;
            do
            {
                await changes.NextAsync(_options.PollInterval, ct);
                verdict = ServiceReadiness.Evaluate(spec, await engine.InspectAsync(latest.Id, ct), time.GetUtcNow() - began);
            }
            while (verdict.Readiness == Readiness.Waiting && time.GetUtcNow() - began < deadline);

            if (verdict.Readiness != Readiness.Ready)
            {
                problems.Add($"{service.Name}: previous container {latest.Name} is not back ({verdict.Reason})");
                continue;
            }

            foreach (var gate in spec.Gates.Where(g => !g.Disturbs))
            {
                var outcome = await gates.EvaluateAsync(engine, gate, spec, latest.Id, began, ct);
                if (!outcome.Passed)
                    problems.Add($"{service.Name}: previous container {latest.Name} fails {gate}: {outcome.Figure}");
            }

            restored++;
            await recorder.RecordAsync(rollout.Id, "service.restored", $"Previous container {latest.Name} ({latest.ImageId[..Math.Min(19, latest.ImageId.Length)]}) is {verdict.Reason}; {spec.Gates.Count} gate(s) checked",
                ct, phase.Name, service.Name, $"rollback:{service.Name}:restored");
        }

        if (problems.Count > 0)
        {
            var message = $"ROLLBACK NOT VERIFIED for phase '{phase.Name}': {string.Join("; ", problems)}";
            await recorder.RecordAsync(rollout.Id, "rollback.failed", message, ct, phase.Name, key: $"phase:{index}:rollback-failed");
            return message;
        }

        await recorder.RecordAsync(rollout.Id, "rollback.verified", $"Phase '{phase.Name}': {restored} previous container(s) back and passing their gates", ct,
            phase.Name, key: $"phase:{index}:rollback-verified");
        return null;
    }

    /// <summary>The service as the revision that created a previous container defined it (its gates, its health check).</summary>
    private async Task<ServiceSpec?> PreviousSpecAsync(ContainerSummary container, string service, CancellationToken ct)
    {
        if (!Guid.TryParse(container.Labels.GetValueOrDefault(OwnershipLabels.Revision), out var revisionId))
            return null;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var revision = await db.PlanRevisions.AsNoTracking().FirstOrDefaultAsync(r => r.Id == revisionId, ct);
        return revision?.ToSpec().AllServices.FirstOrDefault(s => s.Name == service);
    }

    /// <summary>Applies a rollout state change to <paramref name="db"/> (saved by the caller, with its event).</summary>
    private async Task ToStateAsync(DeployDeckDbContext db, Guid rolloutId, RolloutState state, string? error = null)
    {
        var rollout = await db.Rollouts.FirstAsync(r => r.Id == rolloutId);
        if (rollout.State == state || !RolloutStateMachine.CanTransition(rollout.State, state))
            return;
        rollout.State = state;
        var now = time.GetUtcNow();
        if (state == RolloutState.Running)
            rollout.StartedAt ??= now;
        if (RolloutStateMachine.IsFinal(state))
            rollout.FinishedAt = now;
        rollout.Error = error ?? rollout.Error;
    }

    private async Task ToPhaseStateAsync(DeployDeckDbContext db, Guid rolloutId, int index, PhaseState state)
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
    }

    private async Task SetServiceStateAsync(Guid rolloutId, string name, ServiceState state, string? containerId, string? detail, CancellationToken ct)
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

    private static string Describe(ServiceSpec s) =>
        $"memory {s.Resources.MemoryLimit?.ToString() ?? "unlimited"}, reservation {s.Resources.MemoryReservation?.ToString() ?? "none"}, "
        + $"CPUs {s.Resources.Cpus?.ToString() ?? "unlimited"}, restart {s.Restart}"
        + (s.HealthCheck is null ? "" : ", health check");

    private static string Capitalise(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];
}
