using System.Globalization;
using System.Text;
using DeployDeck.Domain.History;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Rollouts;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.History;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Web.Rollouts;

/// <summary>One line of the history list and of its CSV export.</summary>
public sealed record HistoryRow(
    Guid Id, Guid PlanId, string PlanName, int Revision, Guid HostId, string HostName, string State, string StartedBy,
    DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, double? DurationSeconds, string? Error);

public sealed record HistoryPage(IReadOnlyList<HistoryRow> Items, int Total, int Page, int PageSize, string Sort);

public sealed record GateResult(DateTimeOffset At, string? Service, bool Passed, string Figure);

public sealed record StepRecord(DateTimeOffset At, string Kind, string Message, string? Actor);

public sealed record PhaseRecord(
    int Index, string Name, string State, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, double? DurationSeconds,
    long? PredictedPeakMemoryBytes, IReadOnlyList<GateResult> Gates, StepRecord? Soak, IReadOnlyList<StepRecord> Approvals, IReadOnlyList<StepRecord> Rollback);

public sealed record TimelineEntry(long Id, DateTimeOffset At, string Who, string Kind, string? Phase, string? Service, string Message);

/// <param name="ActualPeakMemoryBytes">
/// Peak host memory measured during the rollout by live monitoring; null until that measurement is recorded for this rollout.
/// </param>
/// <param name="PreviousRevision">The plan revision the previous rollout of this plan ran; <see cref="RevisionDiffUrl"/> compares the two.</param>
public sealed record RolloutRecord(
    Guid Id, Guid PlanId, string PlanName, int Revision, Guid HostId, string HostName, string State, string StartedBy,
    DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, double? DurationSeconds, string? Error,
    string? AcknowledgedBy, string? Acknowledgement, string? AbortRequestedBy,
    string? PreflightVerdict, long? PredictedPeakMemoryBytes, long? ActualPeakMemoryBytes, long? HostMemoryBytes,
    Guid? PreviousRolloutId, int? PreviousRevision, string? RevisionDiffUrl, StepRecord? RollbackVerification,
    IReadOnlyList<PhaseRecord> Phases, IReadOnlyList<TimelineEntry> Timeline);

/// <summary>History reads: the filtered list, a rollout's full record, the CSV. Every free text passes <see cref="SecretKeys.Scrub(string?)"/>.</summary>
public static class RolloutRecords
{
    public const string EngineActor = "DeployDeck";

    public static async Task<HistoryPage> PageAsync(DeployDeckDbContext db, HistoryQuery query, CancellationToken ct)
    {
        var filtered = db.Rollouts.AsNoTracking().Filter(query);
        var total = await filtered.CountAsync(ct);
        var items = await ProjectAsync(db, db.Rollouts.AsNoTracking().Page(query), ct);
        return new HistoryPage(items, total, query.Page, query.PageSize, HistoryQuery.SortName(query.Sort));
    }

    /// <summary>Every row that matches, page by page in the query's order, for the CSV export.</summary>
    public static async IAsyncEnumerable<HistoryRow> AllAsync(DeployDeckDbContext db, HistoryQuery query, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        for (var page = 1; ; page++)
        {
            var rows = await ProjectAsync(db, db.Rollouts.AsNoTracking().Page(query with { Page = page, PageSize = HistoryQuery.MaxPageSize }), ct);
            foreach (var row in rows)
                yield return row;
            if (rows.Count < HistoryQuery.MaxPageSize)
                yield break;
        }
    }

    private static async Task<List<HistoryRow>> ProjectAsync(DeployDeckDbContext db, IQueryable<Rollout> page, CancellationToken ct)
    {
        var rows = await page.Rows().ToListAsync(ct);
        var secrets = new Dictionary<Guid, IReadOnlyCollection<string>>();
        foreach (var revision in rows.Where(r => r.Error is not null).Select(r => r.PlanRevisionId).Distinct())
            secrets[revision] = await RevisionSecrets.OfRevisionAsync(db, revision, ct);
        return rows.Select(r => new HistoryRow(r.Id, r.PlanId, r.Plan, r.Revision, r.HostId, r.Host, r.State.ToString(), r.StartedBy,
            r.CreatedAt, r.StartedAt, r.FinishedAt, Duration(r.CreatedAt, r.StartedAt, r.FinishedAt), r.Error is null ? null : SecretKeys.Scrub(r.Error, secrets[r.PlanRevisionId]))).ToList();
    }

    private static double? Duration(DateTimeOffset created, DateTimeOffset? started, DateTimeOffset? finished) =>
        finished is { } f ? Math.Round((f - (started ?? created)).TotalSeconds, 1) : null;

