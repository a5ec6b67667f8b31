using DeployDeck.Domain.Engine;
using DeployDeck.Domain.Hosts;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Rollouts;
using DeployDeck.Domain.Units;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Engine;
using DeployDeck.Infrastructure.Preflight;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace DeployDeck.Worker.Rollouts;

/// <summary>
/// One phase: admitted against the host as it is now, its services brought up wave by wave in dependency order (a
/// few at a time), soaked, and — once it passed — the previous version of its services stopped and kept. Nothing waits
/// forever: the phase fails when its own rules' time is up, counted from when it first started.
/// </summary>
public sealed class PhaseRunner(
    IDbContextFactory<DeployDeckDbContext> dbFactory,
    PreflightRunner preflight,
    RolloutStates states,
    RolloutRecorder recorder,
    ServiceDeployer deployer,
    SoakRunner soaker,
    PreviousVersions previous,
    IOptions<RolloutOptions> options,
    TimeProvider time)
{
    private readonly RolloutOptions _options = options.Value;

    public async Task<PhaseOutcome> RunAsync(RolloutContext context, int index, CancellationToken ct)
    {
        var plan = context.Plan;
        var phase = plan.Phases[index];
        var run = new PhaseRun(index, await states.AttemptAsync(context.RolloutId, phase.Name, ct), time.GetUtcNow(), phase);
        await ClearEarlierAttemptsAsync(context, run, ct);
        // What a run before a crash already created of this attempt, for the whole phase in one call.
        var created = (await context.Engine.ListAsync(context.Filter(phase.Name), ct))
            .Where(c => OwnershipLabels.AttemptOf(c.Labels) == run.Attempt && c.Labels.ContainsKey(OwnershipLabels.Service))
            .ToLookup(c => c.Labels[OwnershipLabels.Service], StringComparer.Ordinal);
        if (created.Count == 0 && await AdmitAsync(context, run, ct) is { } refused) // resuming a phase already admitted: its containers are on the host
            return PhaseOutcome.Failed($"refused by admission: {refused}");

        var again = run.Attempt > 1 ? $" (attempt {run.Attempt})" : "";
        await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.PhaseStarted, $"Phase {index + 1}/{plan.Phases.Count} '{phase.Name}': {phase.Services.Count} service(s){again}", ct,
            phase: phase.Name, key: run.Key("started"), change: db => states.PhaseAsync(db, context.RolloutId, index, PhaseState.Deploying));

        var deadline = PhaseDeadline.For(phase, _options.StartDeadline + UpdateSpec.DefaultMonitor, _options.DeadlineGrace + _options.FailureSettle, _options.StartDeadline,
            _options.MaxParallelStarts, _options.PhaseDeadlineCap, plan.IsOneShot, _options.OneShotDeadline);
        // A run resumed after a crash or an engine outage has what is left of the phase's time, not all of it again.
        var began = await states.PhaseStartedAsync(context.RolloutId, index, ct) ?? run.Began;
        var left = deadline - (time.GetUtcNow() - began);
        PhaseOutcome outcome;
        using (var phaseTime = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            phaseTime.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1));
            while (true)
            {
                try
                {
                    outcome = await DeployAsync(context, run, created, phaseTime.Token);
                    if (outcome == PhaseOutcome.Passed && phase.Soak > TimeSpan.Zero)
                        outcome = await soaker.SoakAsync(context, run, phaseTime.Token);
                    break;
                }
                catch (OperationCanceledException) when (phaseTime.IsCancellationRequested && !ct.IsCancellationRequested)
                {
                    outcome = await UnfinishedAsync(context, phase, $"no progress within the phase deadline of {Durations.Format(deadline)}", ct);
                    break;
                }
                catch (Exception ex) when (Transient.IsEngine(ex) && !ct.IsCancellationRequested)
                {
                    // The host's engine stopped answering (restarting, a dropped connection). A short outage: the phase
                    // goes on where it was, level-wise. A long one fails the phase, naming the host and what failed.
                    if (!await EngineBackAsync(context, phaseTime.Token))
                    {
                        outcome = await UnfinishedAsync(context, phase, $"the engine of host '{context.Host.HostName}' failed: {EngineProblem.Of(ex, ct)?.Reason ?? ex.Message}", ct);
                        break;
                    }

                    await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.Retrying, $"The engine of host '{context.Host.HostName}' answers again; phase '{phase.Name}' goes on where it was", ct,
                        phase: phase.Name);
                    created = (await context.Engine.ListAsync(context.Filter(phase.Name), ct))
                        .Where(c => OwnershipLabels.AttemptOf(c.Labels) == run.Attempt && c.Labels.ContainsKey(OwnershipLabels.Service))
                        .ToLookup(c => c.Labels[OwnershipLabels.Service], StringComparer.Ordinal);
                }
            }
        }

        if (outcome != PhaseOutcome.Passed)
            return outcome;
        await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.PhasePassed, $"Phase '{phase.Name}' passed its gates", ct,
            phase: phase.Name, key: run.Key("passed"), change: db => states.PhaseAsync(db, context.RolloutId, index, PhaseState.Passed));
        await RetirePreviousAsync(context, run, ct);
        return outcome;
    }

    private async Task<PhaseOutcome> UnfinishedAsync(RolloutContext context, PhaseSpec phase, string reason, CancellationToken ct)
    {
        await states.UnfinishedServicesFailedAsync(context.RolloutId, phase.Services.Select(s => s.Name).ToList(), reason, ct);
        return PhaseOutcome.Failed(reason);
    }

    /// <summary>Whether the host's engine answers again within the outage grace (and the phase's time).</summary>
    private async Task<bool> EngineBackAsync(RolloutContext context, CancellationToken ct)
    {
        var until = time.GetUtcNow() + _options.EngineOutageGrace;
        while (time.GetUtcNow() < until)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), time, ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (ct.IsCancellationRequested)
                return false;
            try
            {
                await context.Engine.InfoAsync(ct);
                return true;
            }
            catch (Exception ex) when (Transient.IsEngine(ex) || ex is OperationCanceledException && !ct.IsCancellationRequested)
            {
            }
        }

        return false;
    }

    private async Task<PhaseOutcome> DeployAsync(RolloutContext context, PhaseRun run, ILookup<string, ContainerSummary> existing, CancellationToken ct)
    {
        var earlier = await previous.ListAsync(context, ct);
        using var gate = new SemaphoreSlim(_options.MaxParallelStarts);
        foreach (var wave in StartOrder.Waves(run.Phase))
        {
            var results = await Task.WhenAll(wave.Select(async service =>
            {
                await gate.WaitAsync(ct);
                try
                {
                    return await deployer.DeployAsync(context, run, service, existing[service.Name].ToList(), earlier, context.Plan.IsOneShot(service.Name), ct);
                }
                finally
                {
                    gate.Release();
                }
            }));
            if (results.FirstOrDefault(r => r is not null) is { } failure)
                return PhaseOutcome.Failed(failure);
            if (await states.AbortRequestedAsync(context.RolloutId, ct))
                return PhaseOutcome.Aborted;
        }

        return PhaseOutcome.Passed;
    }

    /// <summary>The containers a failed attempt left for the operator to look at go before the phase runs again.</summary>
    private async Task ClearEarlierAttemptsAsync(RolloutContext context, PhaseRun run, CancellationToken ct)
    {
        if (run.Attempt == 1)
            return;
        foreach (var container in (await context.Engine.ListAsync(context.Filter(run.Phase.Name), ct)).Where(c => OwnershipLabels.AttemptOf(c.Labels) != run.Attempt))
        {
            await context.Engine.RemoveAsync(container.Id, ct);
            var service = container.Labels.GetValueOrDefault(OwnershipLabels.Service) ?? container.Name;
            await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.ServiceRemoved, $"Removed {container.Name} of the failed attempt {OwnershipLabels.AttemptOf(container.Labels)}", ct,
                run.Phase.Name, service, run.ServiceKey(service, $"cleared:{container.Id}"));
        }
    }

    /// <summary>Admission again before the phase: the host may have changed since the rollout started. Null when admitted.</summary>
    private async Task<string?> AdmitAsync(RolloutContext context, PhaseRun run, CancellationToken ct)
    {
        var phase = run.Phase;
        // The launcher checked the host and admitted every phase a moment ago: the first phase goes on that check
        // while it is fresh; a job that waited (no Worker running) checks again, as every later phase does.
        var age = time.GetUtcNow() - (context.LaunchCheck?.Signals.MeasuredAt ?? DateTimeOffset.MinValue);
        if (run.Index == 0 && run.Attempt == 1 && !context.PulledImages && context.LaunchCheck is { Forecast: not null, Refusal: null } launch && age <= _options.LaunchCheckFreshFor)
        {
            await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.PhaseAdmitted, $"{Admitted(launch, phase)} (the launch check, {age.TotalSeconds:0.0} s ago)", ct,
                phase: phase.Name, key: run.Key("admission"));
            return null;
        }

        DockerHost? host;
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
            host = await db.Hosts.AsNoTracking().FirstOrDefaultAsync(h => h.Id == context.HostId, ct);
        if (host is null)
            return "the host was deleted";

        var check = await preflight.ForecastAsync(context.Plan, context.PlanId, host, run.Index, ct, context.Reconcile);
        if (check.Refusal is { } refusal)
        {
            await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.PhaseAdmissionRefused, ServiceDeployer.Capitalise(refusal), ct, phase: phase.Name, key: run.Key("admission"));
            return refusal;
        }

        await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.PhaseAdmitted, Admitted(check, phase), ct, phase: phase.Name, key: run.Key("admission"));
        return null;
    }

    private static string Admitted(PreflightResult check, PhaseSpec phase)
    {
        var forecast = check.Forecast?.Phases.FirstOrDefault(p => p.Phase == phase.Name);
        var peak = forecast?.PredictedPeak is { } p ? $"predicted peak {new MemorySize(p)} of {new MemorySize(check.Signals.MemoryTotalBytes)} (keeping {check.Thresholds.KeepFreePercent:0.#} % free)" : "host memory unknown";
        return $"Host {check.Verdict.Overall.ToString().ToUpperInvariant()} ({check.Verdict.Summary}); {peak}";
    }

    /// <summary>
    /// Once a phase passed, containers of earlier rollouts of its services (still running, when start-first) are stopped — not
    /// removed: a rollback of everything starts them again. They are removed when the rollout succeeds.
    /// </summary>
    private async Task RetirePreviousAsync(RolloutContext context, PhaseRun run, CancellationToken ct)
    {
        var phase = run.Phase;
        var earlier = await previous.ListAsync(context, ct);
        // Stop-first ones were kept before their successor started; containers a scale-down retires go now.
        foreach (var service in phase.Services.Where(s => run.Orders.GetValueOrDefault(s.Name, UpdateOrders.Choose(s).Order) == UpdateOrder.StartFirst
                     || context.Reconcile?.For(s.Name)?.Action == ReconcileAction.Scale))
        {
            // A stopped one too: with its restart policy it would come back when the engine restarts.
            foreach (var container in earlier.Where(c => PreviousVersions.ServiceOf(c) == service.Name))
                await previous.KeepAsync(context, phase.Name, container, "its successor passed the phase", StepKey.Service(service.Name, 1, $"replace:{container.Id}"), ct);
        }
    }
}
