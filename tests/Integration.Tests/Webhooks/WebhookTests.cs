using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeployDeck.Domain.History;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;
using DeployDeck.Integration.Tests.Api;
using DeployDeck.Tests.Shared;

namespace DeployDeck.Integration.Tests.Webhooks;

/// <summary>Webhooks end to end: real rollouts, the Worker's dispatcher and Hangfire jobs, a receiver on loopback.</summary>
public sealed class WebhookTests() : AppPerClass()
{
    private static ServiceSpec Probe(string name, Dictionary<string, string>? env = null, List<GateSpec>? gates = null) => new()
    {
        Name = name,
        Image = "deploydeck/probe:latest",
        Environment = env ?? [],
        Resources = new ResourceLimits(MemorySize.Parse("64m"), null, null, CpuShare.Parse("0.25")),
        HealthCheck = ProbeSpecs.Health(3, TimeSpan.FromSeconds(30)),
        Gates = gates ?? [],
    };

    private async Task<(Guid Id, string Secret)> CreateWebhookAsync(HttpClient client, string name, string url, Guid? planId, params string[] events)
    {
        var response = await client.PostAsJsonAsync("/api/webhooks", new { name, url, planId, events });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.Created, body.ToString());
        return (body.GetProperty("webhook").GetProperty("id").GetGuid(), body.GetProperty("secret").GetString()!);
    }

    private async Task<JsonElement> RollOutAsync(HttpClient client, Guid planId)
    {
        var started = await client.PostAsJsonAsync("/api/rollouts", new { planId, hostId = await App.HostIdAsync() });
        Assert.True(started.StatusCode == HttpStatusCode.Created, await started.Content.ReadAsStringAsync());
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        return await RolloutApiTests.WaitForFinalAsync(client, id, TimeSpan.FromMinutes(3));
    }

    [Fact]
    public async Task A_finished_rollout_is_told_once_signed_to_the_webhooks_of_its_plan_only()
    {
        await using var receiver = new WebhookReceiver();
        await using var other = new WebhookReceiver();
        var planId = await App.SeedPlanAsync("hooked", new PlanSpec([new PhaseSpec { Name = "core", Services = [Probe("web")] }]));
        var otherPlan = await App.SeedPlanAsync("not-hooked", new PlanSpec([new PhaseSpec { Name = "core", Services = [Probe("web")] }]));
        using var op = App.CreateClient(await App.TokenAsync("hook-op", await App.CreateUserAsync("hook-op", "Operator")));
        var (hookId, secret) = await CreateWebhookAsync(op, "chat", receiver.Url, planId, WebhookEvents.All.ToArray());
        await CreateWebhookAsync(op, "elsewhere", other.Url, otherPlan, WebhookEvents.All.ToArray());

        var rollout = await RollOutAsync(op, planId);
        Assert.True(rollout.GetProperty("state").GetString() == "Succeeded", $"{rollout}\n--- worker ---\n{App.WorkerLog}");
        var received = await receiver.WaitForAsync(r => r.Count >= 1, TimeSpan.FromSeconds(60));
        await Task.Delay(TimeSpan.FromSeconds(8)); // several dispatcher passes: a duplicate would arrive now
        received = receiver.Requests.ToList();

        var delivery = Assert.Single(received);
        Assert.True(WebhookEvents.Verify(secret, delivery.Body, delivery.Signature), $"signature {delivery.Signature} does not match the body");
        Assert.Equal("rollout-finished", delivery.Event);
        var payload = JsonDocument.Parse(delivery.Body).RootElement;
        Assert.Contains("hooked rev 1 on local: finished", payload.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Equal(rollout.GetProperty("id").GetGuid(), payload.GetProperty("rollout").GetProperty("id").GetGuid());
        Assert.Equal("Succeeded", payload.GetProperty("rollout").GetProperty("state").GetString());
        Assert.Empty(other.Requests);

        var deliveries = await op.GetFromJsonAsync<JsonElement>($"/api/webhooks/{hookId}/deliveries");
        var recorded = Assert.Single(deliveries.EnumerateArray());
        Assert.Equal((200, 1), (recorded.GetProperty("lastStatus").GetInt32(), recorded.GetProperty("attempts").GetInt32()));
        Assert.Equal(delivery.Delivery, recorded.GetProperty("id").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture));
        var listed = await op.GetStringAsync("/api/webhooks");
        Assert.DoesNotContain(secret, listed, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, App.WebLog + App.WorkerLog, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failed_phase_and_its_rollback_are_two_messages_and_a_500_is_retried_until_answered()
    {
        await using var receiver = new WebhookReceiver(failFirst: 1);
        var noisy = Probe("noisy", new Dictionary<string, string> { ["PROBE_ERROR_EVERY"] = "1", ["PROBE_START_DELAY"] = "3" },
            [new GateSpec { Kind = GateKind.Logs, Pattern = "ERROR", WindowSeconds = 60 }]);
        var planId = await App.SeedPlanAsync("hooked-fail", new PlanSpec([new PhaseSpec { Name = "core", Services = [noisy] }]));
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        var (hookId, secret) = await CreateWebhookAsync(admin, "oncall", receiver.Url, planId, WebhookEvents.PhaseFailed, WebhookEvents.RolledBack, WebhookEvents.RolloutFinished);

        var rollout = await RollOutAsync(admin, planId);
        Assert.True(rollout.GetProperty("state").GetString() == "RolledBack", $"{rollout}\n--- worker ---\n{App.WorkerLog}");
        var received = await receiver.WaitForAsync(r => r.Count(x => x.Answered == 200) >= 2, TimeSpan.FromSeconds(120));
        await Task.Delay(TimeSpan.FromSeconds(8));
        received = receiver.Requests.ToList();

        Assert.True(received.Count == 3, string.Join("\n", received.Select(r => $"{r.At:HH:mm:ss} {r.Event} #{r.Delivery} → {r.Answered}")) + $"\n--- worker ---\n{App.WorkerLog}");
        Assert.Equal(500, received[0].Answered);
        var retried = received.Where(r => r.Delivery == received[0].Delivery).ToList();
        Assert.Equal([500, 200], retried.Select(r => r.Answered));
        Assert.Equal(retried[0].Body, retried[1].Body);
        Assert.True(retried[1].At - retried[0].At >= TimeSpan.FromSeconds(9), "the retry waits out its backoff");
        Assert.Equal(["phase-failed", "rolled-back"], received.Where(r => r.Answered == 200).Select(r => r.Event).Order());
        Assert.All(received, r => Assert.True(WebhookEvents.Verify(secret, r.Body, r.Signature)));

        var deliveries = (await admin.GetFromJsonAsync<JsonElement>($"/api/webhooks/{hookId}/deliveries")).EnumerateArray().ToList();
        Assert.Equal(2, deliveries.Count);
        Assert.All(deliveries, d => Assert.Equal(200, d.GetProperty("lastStatus").GetInt32()));
        Assert.Equal([1, 2], deliveries.Select(d => d.GetProperty("attempts").GetInt32()).Order());
    }

    [Fact]
    public async Task Webhooks_are_for_operators_and_bad_ones_are_refused_with_the_reason()
    {
        using var viewer = App.CreateClient(await App.TokenAsync("hook-viewer", await App.CreateUserAsync("hook-viewer", "Viewer")));
        using var admin = App.CreateClient(await App.AdminTokenAsync());

        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.GetAsync("/api/webhooks")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsJsonAsync("/api/webhooks", new { name = "x", url = "http://127.0.0.1:1/", events = new[] { "rollout-finished" } })).StatusCode);
        foreach (var (body, expected) in new (object, string)[]
        {
            (new { name = "x", url = "ftp://example.com/", events = new[] { "rollout-finished" } }, "http"),
            (new { name = "x", url = "http://user:pw@example.com/", events = new[] { "rollout-finished" } }, "user:password"),
            (new { name = "x", url = "http://example.com/", events = new[] { "rollout-exploded" } }, "rollout-exploded"),
            (new { name = "", url = "http://example.com/", events = new[] { "rollout-finished" } }, "name"),
        })
        {
            var response = await admin.PostAsJsonAsync("/api/webhooks", body);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains(expected, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(0L, await App.QueryScalarAsync<long>("SELECT count(*) FROM webhooks WHERE \"Name\" IN ('x', '')"));
    }
}