    public static async Task<RolloutRecord?> GetAsync(DeployDeckDbContext db, Guid id, CancellationToken ct)
    {
        var r = await db.Rollouts.AsNoTracking().AsSplitQuery()
            .Include(x => x.Plan).Include(x => x.Host).Include(x => x.PlanRevision)
            .Include(x => x.Phases).Include(x => x.Events)
            .FirstOrDefaultAsync(x => x.Id == id, ct);
        if (r is null)
            return null;

        var previous = await db.Rollouts.AsNoTracking()
            .Where(p => p.PlanId == r.PlanId && p.CreatedAt < r.CreatedAt)
            .OrderByDescending(p => p.CreatedAt)
            .Select(p => new { p.Id, p.PlanRevision!.Number })
            .FirstOrDefaultAsync(ct);

        var events = r.Events.OrderBy(e => e.Id).ToList();
        var secrets = SecretKeys.ValuesOf(r.PlanRevision!.ToSpec());
        string Scrub(string? text) => SecretKeys.Scrub(text, secrets);
        StepRecord Step(RolloutEvent e) => new(e.At, e.Kind, Scrub(e.Message), e.Actor);
        var forecast = r.Preflight?.Forecast?.Phases;
        // The sampler's host peak over the rollout's phases: the same quantity admission predicted.
        var actualPeak = await db.PhaseUsage.Where(u => u.RolloutId == r.Id && u.Subject == Domain.Monitoring.UsageSubject.Host)
            .MaxAsync(u => (long?)u.PeakMemoryBytes, ct);
        var phases = r.Phases.OrderBy(p => p.Index).Select(p =>
        {
            var mine = events.Where(e => e.Phase == p.Name).ToList();
            var soak = mine.LastOrDefault(e => e.Kind is "phase.soaked" or "soak.failed");
            return new PhaseRecord(
                p.Index, p.Name, p.State.ToString(), p.StartedAt, p.FinishedAt, p.StartedAt is { } ps && p.FinishedAt is { } pf ? Math.Round((pf - ps).TotalSeconds, 1) : null,
                forecast?.FirstOrDefault(f => f.Phase == p.Name)?.PredictedPeak,
                mine.Where(e => e.Kind is "gate.passed" or "gate.failed").Select(e => new GateResult(e.At, e.Service, e.Kind == "gate.passed", Scrub(e.Message))).ToList(),
                soak is null ? null : Step(soak),
                mine.Where(e => e.Kind == "phase.approved").Select(Step).ToList(),
                mine.Where(e => e.Kind is "phase.rolled-back" || (e.Kind.StartsWith("service.", StringComparison.Ordinal) && e.Kind is "service.removed" or "service.restored")).Select(Step).ToList());
        }).ToList();
        var verification = events.LastOrDefault(e => e.Kind is "rollback.verified" or "rollback.failed");

        return new RolloutRecord(
            r.Id, r.PlanId, r.Plan!.Name, r.PlanRevision!.Number, r.HostId, r.Host!.Name, r.State.ToString(), r.StartedBy,
            r.CreatedAt, r.StartedAt, r.FinishedAt, Duration(r.CreatedAt, r.StartedAt, r.FinishedAt), r.Error is null ? null : Scrub(r.Error),
            r.AcknowledgedBy, r.Acknowledgement is null ? null : Scrub(r.Acknowledgement), r.AbortRequestedBy,
            r.Preflight is null ? null : $"{r.Preflight.Verdict.Overall.ToString().ToUpperInvariant()} ({r.Preflight.Verdict.Summary})",
            forecast?.Max(f => f.PredictedPeak), actualPeak, r.Preflight?.Signals.MemoryTotalBytes,
            previous?.Id, previous?.Number,
            previous is null || previous.Number == r.PlanRevision.Number ? null : $"/api/plans/{r.PlanId}/revisions/compare?from={previous.Number}&to={r.PlanRevision.Number}",
            verification is null ? null : Step(verification),
            phases,
            events.Select(e => new TimelineEntry(e.Id, e.At, e.Actor ?? EngineActor, e.Kind, e.Phase, e.Service, Scrub(e.Message))).ToList());
    }

    public static readonly string CsvHeader = "id,plan,revision,host,state,started_by,created_at,started_at,finished_at,duration_s,error";

    public static string CsvLine(HistoryRow r) => string.Join(',',
        r.Id.ToString(), Csv(r.PlanName), r.Revision.ToString(CultureInfo.InvariantCulture), Csv(r.HostName), r.State, Csv(r.StartedBy),
        r.CreatedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture), r.StartedAt?.UtcDateTime.ToString("O", CultureInfo.InvariantCulture) ?? "",
        r.FinishedAt?.UtcDateTime.ToString("O", CultureInfo.InvariantCulture) ?? "", r.DurationSeconds?.ToString("0.0", CultureInfo.InvariantCulture) ?? "",
        Csv(r.Error ?? ""));

    /// <summary>RFC 4180 quoting, and a leading quote for text a spreadsheet would run as a formula.</summary>
    private static string Csv(string value)
    {
        if (value.Length > 0 && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
            value = "'" + value;
        return value.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }

    /// <summary>The manager view's input: one fact per rollout created in [from, to).</summary>
    public static async Task<IReadOnlyList<HostWeek>> WeeklyAsync(DeployDeckDbContext db, DateTimeOffset from, DateTimeOffset to, Guid? hostId, CancellationToken ct)
    {
        var rows = await db.Rollouts.AsNoTracking()
            .Where(r => r.CreatedAt >= from && r.CreatedAt < to && (hostId == null || r.HostId == hostId))
            .Select(r => new
            {
                Host = r.Host!.Name, r.CreatedAt, r.StartedAt, r.FinishedAt, r.State,
                FailedPhase = r.Events.Where(e => e.Kind == "phase.failed").OrderBy(e => e.Id).Select(e => e.Phase).FirstOrDefault(),
            })
            .ToListAsync(ct);
        return WeeklyStats.Compute(rows.Select(r => new RolloutFact(
            r.Host, r.CreatedAt, r.State, r.FinishedAt is { } f ? f - (r.StartedAt ?? r.CreatedAt) : null,
            r.State is RolloutState.Failed or RolloutState.RolledBack ? r.FailedPhase : null)));
    }

    public static string FileName(string prefix, DateTimeOffset at) => $"{prefix}-{at.UtcDateTime:yyyyMMdd-HHmmss}";

    public static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);
}
