using DeployDeck.Infrastructure.Data;
using DeployDeck.Web.Auth;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Web.Api;

public sealed record AuditEntryDto(long Id, DateTimeOffset At, string User, string Action, string Subject, string? Details);

public sealed record AuditPage(IReadOnlyList<AuditEntryDto> Items, int Total, int Page, int PageSize);

public sealed record AuditFilter(string? User, string? Action, string? Subject, DateTimeOffset? From, DateTimeOffset? To, int Page, int PageSize);

/// <summary>The audit trail, read-only, for Admins.</summary>
public static class AuditApi
{
    public static RouteGroupBuilder MapAuditApi(this RouteGroupBuilder api)
    {
        api.MapGet("/audit", async Task<Results<Ok<AuditPage>, ValidationProblem>> (HttpRequest request, IDbContextFactory<DeployDeckDbContext> dbFactory, CancellationToken ct) =>
        {
            var q = request.Query;
            // The history parser validates the shared parameters (dates, paging) with the same messages.
            var (parsed, problems) = Domain.History.HistoryQuery.Parse(null, null, null, null, q["from"], q["to"], null, q["page"], q["pageSize"]);
            if (parsed is null)
                return RolloutHistoryApi.Invalid(problems);
            var filter = new AuditFilter(Blank(q["user"]), Blank(q["action"]), Blank(q["subject"]), parsed.From, parsed.To, parsed.Page, parsed.PageSize);
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            return TypedResults.Ok(await QueryAsync(db, filter, ct));
        }).WithTags("Audit").RequireAuthorization(Policies.Admin);
        return api;
    }

    private static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    public static async Task<AuditPage> QueryAsync(DeployDeckDbContext db, AuditFilter filter, CancellationToken ct)
    {
        var entries = db.Audit.AsNoTracking();
        if (filter.User is { } user)
            entries = entries.Where(a => a.User == user);
        if (filter.Action is { } action)
            entries = action.EndsWith('*') ? entries.Where(a => a.Action.StartsWith(action.TrimEnd('*'))) : entries.Where(a => a.Action == action);
        if (filter.Subject is { } subject)
            entries = entries.Where(a => EF.Functions.ILike(a.Subject, "%" + subject.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_") + "%"));
        if (filter.From is { } from)
            entries = entries.Where(a => a.At >= from);
        if (filter.To is { } to)
            entries = entries.Where(a => a.At < to);
        var total = await entries.CountAsync(ct);
        var items = await entries.OrderByDescending(a => a.Id).Skip((filter.Page - 1) * filter.PageSize).Take(filter.PageSize)
            .Select(a => new AuditEntryDto(a.Id, a.At, a.User, a.Action, a.Subject, a.Details)).ToListAsync(ct);
        return new AuditPage(items, total, filter.Page, filter.PageSize);
    }
}
