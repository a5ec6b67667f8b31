using DeployDeck.Domain.History;
using DeployDeck.Domain.Rollouts;

namespace DeployDeck.Domain.Tests;

public sealed class HistoryQueryTests
{
    private static (HistoryQuery? Query, IReadOnlyList<QueryProblem> Problems) Parse(
        string? state = null, string? hostId = null, string? planId = null, string? startedBy = null, string? from = null, string? to = null,
        string? sort = null, string? page = null, string? pageSize = null) =>
        HistoryQuery.Parse(state, hostId, planId, startedBy, from, to, sort, page, pageSize);

    [Fact]
    public void No_parameters_mean_every_rollout_newest_first_first_page_of_50()
    {
        var (query, problems) = Parse();

        Assert.Empty(problems);
        Assert.Empty(query!.States);
        Assert.Equal(HistorySort.NewestFirst, query.Sort);
        Assert.Equal((1, 50, 0), (query.Page, query.PageSize, query.Skip));
    }

    [Theory]
    [InlineData("failed", RolloutState.Failed)]
    [InlineData("rolled-back", RolloutState.RolledBack)]
    [InlineData("RolledBack", RolloutState.RolledBack)]
    [InlineData("awaiting_approval", RolloutState.AwaitingApproval)]
    public void States_are_read_in_any_spelling_people_use(string text, RolloutState expected) =>
        Assert.Equal([expected], Parse(state: text).Query!.States);

    [Fact]
    public void Active_means_every_state_that_still_holds_the_host()
    {
        var states = Parse(state: "active,succeeded").Query!.States;

        Assert.Equal(HistoryQuery.Active.Append(RolloutState.Succeeded).ToHashSet(), states);
    }

    [Theory]
    [InlineData("state", "exploded")]
    [InlineData("state", "3")]
    [InlineData("hostId", "local")]
    [InlineData("planId", "12")]
    [InlineData("from", "yesterday")]
    [InlineData("sort", "random")]
    [InlineData("page", "0")]
    [InlineData("page", "-1")]
    [InlineData("pageSize", "201")]
    [InlineData("pageSize", "ten")]
    public void A_bad_value_is_reported_with_the_name_of_its_parameter(string parameter, string value)
    {
        var (query, problems) = parameter switch
        {
            "state" => Parse(state: value),
            "hostId" => Parse(hostId: value),
            "planId" => Parse(planId: value),
            "from" => Parse(from: value),
            "sort" => Parse(sort: value),
            "page" => Parse(page: value),
            _ => Parse(pageSize: value),
        };

        Assert.Null(query);
        Assert.Equal(parameter, Assert.Single(problems).Parameter);
        Assert.Contains(value, problems[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Several_bad_values_are_all_reported_at_once()
    {
        var (_, problems) = Parse(state: "nope", page: "x", to: "never");

        Assert.Equal(["state", "to", "page"], problems.Select(p => p.Parameter));
    }

    [Fact]
    public void A_range_that_ends_before_it_starts_is_refused()
    {
        var (_, problems) = Parse(from: "2026-11-25", to: "2026-11-24");

        Assert.Equal("to", Assert.Single(problems).Parameter);
    }

    [Fact]
    public void Dates_without_an_offset_are_utc_and_page_two_skips_the_first_page()
    {
        var (query, _) = Parse(from: "2026-11-25", to: "2026-11-26T12:30:00", page: "2", pageSize: "20", sort: "-duration");

        Assert.Equal(new DateTimeOffset(2026, 11, 25, 0, 0, 0, TimeSpan.Zero), query!.From);
        Assert.Equal(new DateTimeOffset(2026, 11, 26, 12, 30, 0, TimeSpan.Zero), query.To);
        Assert.Equal(20, query.Skip);
        Assert.Equal(HistorySort.LongestFirst, query.Sort);
    }

    [Fact]
    public void An_offset_whose_plus_became_a_space_in_an_unescaped_url_is_still_read_as_the_offset() =>
        Assert.Equal(new DateTimeOffset(2026, 11, 25, 13, 0, 0, TimeSpan.Zero), Parse(from: "2026-11-25T14:00:00 01:00").Query!.From);
}
