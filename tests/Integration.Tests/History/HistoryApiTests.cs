using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeployDeck.Domain.History;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.History;
using DeployDeck.Tests.Shared;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Integration.Tests.History;

/// <summary>One Web (no Worker: nothing here runs a rollout) over a database seeded with 10 000 rollouts.</summary>
public sealed class SeededHistoryFixture : IAsyncLifetime
{
    public DeployDeckApp App { get; private set; } = null!;

    public HistorySeed Seed { get; private set; } = null!;

    public string ViewerToken { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        App = await DeployDeckApp.StartAsync(startWorker: false);
        Seed = await HistorySeed.SeedAsync(App);
        ViewerToken = await App.TokenAsync("history-viewer", await App.CreateUserAsync("history-viewer", "Viewer"));
    }

    public async Task DisposeAsync() => await App.DisposeAsync();
}

public sealed class HistoryApiTests(SeededHistoryFixture fixture) : IClassFixture<SeededHistoryFixture>
{
    private DeployDeckApp App => fixture.App;

    private HistorySeed Seed => fixture.Seed;

    private HttpClient Viewer() => App.CreateClient(fixture.ViewerToken);

    private static async Task<JsonElement> GetPageAsync(HttpClient client, string query)
    {
        var response = await client.GetAsync("/api/rollouts?" + query);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET /api/rollouts?{query} → {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement;
    }

    [Fact]
    public async Task Unfiltered_history_counts_every_rollout_and_pages_newest_first()
    {
        using var viewer = Viewer();

        var page = await GetPageAsync(viewer, "page=2&pageSize=25");

        Assert.Equal(HistorySeed.Count, page.GetProperty("total").GetInt32());
        var created = page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("createdAt").GetDateTimeOffset()).ToList();
        var expected = Seed.Rows.OrderByDescending(r => r.CreatedAt).Skip(25).Take(25).Select(r => r.CreatedAt).ToList();
        Assert.Equal(expected, created);
    }

    [Fact]
    public async Task Filters_combine_and_the_total_is_the_count_of_every_match_not_of_the_page()
    {
        using var viewer = Viewer();
        var from = HistorySeed.Start.AddDays(30);
        var to = HistorySeed.Start.AddDays(90);
        var expected = Seed.Rows.Where(r => r.State == "Failed" && r.Host == Seed.Hosts[1] && r.Plan == Seed.Plans[0] && r.CreatedAt >= from && r.CreatedAt < to)
            .OrderByDescending(r => r.CreatedAt).ToList();
        Assert.True(expected.Count > 20, "the seed should give this filter more than one page");

        var query = $"state=failed&hostId={Seed.Hosts[1]}&planId={Seed.Plans[0]}&from={Uri.EscapeDataString(from.ToString("O"))}&to={Uri.EscapeDataString(to.ToString("O"))}&pageSize=20";
        var first = await GetPageAsync(viewer, query);
        var second = await GetPageAsync(viewer, query + "&page=2");

        Assert.Equal(expected.Count, first.GetProperty("total").GetInt32());
        var items = first.GetProperty("items").EnumerateArray().Concat(second.GetProperty("items").EnumerateArray()).ToList();
        Assert.Equal(expected.Take(40).Select(r => r.CreatedAt), items.Select(i => i.GetProperty("createdAt").GetDateTimeOffset()));
        Assert.All(items, i =>
        {
            Assert.Equal("Failed", i.GetProperty("state").GetString());
            Assert.Equal("history-h1", i.GetProperty("hostName").GetString());
            Assert.Equal("demo", i.GetProperty("planName").GetString());
        });
        Assert.Equal(40, items.Select(i => i.GetProperty("id").GetGuid()).Distinct().Count());
    }

