using DeployDeck.Domain.Hosts;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Rollouts;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Engine;

namespace DeployDeck.Infrastructure.Preflight;

/// <summary>
/// The host check and the admission forecast, as the launcher, the dry run and the Worker (before each phase) run them,
/// each on the host's own engine.
/// </summary>
public sealed class PreflightRunner(EngineConnections engines)
{
    public async Task<PreflightResult> CheckAsync(DockerHost host, CancellationToken ct)
    {
        var signals = await engines.For(host).Inspector.MeasureAsync(ct);
        var thresholds = host.Thresholds ?? HostThresholds.Default;
        return new PreflightResult(signals, thresholds, HostCheck.Evaluate(signals, thresholds), null);
    }

    /// <param name="reconcile">What the rollout does to each service: the ones it keeps add no container to the host.</param>
    public async Task<PreflightResult> ForecastAsync(PlanSpec plan, Guid planId, DockerHost host, int fromPhase, CancellationToken ct, ReconcilePlan? reconcile = null)
    {
        var inspector = engines.For(host).Inspector;
        var imagesRead = inspector.ImagesAsync(plan.AllServices.Select(s => s.Image), ct); // independent of the host's figures
        var check = await CheckAsync(host, ct);
        var previous = await inspector.PlanMemoryAsync(planId, check.Signals, ct);
        var images = await imagesRead;
        var kept = reconcile?.Services.Where(s => s.Action == ReconcileAction.Keep).Select(s => s.Service).ToHashSet(StringComparer.Ordinal);
        return check with { Forecast = Admission.Predict(plan, check.Signals, check.Thresholds, previous, images, fromPhase, kept), Reconcile = reconcile };
    }
}
