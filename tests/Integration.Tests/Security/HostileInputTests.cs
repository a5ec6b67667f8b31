using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using DeployDeck.Tests.Shared;

namespace DeployDeck.Integration.Tests.Security;

/// <summary>
/// What an attacker with an Admin's or Operator's token sends, against a running Web (no Worker needed): malformed JSON,
/// wrong types, huge strings, deep nesting, YAML bombs and amplification, NUL, control and bidi characters, absurd
/// numbers, traversal and shell strings, duplicate keys, null items, hostile queries. Every case must answer a 4xx whose
/// problem details name the field and the reason, store nothing (tables compared before and after), never show a stack
/// trace, and leave Web alive. At the end the log must not hold the secret planted in the plan.
/// </summary>
public sealed class HostileInputTests(HostileInputFixture fixture) : IClassFixture<HostileInputFixture>
{
    public static TheoryData<string> Cases() => new(HostileCases.All.Keys.Order(StringComparer.Ordinal));

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Hostile_input_is_refused_naming_the_field_and_nothing_is_stored(string id)
    {
        var hostile = HostileCases.All[id];
        var request = hostile.Build(fixture.Context);
        var before = await fixture.SnapshotAsync();

        using var message = new HttpRequestMessage(new HttpMethod(request.Method), request.Path);
        if (request.Body is not null)
            message.Content = new ByteArrayContent(request.Body) { Headers = { ContentType = MediaTypeHeaderValue.Parse(request.ContentType) } };
        using var response = await fixture.Admin.SendAsync(message);
        var body = await response.Content.ReadAsStringAsync();

        var status = (int)response.StatusCode;
        Assert.True(status is >= 400 and < 500 and not 401 and not 403, $"{id}: {request.Method} {request.Path} answered {status}: {Cut(body)}");
        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
        var problem = JsonNode.Parse(body)!;
        var said = Reasons(problem);
        Assert.False(string.IsNullOrWhiteSpace((string?)problem["detail"]), $"{id}: no detail in {Cut(body)}");
        Assert.True(request.Fields.Any(f => said.Contains(f, StringComparison.OrdinalIgnoreCase)),
            $"{id}: the answer names none of [{string.Join(", ", request.Fields)}]: {Cut(body)}");

        Assert.Equal(before, await fixture.SnapshotAsync());
        await fixture.AssertAliveAsync();
    }

    [Fact]
    public async Task The_planted_secret_never_reaches_the_log_or_an_answer()
    {
        // Runs with the cases (same app): the secret was in the plan every PUT case started from.
        foreach (var id in HostileCases.All.Keys.Where(k => k.StartsWith("put-", StringComparison.Ordinal)).Take(40))
        {
            var request = HostileCases.All[id].Build(fixture.Context);
            using var message = new HttpRequestMessage(new HttpMethod(request.Method), request.Path);
            if (request.Body is not null)
                message.Content = new ByteArrayContent(request.Body) { Headers = { ContentType = MediaTypeHeaderValue.Parse(request.ContentType) } };
            using var response = await fixture.Admin.SendAsync(message);
            Assert.DoesNotContain(HostileFixtureData.Secret, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.DoesNotContain(HostileFixtureData.Secret, fixture.App.WebLog, StringComparison.Ordinal);
        Assert.DoesNotContain(HostileFixtureData.Secret, await fixture.Admin.GetStringAsync($"/api/plans/{fixture.Context.PlanId}"), StringComparison.Ordinal);
    }

    private static string Reasons(JsonNode problem)
    {
        var text = new StringBuilder((string?)problem["detail"]).Append('\n').Append((string?)problem["title"]);
        if (problem["errors"] is JsonObject errors)
        {
            foreach (var (key, value) in errors)
                text.Append('\n').Append(key).Append(": ").Append(value?.ToJsonString());
        }

        if (problem["issues"] is JsonArray issues)
        {
            foreach (var issue in issues)
                text.Append('\n').Append((string?)issue?["message"]).Append(' ').Append((string?)issue?["service"]);
        }

        return text.ToString();
    }

    private static string Cut(string s) => s.Length > 600 ? s[..600] + "…" : s;
}

/// <summary>The catalogue itself, without an app: its size and its categories.</summary>
public sealed class HostileCaseCatalogueTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public void There_are_at_least_five_hundred_cases_in_every_category()
    {
        Assert.True(HostileCases.All.Count >= 500, $"{HostileCases.All.Count} cases");
        foreach (var category in HostileCases.Categories)
        {
            var count = HostileCases.All.Values.Count(c => c.Category == category);
            output.WriteLine($"{category}: {count}");
            Assert.True(count > 0, category);
        }
    }
}

public static class HostileFixtureData
{
    public const string Secret = "planted-secret-zebra-4711";

