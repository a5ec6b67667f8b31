using System.Globalization;
using DeployDeck.Domain.Rollouts;

namespace DeployDeck.Domain.History;

public enum HistorySort
{
    NewestFirst,
    OldestFirst,
    LongestFirst,
    ShortestFirst,
}

/// <summary>One problem with one query parameter, named so a CI script's author can fix it.</summary>
public sealed record QueryProblem(string Parameter, string Message);

/// <summary>A filtered, sorted page of rollout history, as the list page, the CSV export and <c>GET /api/rollouts</c> ask for it.</summary>
public sealed record HistoryQuery
{
    public const int MaxPageSize = 200;
    public const int DefaultPageSize = 50;

    public IReadOnlySet<RolloutState> States { get; init; } = new HashSet<RolloutState>();

    public Guid? HostId { get; init; }

    public Guid? PlanId { get; init; }

    public string? StartedBy { get; init; }

    /// <summary>Created at or after.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Created before.</summary>
    public DateTimeOffset? To { get; init; }

    public HistorySort Sort { get; init; } = HistorySort.NewestFirst;

    public int Page { get; init; } = 1;

    public int PageSize { get; init; } = DefaultPageSize;

    public int Skip => (Page - 1) * PageSize;

    /// <summary>States a person means by "running": every state in which the rollout still holds its host.</summary>
    public static readonly IReadOnlyList<RolloutState> Active =
        [RolloutState.Queued, RolloutState.Running, RolloutState.AwaitingApproval, RolloutState.Paused, RolloutState.RollingBack];

    private static readonly Dictionary<string, HistorySort> Sorts = new(StringComparer.OrdinalIgnoreCase)
    {
        ["-created"] = HistorySort.NewestFirst,
        ["newest"] = HistorySort.NewestFirst,
        ["created"] = HistorySort.OldestFirst,
        ["oldest"] = HistorySort.OldestFirst,
        ["-duration"] = HistorySort.LongestFirst,
        ["duration"] = HistorySort.ShortestFirst,
    };

    public static string SortName(HistorySort sort) => sort switch
    {
        HistorySort.OldestFirst => "created",
        HistorySort.LongestFirst => "-duration",
        HistorySort.ShortestFirst => "duration",
        _ => "-created",
    };

    /// <summary>
    /// Reads the query string's values. Every bad value is reported with the parameter's name; nothing is
    /// silently clamped or dropped, because a CI job that filters on a typo must hear about it.
    /// </summary>
    /// <param name="state">Comma-separated: a state name (any case, "rolled-back" or "RolledBack") or "active".</param>
    public static (HistoryQuery? Query, IReadOnlyList<QueryProblem> Problems) Parse(
        string? state, string? hostId, string? planId, string? startedBy, string? from, string? to, string? sort, string? page, string? pageSize)
    {
        var problems = new List<QueryProblem>();
        var states = new HashSet<RolloutState>();
        foreach (var part in (state ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var name = part.Replace("-", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal);
            if (name.Equals("active", StringComparison.OrdinalIgnoreCase))
                states.UnionWith(Active);
            else if (!int.TryParse(name, out _) && Enum.TryParse<RolloutState>(name, ignoreCase: true, out var parsed))
                states.Add(parsed);
            else
                problems.Add(new("state", $"'{part}' is not a rollout state; use active or one of {string.Join(", ", Enum.GetNames<RolloutState>())} (comma-separated)."));
        }

        var host = ParseGuid("hostId", hostId, problems);
        var plan = ParseGuid("planId", planId, problems);
        var who = string.IsNullOrWhiteSpace(startedBy) ? null : startedBy.Trim();
        if (who is { Length: > 256 })
            problems.Add(new("startedBy", "A user name has at most 256 characters."));
        var fromAt = ParseTime("from", from, problems);
        var toAt = ParseTime("to", to, problems);
        if (fromAt is not null && toAt is not null && fromAt >= toAt)
            problems.Add(new("to", "'to' must be later than 'from'."));

        var order = HistorySort.NewestFirst;
        if (!string.IsNullOrWhiteSpace(sort) && !Sorts.TryGetValue(sort.Trim(), out order))
            problems.Add(new("sort", $"'{sort}' is not a sort order; use one of {string.Join(", ", Sorts.Keys)}."));

        var pageNumber = ParseInt("page", page, 1, 1, 1_000_000, problems);
        var size = ParseInt("pageSize", pageSize, DefaultPageSize, 1, MaxPageSize, problems);

        if (problems.Count > 0)
            return (null, problems);
        return (new HistoryQuery
        {
            States = states, HostId = host, PlanId = plan, StartedBy = who, From = fromAt, To = toAt, Sort = order, Page = pageNumber, PageSize = size,
        }, problems);
    }

    private static Guid? ParseGuid(string name, string? value, List<QueryProblem> problems)
    {
        if (string.IsNullOrWhiteSpace(value))
            return null;
        if (Guid.TryParse(value.Trim(), out var id))
            return id;
        problems.Add(new(name, $"'{value}' is not an id (a GUID such as 0190a1b2-…)."));
        return null;
    }

    private static DateTimeOffset? ParseTime(string name, string? value, List<QueryProblem> problems)
    {
        if (string.IsNullOrWhiteSpace(value))
            return null;
        // A date alone means midnight UTC; a time without an offset is UTC too, so a query means the same from any machine.
        // An unescaped "+01:00" in a curl URL arrives as " 01:00": read it as the offset it was.
        var text = value.Trim();
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
            || DateTimeOffset.TryParse(text.Replace(' ', '+'), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out at))
        {
            // Reports step back weeks from these: year 1 underflowed into a 500.
            if (at.Year is >= 1970 and <= 9000)
                return at;
            problems.Add(new(name, $"'{value}' is outside the years 1970 to 9000."));
            return null;
        }

        problems.Add(new(name, $"'{value}' is not a date or time; use ISO 8601 such as 2026-11-25 or 2026-11-25T14:00:00Z."));
        return null;
    }

    private static int ParseInt(string name, string? value, int fallback, int min, int max, List<QueryProblem> problems)
    {
        if (string.IsNullOrWhiteSpace(value))
            return fallback;
        if (int.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max)
            return n;
        problems.Add(new(name, $"'{value}' is not a whole number from {min} to {max}."));
        return fallback;
    }
}
