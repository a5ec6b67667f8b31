using DeployDeck.Domain.Engine;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Rollouts;
using Microsoft.Extensions.Options;

namespace DeployDeck.Worker.Rollouts;

/// <summary>
/// The phase's wait before promotion: every few seconds each new container must still be as it was when the gates
/// passed (no OOM kill, no restart, running, not unhealthy) and every gate must still pass. A Worker that resumes during
/// a soak starts the soak again: the wait is never shortened.
/// </summary>
public sealed class SoakRunner(
    RolloutStates states,
    RolloutRecorder recorder,
    GateRunner gates,
    ContainerWatch watch,
    ServiceDeployer deployer,
    IOptions<RolloutOptions> options,
    TimeProvider time)
{
    private readonly RolloutOptions _options = options.Value;

    public async Task<PhaseOutcome> SoakAsync(RolloutContext context, PhaseRun run, CancellationToken ct)
    {
        var phase = run.Phase;
        await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.PhaseSoaking, $"Soaking for {Domain.Units.Durations.Format(phase.Soak)}; containers and gates checked every {_options.SoakCheckInterval.TotalSeconds:0.#} s", ct,
            phase: phase.Name, key: run.Key("soaking"), change: db => states.PhaseAsync(db, context.RolloutId, run.Index, PhaseState.Soaking));
        var containers = (await context.Engine.ListAsync(context.Filter(phase.Name), ct))
            .Where(c => OwnershipLabels.AttemptOf(c.Labels) == run.Attempt && c.Labels.ContainsKey(OwnershipLabels.Service))
            .ToLookup(c => c.Labels[OwnershipLabels.Service], StringComparer.Ordinal);
        var baselines = new List<(ServiceSpec Service, ContainerObservation Baseline)>();
        foreach (var service in phase.Services.Where(s => !context.Plan.IsOneShot(s.Name)))
        {
            // The containers the reconcile plan kept are soaked as the new ones are.
            foreach (var id in containers[service.Name].Select(c => c.Id).Concat(context.Kept(service.Name)).Distinct(StringComparer.Ordinal))
            {
                if (await context.Engine.InspectAsync(id, ct) is { } seen)
                    baselines.Add((service, seen));
            }
        }

        var started = time.GetUtcNow();
        var end = started + phase.Soak;
        var checks = 0;
        while (time.GetUtcNow() < end)
        {
            var wait = end - time.GetUtcNow();
            await Task.Delay(wait < _options.SoakCheckInterval ? wait : _options.SoakCheckInterval, time, ct);
            if (await states.AbortRequestedAsync(context.RolloutId, ct))
                return PhaseOutcome.Aborted;
            checks++;
            foreach (var (service, baseline) in baselines)
            {
                var now = await context.Engine.InspectAsync(baseline.Id, ct);
                var problem = SoakCheck.Evaluate(service, baseline, now) ?? await deployer.OomSinceAsync(context, baseline.Id, run.Began, ct);
                foreach (var gate in problem is null ? service.Gates.Where(g => !g.Disturbs) : [])
                {
                    var outcome = await gates.EvaluateAsync(context.Engine, gate, service, baseline.Id, started, ct);
                    if (!outcome.Passed)
                    {
                        problem = $"gate {gate}: {outcome.Figure}";
                        break;
                    }
                }

                if (problem is not null)
                {
                    problem = FailureCause.Explain(service, problem, now, await watch.OomsSinceAsync(context.Host, context.RolloutId, baseline.Id, run.Began, ct));
                    var after = time.GetUtcNow() - started;
                    await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.SoakFailed, $"{service.Name} after {after.TotalSeconds:0}s of soak: {problem}", ct,
                        phase.Name, service.Name, run.Key("soak-failed"));
                    return PhaseOutcome.Failed(await deployer.FailedAsync(context, run, service, $"during soak: {problem}", ct));
                }
            }
        }

        await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.PhaseSoaked, $"Soaked {Domain.Units.Durations.Format(phase.Soak)}: {checks} check(s), no OOM kill, no restart, every gate held", ct,
            phase: phase.Name, key: run.Key("soaked"));
        return PhaseOutcome.Passed;
    }
}
