using DeployDeck.Domain.History;
using DeployDeck.Infrastructure.Data;

namespace DeployDeck.Infrastructure.History;

public sealed record HistoryRowData(
    Guid Id, Guid PlanId, string Plan, int Revision, Guid HostId, string Host, Domain.Rollouts.RolloutState State, string StartedBy,
    DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, string? Error, Guid PlanRevisionId = default);

/// <summary>
/// The history query as SQL: filters on indexed columns, newest first on (column, CreatedAt) indexes, OFFSET paging.
/// Web, the benchmark and the EXPLAIN test run this one composition, so the plan they measure is the plan users get.
/// </summary>
public static class RolloutHistory
{
    public static IQueryable<Rollout> Filter(this IQueryable<Rollout> rollouts, HistoryQuery query)
    {
        if (query.States.Count > 0)
        {
            var states = query.States.ToList();
            rollouts = states.Count == 1 ? rollouts.Where(r => r.State == states[0]) : rollouts.Where(r => states.Contains(r.State));
        }

        if (query.HostId is { } host)
            rollouts = rollouts.Where(r => r.HostId == host);
        if (query.PlanId is { } plan)
            rollouts = rollouts.Where(r => r.PlanId == plan);
        if (query.StartedBy is { } who)
            rollouts = rollouts.Where(r => r.StartedBy == who);
        if (query.From is { } from)
            rollouts = rollouts.Where(r => r.CreatedAt >= from);
        if (query.To is { } to)
            rollouts = rollouts.Where(r => r.CreatedAt < to);
        return rollouts;
    }

    public static IQueryable<Rollout> Sorted(this IQueryable<Rollout> rollouts, HistorySort sort) => sort switch
    {
        HistorySort.OldestFirst => rollouts.OrderBy(r => r.CreatedAt).ThenBy(r => r.Id),
        // Unfinished rollouts have no duration yet: they go last either way.
        HistorySort.LongestFirst => rollouts.OrderBy(r => r.FinishedAt == null).ThenByDescending(r => r.FinishedAt - (r.StartedAt ?? r.CreatedAt)).ThenByDescending(r => r.CreatedAt),
        HistorySort.ShortestFirst => rollouts.OrderBy(r => r.FinishedAt == null).ThenBy(r => r.FinishedAt - (r.StartedAt ?? r.CreatedAt)).ThenByDescending(r => r.CreatedAt),
        _ => rollouts.OrderByDescending(r => r.CreatedAt).ThenByDescending(r => r.Id),
    };

    /// <summary>The columns a history line shows, names joined in.</summary>
    public static IQueryable<HistoryRowData> Rows(this IQueryable<Rollout> rollouts) => rollouts.Select(r => new HistoryRowData(
        r.Id, r.PlanId, r.Plan!.Name, r.PlanRevision!.Number, r.HostId, r.Host!.Name, r.State, r.StartedBy, r.CreatedAt, r.StartedAt, r.FinishedAt, r.Error, r.PlanRevisionId));

    /// <summary>The rows of one page, in order.</summary>
    public static IQueryable<Rollout> Page(this IQueryable<Rollout> rollouts, HistoryQuery query) =>
        rollouts.Filter(query).Sorted(query.Sort).Skip(query.Skip).Take(query.PageSize);
}
