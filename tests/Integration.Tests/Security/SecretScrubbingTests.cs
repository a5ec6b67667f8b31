using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using DeployDeck.Domain.Plans;
using DeployDeck.Integration.Tests.Api;

namespace DeployDeck.Integration.Tests.Security;

/// <summary>
/// Secrets by key and by origin, on the real engine: masked wherever the plan is shown, and scrubbed from what a gate
/// prints before it becomes an event, a service's detail, a log line or a page.
/// </summary>
public sealed class SecretScrubbingTests() : AppPerClass()
{
    [Fact]
    public async Task A_gate_that_prints_the_services_secrets_leaves_none_of_them_in_events_records_or_logs()
    {
        const string byKey = "sekrit-by-key-7788";
        const string byOrigin = "internal-only-host-4455";
        var service = Probe("leaky") with
        {
            Environment = new Dictionary<string, string> { ["DB_PWD"] = byKey, ["UPSTREAM"] = byOrigin },
            SecretFields = ["environment.UPSTREAM"],
            Restart = RestartPolicy.No,
            Gates = [new GateSpec { Kind = GateKind.Exec, Command = ["/bin/sh", "-c", "echo pw $DB_PWD; echo to $UPSTREAM; env; exit 1"] }],
        };
        var planId = await App.SeedPlanAsync("leaky", new PlanSpec([new PhaseSpec { Name = "core", Services = [service] }]));
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        var started = await admin.PostAsJsonAsync("/api/rollouts", new { planId, hostId = await App.HostIdAsync() });
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        var rollout = await RolloutApiTests.WaitForFinalAsync(admin, id, TimeSpan.FromMinutes(2));

        var failed = rollout.GetProperty("events").EnumerateArray().First(e => e.GetProperty("kind").GetString() == "gate.failed").GetProperty("message").GetString()!;
        Assert.Contains("exit 1: pw ••••••••", failed, StringComparison.Ordinal);
        var everything = new[]
        {
            rollout.ToString(), await admin.GetStringAsync($"/api/rollouts/{id}/record"), await admin.GetStringAsync($"/api/rollouts/export.csv?planId={planId}"),
            await App.QueryScalarAsync<string>($"SELECT string_agg(\"Message\", ' ') FROM rollout_events WHERE \"RolloutId\" = '{id}'"),
            await App.QueryScalarAsync<string>($"SELECT coalesce(string_agg(coalesce(\"Detail\", ''), ' '), '') FROM rollout_services WHERE \"RolloutId\" = '{id}'"),
            App.WorkerLog, App.WebLog,
        };
        foreach (var text in everything)
        {
            Assert.DoesNotContain(byKey, text, StringComparison.Ordinal);
            Assert.DoesNotContain(byOrigin, text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Values_from_env_and_values_substituted_into_commands_and_gates_are_masked_whatever_their_key()
    {
        const string compose = """
            services:
              api:
                image: nginx:1.27
                mem_limit: 64m
                cpus: 0.5
                command: ["serve", "--upstream", "${UPSTREAM}", "--flag=${FLAG}"]
                environment:
                  - PASSED_THROUGH
                  - PLAIN=visible-value
                x-deploydeck:
                  gates:
                    - http: "http://127.0.0.1:8080/health?key=${GATE_KEY}"
            """;
        const string env = "UPSTREAM=internal-upstream-9911\nFLAG=flag-value-3322\nPASSED_THROUGH=from-dotenv-5566\nGATE_KEY=gate-key-1177\n";
        using var admin = App.CreateClient(await App.AdminTokenAsync());

        var imported = await admin.PostAsJsonAsync("/api/plans/import", new { name = "by-origin", files = new[] { new { name = "docker-compose.yml", content = compose } }, env });
        var body = await imported.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.Created, imported.StatusCode);
        var planId = (string)JsonNode.Parse(body)!["plan"]!["id"]!;
        var shown = body + await admin.GetStringAsync($"/api/plans/{planId}");

        foreach (var secret in new[] { "internal-upstream-9911", "flag-value-3322", "from-dotenv-5566", "gate-key-1177" })
            Assert.DoesNotContain(secret, shown, StringComparison.Ordinal);
        Assert.Contains("visible-value", shown, StringComparison.Ordinal);
        Assert.Contains("\"serve\"", shown, StringComparison.Ordinal);
        var stored = await App.QueryScalarAsync<string>($"SELECT s.\"Command\"::text || s.\"Environment\"::text FROM service_specs s JOIN plan_phases p ON p.\"Id\" = s.\"PhaseId\" JOIN plan_revisions r ON r.\"Id\" = p.\"RevisionId\" WHERE r.\"PlanId\" = '{planId}'");
        Assert.Contains("internal-upstream-9911", stored, StringComparison.Ordinal);
        Assert.Contains("from-dotenv-5566", stored, StringComparison.Ordinal);

        // The document sent back as it was shown keeps every stored value, and a real change is a new revision.
        var document = JsonNode.Parse(await admin.GetStringAsync($"/api/plans/{planId}"))!;
        document["baseRevision"] = 1;
        var same = await admin.PutAsJsonAsync($"/api/plans/{planId}", document);
        var sameRevision = (int)JsonNode.Parse(await same.Content.ReadAsStringAsync())!["revision"]!;
        Assert.True(sameRevision == 1, $"the unchanged document made revision {sameRevision}: {(sameRevision == 2 ? await admin.GetStringAsync($"/api/plans/{planId}/revisions/compare?from=1&to=2") : "")}");
        document["phases"]![0]!["services"]![0]!["labels"] = new JsonObject { ["team"] = "ops" };
        var changed = await admin.PutAsJsonAsync($"/api/plans/{planId}", document);
        Assert.Equal(2, (int)JsonNode.Parse(await changed.Content.ReadAsStringAsync())!["revision"]!);
        Assert.Contains("internal-upstream-9911", await App.QueryScalarAsync<string>($"SELECT s.\"Command\"::text FROM service_specs s JOIN plan_phases p ON p.\"Id\" = s.\"PhaseId\" JOIN plan_revisions r ON r.\"Id\" = p.\"RevisionId\" WHERE r.\"PlanId\" = '{planId}' AND r.\"Number\" = 2"), StringComparison.Ordinal);
        var diff = await admin.GetStringAsync($"/api/plans/{planId}/revisions/compare?from=1&to=2");
        Assert.Contains("labels team", diff, StringComparison.Ordinal);
    }
}
