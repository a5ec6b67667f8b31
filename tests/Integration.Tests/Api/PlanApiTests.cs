using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using DeployDeck.Tests.Shared;

namespace DeployDeck.Integration.Tests.Api;

[Collection(AppCollection.Name)]
public sealed class PlanApiTests(AppFixture fixture)
{
    private DeployDeckApp App => fixture.App;

    private static string Corpus(string path) => File.ReadAllText(Path.Combine(DeployDeckApp.RepoRoot, "tests", "Compose.Tests", "Corpus", path));

    /// <remarks>The stack mounts the Docker socket into traefik: only an Admin may import it, with a reason.</remarks>
    private static object BigStack(string name, string? hostAccessReason = "traefik reads the engine to route") => new
    {
        name,
        files = new[] { new { name = "docker-compose.yml", content = Corpus("big-stack/docker-compose.yml") } },
        env = Corpus("big-stack/.env"),
        profiles = new[] { "debug" },
        hostAccessReason,
    };

    private async Task<HttpClient> OperatorAsync(string name)
    {
        var password = await App.CreateUserAsync(name, "Operator");
        return App.CreateClient(await App.TokenAsync(name, password));
    }

    [Fact]
    public async Task Import_of_a_44_service_stack_gives_five_phases_warnings_and_masked_secrets()
    {
        using var operatorClient = await OperatorAsync("plan-op-1");
        var refused = await operatorClient.PostAsJsonAsync("/api/plans/import", BigStack("acme", hostAccessReason: null));
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("/var/run/docker.sock", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var op = App.CreateClient(await App.AdminTokenAsync());
        var response = await op.PostAsJsonAsync("/api/plans/import", BigStack("acme"));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var body = await response.Content.ReadAsStringAsync();
        var imported = JsonNode.Parse(body)!;

        var phases = imported["plan"]!["phases"]!.AsArray();
        Assert.Equal(["core", "business", "analytics", "advanced", "observability"], phases.Select(p => (string)p!["name"]!));
        Assert.Equal(44, phases.Sum(p => p!["services"]!.AsArray().Count));
        Assert.Contains(imported["warnings"]!.AsArray(), w => ((string)w!["message"]!).Contains("has no memory limit", StringComparison.Ordinal));

        var secret = Corpus("big-stack/.env").Split('\n').First(l => l.StartsWith("POSTGRES_PASSWORD=", StringComparison.Ordinal))["POSTGRES_PASSWORD=".Length..].Trim();
        Assert.DoesNotContain(secret, body, StringComparison.Ordinal);
        var id = (string)imported["plan"]!["id"]!;
        Assert.DoesNotContain(secret, await op.GetStringAsync($"/api/plans/{id}"), StringComparison.Ordinal);
        Assert.Contains(secret, await App.QueryScalarAsync<string>($"SELECT s.\"Environment\"::text FROM service_specs s JOIN plan_phases p ON p.\"Id\" = s.\"PhaseId\" JOIN plan_revisions r ON r.\"Id\" = p.\"RevisionId\" WHERE r.\"PlanId\" = '{id}' AND s.\"Name\" = 'postgres'"), StringComparison.Ordinal);

        var revisions = await op.GetFromJsonAsync<JsonElement>($"/api/plans/{id}/revisions");
        Assert.Equal(1, revisions.GetArrayLength());
        Assert.Contains("imported from docker-compose.yml", revisions[0].GetProperty("comment").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Put_saves_a_new_revision_keeps_masked_secrets_and_refuses_a_stale_base()
    {
        using var op = App.CreateClient(await App.AdminTokenAsync());
        var imported = JsonNode.Parse(await (await op.PostAsJsonAsync("/api/plans/import", BigStack("acme-edit"))).Content.ReadAsStringAsync())!;
        var id = (string)imported["plan"]!["id"]!;
        var plan = JsonNode.Parse(await op.GetStringAsync($"/api/plans/{id}"))!;

        // Move "dashboard" to analytics and raise its limit; everything else goes back as it came, masks included.
        var phases = plan["phases"]!.AsArray();
        var from = phases.Single(p => p!["services"]!.AsArray().Any(s => (string)s!["name"]! == "dashboard"))!;
        var dashboard = from["services"]!.AsArray().Single(s => (string)s!["name"]! == "dashboard")!;
        from["services"]!.AsArray().Remove(dashboard);
        dashboard["memoryLimitBytes"] = 768L * 1024 * 1024;
        dashboard["memorySwapBytes"] = 768L * 1024 * 1024;
        phases.Single(p => (string)p!["name"]! == "analytics")!["services"]!.AsArray().Add(dashboard);
        var update = new JsonObject
        {
            ["baseRevision"] = 1, ["comment"] = "dashboard after analytics", ["phases"] = phases.DeepClone(), ["hostAccessReason"] = "traefik reads the engine to route",
        };

        var saved = await op.PutAsJsonAsync($"/api/plans/{id}", update);
        Assert.True(saved.StatusCode == HttpStatusCode.OK, await saved.Content.ReadAsStringAsync());
        var revision2 = JsonNode.Parse(await saved.Content.ReadAsStringAsync())!;
        Assert.Equal(2, (int)revision2["revision"]!);
        Assert.Contains(revision2["phases"]!.AsArray().Single(p => (string)p!["name"]! == "analytics")!["services"]!.AsArray(), s => (string)s!["name"]! == "dashboard");

        var changes = await op.GetFromJsonAsync<JsonElement>($"/api/plans/{id}/revisions/compare?from=1&to=2");
        var texts = changes.EnumerateArray().Select(c => $"{c.GetProperty("where").GetString()} {c.GetProperty("what").GetString()} {c.GetProperty("after").GetString()}").ToList();
        Assert.Contains("service dashboard phase analytics", texts);
        Assert.Contains("service dashboard memory limit 768 MB", texts);
        Assert.Contains("service dashboard memory+swap 768 MB", texts);
        // The Admin's allowance of the socket mount is given again with this save (who, when, why): a change of its own.
        Assert.True(texts.Count(t => !t.StartsWith("plan host", StringComparison.OrdinalIgnoreCase)) == 3, string.Join(" | ", texts));

        var secrets = await App.QueryScalarAsync<long>($"SELECT count(*) FROM service_specs s JOIN plan_phases p ON p.\"Id\" = s.\"PhaseId\" JOIN plan_revisions r ON r.\"Id\" = p.\"RevisionId\" WHERE r.\"PlanId\" = '{id}' AND s.\"Environment\"::text LIKE '%••••%'");
        Assert.Equal(0L, secrets);

        var stale = await op.PutAsJsonAsync($"/api/plans/{id}", update);
        Assert.Equal(HttpStatusCode.Conflict, stale.StatusCode);
        Assert.Contains("revision 2 was saved since", await stale.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_plans_are_refused_with_the_problem_named_and_nothing_saved()
    {
        using var op = await OperatorAsync("plan-op-3");
        var before = await App.QueryScalarAsync<long>("SELECT count(*) FROM plan_revisions");

        async Task<(HttpStatusCode Status, string Body)> Import(string yaml, string name = "bad")
        {
            var r = await op.PostAsJsonAsync("/api/plans/import", new { name, files = new[] { new { name = "docker-compose.yml", content = yaml } } });
            return (r.StatusCode, await r.Content.ReadAsStringAsync());
        }

        var malformed = await Import("services:\n  web:\n    image: nginx\n   ports: [80\n");
        Assert.Equal(HttpStatusCode.BadRequest, malformed.Status);
        Assert.Contains("docker-compose.yml line 4", malformed.Body, StringComparison.Ordinal);

        var cycle = await Import("services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [a]}\n");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, cycle.Status);
        Assert.Contains("dependency cycle", cycle.Body, StringComparison.Ordinal);

        var absurd = await Import("services:\n  a: {image: x, mem_limit: 12XB}\n");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, absurd.Status);
        Assert.Contains("12XB", absurd.Body, StringComparison.Ordinal);

        var missing = await Import("services:\n  a: {image: \"x:${TAG:?set TAG}\"}\n");
        Assert.Equal(HttpStatusCode.BadRequest, missing.Status);
        Assert.Contains("TAG", missing.Body, StringComparison.Ordinal);

        foreach (var body in new[] { malformed.Body, cycle.Body, absurd.Body, missing.Body })
            Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);

        var huge = new string('#', 13 * 1024 * 1024);
        // Expect: 100-continue lets the server refuse by Content-Length before the client sends 13 MB it won't read.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/plans/import")
        {
            Content = new StringContent($"{{\"name\":\"x\",\"files\":[{{\"name\":\"a\",\"content\":\"{huge}\"}}]}}", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.ExpectContinue = true;
        var tooLarge = await op.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);

        var oversizeFile = await Import("# " + new string('x', 600 * 1024) + "\nservices:\n  a: {image: x}\n");
        Assert.Equal(HttpStatusCode.BadRequest, oversizeFile.Status);
        Assert.Contains("512 KiB", oversizeFile.Body, StringComparison.Ordinal);

        Assert.Equal(before, await App.QueryScalarAsync<long>("SELECT count(*) FROM plan_revisions"));
        Assert.Equal(0L, await App.QueryScalarAsync<long>("SELECT count(*) FROM plans WHERE \"Name\" = 'bad'"));

        var ok = await Import("services:\n  a: {image: x, mem_limit: 64m}\n", "good-once");
        Assert.Equal(HttpStatusCode.Created, ok.Status);
        var again = await Import("services:\n  a: {image: x, mem_limit: 64m}\n", "good-once");
        Assert.Equal(HttpStatusCode.Conflict, again.Status);

        var id = (string)JsonNode.Parse(ok.Body)!["plan"]!["id"]!;
        var plan = JsonNode.Parse(await op.GetStringAsync($"/api/plans/{id}"))!;
        plan["phases"]![0]!["services"]![0]!["memoryLimitBytes"] = -5;
        var negative = await op.PutAsJsonAsync($"/api/plans/{id}", new JsonObject { ["baseRevision"] = 1, ["phases"] = plan["phases"]!.DeepClone() });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, negative.StatusCode);
        Assert.Contains("memory limit of -5 bytes", await negative.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Viewer_reads_and_exports_but_cannot_import_or_save()
    {
        var password = await App.CreateUserAsync("plan-viewer", "Viewer");
        using var viewer = App.CreateClient(await App.TokenAsync("plan-viewer", password));
        var denied = await viewer.PostAsJsonAsync("/api/plans/import", new { name = "v", files = new[] { new { name = "a.yml", content = "services:\n  a: {image: x}\n" } } });
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);

        var plans = await viewer.GetFromJsonAsync<JsonElement>("/api/plans");
        var demo = plans.EnumerateArray().Single(p => p.GetProperty("name").GetString() == "demo").GetProperty("id").GetGuid();
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PutAsJsonAsync($"/api/plans/{demo}", new { baseRevision = 1, phases = Array.Empty<object>() })).StatusCode);

        var export = await viewer.GetAsync($"/api/plans/{demo}/export");
        Assert.Equal(HttpStatusCode.OK, export.StatusCode);
        var yaml = await export.Content.ReadAsStringAsync();
        Assert.Contains("mem_limit:", yaml, StringComparison.Ordinal);
        Assert.Contains("healthcheck:", yaml, StringComparison.Ordinal);
    }
}