    public const string Compose = """
        services:
          db:
            image: postgres:16
            mem_limit: 128m
            cpus: 0.5
          web:
            image: nginx:1.27
            mem_limit: 64m
            cpus: 0.5
            command: ["nginx", "-g", "daemon off;"]
            depends_on: [db]
            environment:
              DB_PASSWORD: planted-secret-zebra-4711
              GREETING: hello
            labels:
              team: ops
            healthcheck:
              test: ["CMD", "true"]
              interval: 10s
            x-deploydeck:
              gates:
                - http: http://127.0.0.1:8080/health
        """;
}

/// <summary>What a case needs of the running app: ids, the plan's document, where the web service sits in it.</summary>
/// <param name="Db">Where the db service sits: it has no secrets, so renaming it reaches the name rules (renaming web asks for its secrets again).</param>
public sealed record HostileContext(Guid PlanId, int Revision, JsonNode Document, int Phase, int Service, string Db, string UserId, Guid HostId, Guid RolloutId)
{
    public string Web => $"phases[{Phase}].services[{Service}]";
}

public sealed class HostileInputFixture : IAsyncLifetime
{
    public DeployDeckApp App { get; private set; } = null!;

    public HttpClient Admin { get; private set; } = null!;

    public HostileContext Context { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        // Sign-in failures are part of the cases: the throttle must not turn them into 429s.
        App = await DeployDeckApp.StartAsync(startWorker: false, new Dictionary<string, string>
        {
            ["Auth__FailedLoginsPerWindow"] = "100000",
            ["Auth__FailedLoginsPerUser"] = "100000",
        });
        Admin = App.CreateClient(await App.AdminTokenAsync());
        var imported = await Admin.PostAsJsonAsync("/api/plans/import", new { name = "hostile-base", files = new[] { new { name = "docker-compose.yml", content = HostileFixtureData.Compose } } });
        var plan = JsonNode.Parse(await imported.Content.ReadAsStringAsync())!;
        if (imported.StatusCode != HttpStatusCode.Created)
            throw new InvalidOperationException($"import → {(int)imported.StatusCode}: {plan.ToJsonString()}");
        var planId = (Guid)plan["plan"]!["id"]!;
        var document = JsonNode.Parse(await Admin.GetStringAsync($"/api/plans/{planId}"))!;
        var phases = document["phases"]!.AsArray();
        (int Phase, int Service) Find(string name) => (from pi in Enumerable.Range(0, phases.Count)
                                                      let services = phases[pi]!["services"]!.AsArray()
                                                      from si in Enumerable.Range(0, services.Count)
                                                      where (string?)services[si]!["name"] == name
                                                      select (pi, si)).First();
        var (p, s) = Find("web");
        var db = Find("db");
        await App.CreateUserAsync("hostile-target", "Viewer");
        var users = JsonNode.Parse(await Admin.GetStringAsync("/api/users"))!.AsArray();
        var userId = (string)users.First(u => (string?)u!["username"] == "hostile-target")!["id"]!;
        Context = new HostileContext(planId, (int)document["revision"]!, document, p, s, $"phases[{db.Phase}].services[{db.Service}]", userId, await App.HostIdAsync(), Guid.NewGuid());
    }

    /// <summary>Everything a refused request could have changed, in one line: row counts and digests of the mutable rows.</summary>
    public Task<string> SnapshotAsync() => App.QueryScalarAsync<string>("""
        SELECT concat_ws('|',
          (SELECT count(*) FROM plans), (SELECT count(*) FROM plan_revisions), (SELECT count(*) FROM service_specs),
          (SELECT count(*) FROM webhooks), (SELECT count(*) FROM api_tokens), (SELECT count(*) FROM rollouts),
          (SELECT count(*) FROM "AspNetUsers"), (SELECT count(*) FROM "AspNetUserRoles"), (SELECT count(*) FROM "AspNetUserClaims"),
          (SELECT md5(coalesce(string_agg("SecurityStamp" || coalesce("PasswordHash", ''), ',' ORDER BY "Id"), '')) FROM "AspNetUsers"),
          (SELECT md5(coalesce(string_agg(coalesce("Thresholds"::text, '') || coalesce("Description", ''), ',' ORDER BY "Id"), '')) FROM hosts),
          (SELECT md5(coalesce(string_agg(coalesce("Description", '') || "Name", ',' ORDER BY "Id"), '')) FROM plans))
        """);

    public async Task AssertAliveAsync()
    {
        Assert.True(App.WebRunning, "Web exited:\n" + App.WebLog);
        using var probe = App.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await probe.GetAsync("/health/live")).StatusCode);
    }

    public async Task DisposeAsync()
    {
        Admin?.Dispose();
        if (App is not null)
            await App.DisposeAsync();
    }
}

public sealed record HostileRequest(string Method, string Path, byte[]? Body, string ContentType, string[] Fields);

public sealed record HostileCase(string Category, Func<HostileContext, HostileRequest> Build);