    [Theory]
    [InlineData("succeeded", 6000)]
    [InlineData("rolled-back", 1000)]
    [InlineData("aborted,failed", 3000)]
    public async Task A_state_filter_returns_exactly_the_rollouts_in_those_states(string state, int total)
    {
        using var viewer = Viewer();

        var page = await GetPageAsync(viewer, $"state={state}&pageSize=200&page=3");

        Assert.Equal(total, page.GetProperty("total").GetInt32());
        Assert.Equal(200, page.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task Who_started_it_filters_exactly_and_the_last_page_is_short()
    {
        using var viewer = Viewer();
        var expected = Seed.Rows.Count(r => r.StartedBy == "user3");

        var last = await GetPageAsync(viewer, $"startedBy=user3&pageSize=200&page={(expected / 200) + 1}");

        Assert.Equal(expected, last.GetProperty("total").GetInt32());
        Assert.Equal(expected % 200, last.GetProperty("items").GetArrayLength());
        Assert.All(last.GetProperty("items").EnumerateArray(), i => Assert.Equal("user3", i.GetProperty("startedBy").GetString()));
    }

    [Fact]
    public async Task Longest_first_sorts_by_duration()
    {
        using var viewer = Viewer();

        var page = await GetPageAsync(viewer, "sort=-duration&pageSize=10");

        var durations = page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("durationSeconds").GetDouble()).ToList();
        Assert.Equal(durations.OrderDescending(), durations);
        Assert.Equal(60 + 119 - 5, durations[0]);
    }

    [Theory]
    [InlineData("state=exploded", "state")]
    [InlineData("hostId=local", "hostId")]
    [InlineData("page=0", "page")]
    [InlineData("pageSize=100000", "pageSize")]
    [InlineData("from=last-tuesday", "from")]
    [InlineData("sort=random", "sort")]
    public async Task A_bad_query_parameter_is_a_400_problem_naming_it(string query, string parameter)
    {
        using var viewer = Viewer();

        var response = await viewer.GetAsync("/api/rollouts?" + query);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(parameter, out _), problem.ToString());
        Assert.Contains(parameter, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    private HistoryQuery Filter(string column) => column switch
    {
        "state" => new HistoryQuery { States = new HashSet<Domain.Rollouts.RolloutState> { Domain.Rollouts.RolloutState.Failed }, Page = 3 },
        "host" => new HistoryQuery { HostId = Seed.Hosts[2], Page = 3 },
        _ => new HistoryQuery { StartedBy = "user3", Page = 3 },
    };

    private async Task<string> ExplainAsync(Func<DeployDeckDbContext, IQueryable<object>> query)
    {
        await using var db = new DeployDeckDbContext(new DbContextOptionsBuilder<DeployDeckDbContext>().UseNpgsql(App.ConnectionString).Options);
        await db.Database.OpenConnectionAsync();
        await using var command = query(db).CreateDbCommand();
        command.CommandText = "EXPLAIN " + command.CommandText;
        var plan = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            plan.Add(reader.GetString(0));
        return string.Join('\n', plan);
    }

    [Theory]
    [InlineData("state")]
    [InlineData("host")]
    [InlineData("startedBy")]
    // Not "plan": the seed's two plans each have half the rollouts, and PostgreSQL rightly counts half a table by reading it.
    public async Task The_page_and_the_total_of_a_filter_read_indexes_not_the_whole_table(string column)
    {
        var query = Filter(column);

        var page = await ExplainAsync(db => db.Rollouts.AsNoTracking().Page(query).Rows());
        var total = await ExplainAsync(db => db.Rollouts.AsNoTracking().Filter(query).Select(r => (object)r.Id));

        foreach (var plan in new[] { page, total })
        {
            Assert.DoesNotContain("Seq Scan on rollouts", plan, StringComparison.Ordinal);
            Assert.Matches(@"(Index Scan|Index Scan Backward|Index Only Scan|Bitmap Index Scan)( Backward)? (using|on) ""IX_rollouts_", plan);
        }

        // No index led by these columns existed before the history indexes: the total is theirs to serve.
        if (column is "state" or "startedBy")
            Assert.True(total.Contains(column == "state" ? "IX_rollouts_history_state" : "IX_rollouts_history_started_by", StringComparison.Ordinal), total);
    }

    [Fact]
    public async Task The_csv_export_has_every_filtered_row_and_no_secret()
    {
        using var viewer = Viewer();
        var expected = Seed.Rows.Count(r => r.Host == Seed.Hosts[0]);

        var response = await viewer.GetAsync($"/api/rollouts/export.csv?hostId={Seed.Hosts[0]}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("id,plan,revision,host,state", lines[0], StringComparison.Ordinal);
        Assert.Equal(expected, lines.Length - 1);
        Assert.All(lines.Skip(1), l => Assert.Contains(",local,", l, StringComparison.Ordinal));

        var all = await (await viewer.GetAsync("/api/rollouts/export.csv?state=succeeded")).Content.ReadAsStringAsync();
        Assert.Contains("Password=••••••••", all, StringComparison.Ordinal); // rollout 42 is a success with a secret in its error
        Assert.DoesNotContain("hunter2", all, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_list_and_the_json_export_mask_the_secret_in_an_error()
    {
        using var viewer = Viewer();
        var id = await App.QueryScalarAsync<Guid>($"SELECT \"Id\" FROM rollouts WHERE \"Error\" = '{HistorySeed.SecretError}'");

        var export = await viewer.GetAsync($"/api/rollouts/{id}/export");
        var record = await viewer.GetStringAsync($"/api/rollouts/{id}/record");
        var page = await viewer.GetStringAsync("/api/rollouts?startedBy=user0&from=2026-01-01T20:00:00Z&to=2026-01-01T22:00:00Z");

        Assert.Equal(HttpStatusCode.OK, export.StatusCode);
        Assert.Equal($"rollout-{id}.json", export.Content.Headers.ContentDisposition?.FileName?.Trim('"'));
        var json = await export.Content.ReadAsStringAsync();
        Assert.Contains(id.ToString(), json, StringComparison.Ordinal);
        foreach (var text in new[] { json, record, page })
            Assert.DoesNotContain("hunter2", text, StringComparison.Ordinal);
        Assert.Contains("Password=••••••••", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_rollout_page_shows_a_secret_in_the_error_masked()
    {
        var id = await App.QueryScalarAsync<Guid>($"SELECT \"Id\" FROM rollouts WHERE \"Error\" = '{HistorySeed.SecretError}'");
        using var client = App.CreateClient();
        var login = await client.GetStringAsync("/login");
        var token = System.Text.RegularExpressions.Regex.Match(System.Text.RegularExpressions.Regex.Match(login, "<input[^>]*__RequestVerificationToken[^>]*>").Value, "value=\"([^\"]+)\"").Groups[1].Value;
        await client.PostAsync("/account/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["username"] = DeployDeckApp.AdminUser, ["password"] = App.AdminPassword, ["returnUrl"] = "/", ["__RequestVerificationToken"] = token,
        }));

        // Prerendered HTML: what the browser shows before and after the circuit connects.
        var page = WebUtility.HtmlDecode(await client.GetStringAsync($"/rollouts/{id}"));

        Assert.Contains("Password=••••••••", page, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", page, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", App.WebLog, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Waiting_on_a_finished_rollout_answers_at_once()
    {
        using var viewer = Viewer();
        var id = await App.QueryScalarAsync<Guid>("SELECT \"Id\" FROM rollouts WHERE \"State\" = 'Failed' LIMIT 1");

        var clock = Stopwatch.StartNew();
        var rollout = await viewer.GetFromJsonAsync<JsonElement>($"/api/rollouts/{id}?wait=60");

        Assert.Equal("Failed", rollout.GetProperty("state").GetString());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("-1")]
    [InlineData("121")]
    public async Task A_bad_wait_is_a_400_naming_wait(string wait)
    {
        using var viewer = Viewer();
        var id = await App.QueryScalarAsync<Guid>("SELECT \"Id\" FROM rollouts LIMIT 1");

        var response = await viewer.GetAsync($"/api/rollouts/{id}?wait={wait}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("wait", out _));
    }

    [Fact]
    public async Task Waiting_on_a_running_rollout_returns_when_it_ends_or_when_the_wait_is_over()
    {
        using var viewer = Viewer();
        // A rollout the engine is not driving: the test plays the Worker by writing its end.
        var id = await App.QueryScalarAsync<Guid>($"""
            INSERT INTO rollouts ("Id", "PlanId", "PlanRevisionId", "HostId", "State", "CurrentPhase", "StartedBy", "CreatedAt")
            SELECT gen_random_uuid(), "PlanId", "Id", '{Seed.Hosts[2]}', 'Running', 0, 'ci', now() FROM plan_revisions WHERE "PlanId" = '{Seed.Plans[1]}' LIMIT 1
            RETURNING "Id"
            """);

        try
        {
            await WaitOnAsync(viewer, id);
        }
        finally
        {
            // The fixture's other tests count exactly the seeded 10 000.
            await App.QueryScalarAsync<int>($"WITH d AS (DELETE FROM rollouts WHERE \"Id\" = '{id}' RETURNING 1) SELECT count(*)::int FROM d");
        }
    }

    private async Task WaitOnAsync(HttpClient viewer, Guid id)
    {
        var timedOut = Stopwatch.StartNew();
        var still = await viewer.GetFromJsonAsync<JsonElement>($"/api/rollouts/{id}?wait=2");
        timedOut.Stop();
        Assert.Equal("Running", still.GetProperty("state").GetString());
        Assert.InRange(timedOut.Elapsed, TimeSpan.FromSeconds(1.9), TimeSpan.FromSeconds(20));

        var waiting = Stopwatch.StartNew();
        var poll = viewer.GetFromJsonAsync<JsonElement>($"/api/rollouts/{id}?wait=60");
        await Task.Delay(TimeSpan.FromSeconds(2));
        await App.QueryScalarAsync<int>($"UPDATE rollouts SET \"State\" = 'Succeeded', \"FinishedAt\" = now() WHERE \"Id\" = '{id}' RETURNING 1");
        var ended = await poll;

        Assert.Equal("Succeeded", ended.GetProperty("state").GetString());
        Assert.InRange(waiting.Elapsed, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task The_weekly_report_counts_each_hosts_iso_week()
    {
        using var viewer = Viewer();
        var from = new DateTimeOffset(2026, 1, 5, 0, 0, 0, TimeSpan.Zero); // Monday of 2026-W02
        var week = Seed.Rows.Where(r => r.CreatedAt >= from && r.CreatedAt < from.AddDays(7) && r.Host == Seed.Hosts[1]).ToList();

        var report = await viewer.GetFromJsonAsync<JsonElement>($"/api/reports/weekly?from=2026-01-05&to=2026-01-12&hostId={Seed.Hosts[1]}");

        var row = Assert.Single(report.EnumerateArray());
        Assert.Equal(("history-h1", "2026-W02"), (row.GetProperty("host").GetString(), row.GetProperty("week").GetString()));
        Assert.Equal(week.Count, row.GetProperty("rollouts").GetInt32());
        Assert.Equal(week.Count(r => r.State == "Succeeded"), row.GetProperty("succeeded").GetInt32());
        Assert.Equal(week.Count(r => r.State == "RolledBack"), row.GetProperty("rolledBack").GetInt32());
        Assert.Equal((double)week.Count(r => r.State == "Succeeded") / week.Count, row.GetProperty("successRate").GetDouble(), 6);
        Assert.Equal(HttpStatusCode.BadRequest, (await viewer.GetAsync("/api/reports/weekly?from=whenever")).StatusCode);
    }

    [Fact]
    public async Task History_needs_a_sign_in()
    {
        using var anonymous = App.CreateClient();

        var response = await anonymous.GetAsync("/api/rollouts?state=failed");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
