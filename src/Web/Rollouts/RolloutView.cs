using DeployDeck.Infrastructure.Data;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Web.Rollouts;

/// <param name="Kind">http, logs, exec, memory, chaos, or oom (the engine's event log).</param>
/// <param name="Result">The gate and its figure, as recorded: "GET … answers 200–399: HTTP 500 in 3 ms".</param>
public sealed record GateResultView(string Kind, bool Passed, string Result, DateTimeOffset At);

/// <param name="Gates">Results of the service's latest run of its phase.</param>
public sealed record RolloutServiceView(string Name, string State, string? ContainerId, string? Detail, DateTimeOffset UpdatedAt, IReadOnlyList<GateResultView> Gates);

public sealed record RolloutPhaseView(int Index, string Name, string State, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, IReadOnlyList<RolloutServiceView> Services);

public sealed record RolloutEventView(long Id, DateTimeOffset At, string Kind, string? Phase, string? Service, string Message, string? Actor);

/// <summary>A rollout as the API returns it and the rollout page shows it.</summary>
public sealed record RolloutView(
    Guid Id,
    Guid PlanId,
    string PlanName,
    int Revision,
    Guid HostId,
    string HostName,
    string State,
    int CurrentPhase,
    string StartedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    string? Error,
    IReadOnlyList<RolloutPhaseView> Phases,
    IReadOnlyList<RolloutEventView> Events)
{
    /// <summary>What the start decided for each service (keep, create, recreate, scale) and the orphans it removes.</summary>
    public Domain.Rollouts.ReconcilePlan? Reconcile { get; init; }

    /// <summary>The fleet rollout this host's rollout is part of; null when it was started on its own.</summary>
    public Guid? FleetId { get; init; }
}

public sealed record RolloutSummary(Guid Id, string PlanName, int Revision, string HostName, string State, string StartedBy, DateTimeOffset CreatedAt, DateTimeOffset? FinishedAt);

public static class RolloutQueries
{
    public static async Task<RolloutView?> GetAsync(DeployDeckDbContext db, Guid id, CancellationToken cancellationToken)
    {
        var r = await db.Rollouts.AsNoTracking().AsSplitQuery()
            .Include(x => x.Plan).Include(x => x.Host).Include(x => x.PlanRevision)
            .Include(x => x.Phases).Include(x => x.Services).Include(x => x.Events)
            .FirstOrDefaultAsync(x => x.Id == id, cancellationToken);
        if (r is null)
            return null;

        // Gate output and errors can quote a secret of the plan (an exec gate's `env`): the revision's values are masked too.
        var secrets = Domain.Plans.SecretKeys.ValuesOf(r.PlanRevision!.ToSpec());
        string Scrub(string? text) => Domain.Plans.SecretKeys.Scrub(text, secrets);
        var phases = r.Phases.OrderBy(p => p.Index).Select(p =>
        {
            // A phase run again after a resume shows its latest run's gates only.
            var runStart = r.Events.Where(e => e.Kind == "phase.started" && e.Phase == p.Name).Select(e => e.Id).DefaultIfEmpty(0).Max();
            var gates = r.Events.Where(e => e.Id >= runStart && e.Phase == p.Name && e.Kind is "gate.passed" or "gate.failed" && e.Service is not null)
                .OrderBy(e => e.Id).ToLookup(e => e.Service!, e => new GateResultView(Domain.Rollouts.StepKey.GateKindOf(e.Key), e.Kind == "gate.passed", Scrub(e.Message), e.At));
            return new RolloutPhaseView(
                p.Index, p.Name, p.State.ToString(), p.StartedAt, p.FinishedAt,
                r.Services.Where(s => s.PhaseIndex == p.Index).OrderBy(s => s.Name)
                    .Select(s => new RolloutServiceView(s.Name, s.State.ToString(), s.ContainerId, s.Detail is null ? null : Scrub(s.Detail), s.UpdatedAt, gates[s.Name].ToList())).ToList());
        }).ToList();
        var fleet = await db.FleetHosts.AsNoTracking().Where(h => h.RolloutId == id).Select(h => (Guid?)h.FleetRolloutId).FirstOrDefaultAsync(cancellationToken);
        var events = r.Events.OrderBy(e => e.Id)
            .Select(e => new RolloutEventView(e.Id, e.At, e.Kind, e.Phase, e.Service, Scrub(e.Message), e.Actor)).ToList();
        return new RolloutView(
            r.Id, r.PlanId, r.Plan!.Name, r.PlanRevision!.Number, r.HostId, r.Host!.Name, r.State.ToString(), r.CurrentPhase,
            r.StartedBy, r.CreatedAt, r.StartedAt, r.FinishedAt, r.Error is null ? null : Scrub(r.Error), phases, events)
        {
            Reconcile = r.Preflight?.Reconcile,
            FleetId = fleet,
        };
    }

    public static Task<List<RolloutSummary>> RecentAsync(DeployDeckDbContext db, int skip, int take, CancellationToken cancellationToken) =>
        db.Rollouts.AsNoTracking().OrderByDescending(r => r.CreatedAt).Skip(skip).Take(take)
            .Select(r => new RolloutSummary(r.Id, r.Plan!.Name, r.PlanRevision!.Number, r.Host!.Name, r.State.ToString(), r.StartedBy, r.CreatedAt, r.FinishedAt))
            .ToListAsync(cancellationToken);
}
