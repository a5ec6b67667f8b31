using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeployDeck.Domain.Plans;
using DeployDeck.Integration.Tests.Api;

namespace DeployDeck.Integration.Tests.Rollouts;

/// <summary>A phase whose failure policy is "pause" waits for an operator: resume runs it again, from fresh containers.</summary>
public sealed class ResumeTests() : AppPerClass()
{
    [Fact]
    public async Task A_paused_rollout_resumed_by_an_operator_runs_the_failed_phase_again_and_succeeds()
    {
        // The gate asks something outside the container, so the test decides when the second attempt may pass.
        using var gate = new HttpListener();
        var port = FreePort();
        gate.Prefixes.Add($"http://127.0.0.1:{port}/");
        gate.Start();
        var healthy = false;
        var serving = Task.Run(async () =>
        {
            while (gate.IsListening)
            {
                try
                {
                    var context = await gate.GetContextAsync();
                    context.Response.StatusCode = Volatile.Read(ref healthy) ? 200 : 503;
                    context.Response.Close();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }
            }
        });

        var service = Probe("api") with { Gates = [new GateSpec { Kind = GateKind.Http, Url = $"http://127.0.0.1:{port}/ready", TimeoutSeconds = 2 }] };
        var planId = await App.SeedPlanAsync("pausing", new PlanSpec([new PhaseSpec { Name = "core", OnFailure = FailurePolicy.Pause, Services = [service] }]));
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        var started = await admin.PostAsJsonAsync("/api/rollouts", new { planId, hostId = await App.HostIdAsync() });
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        var paused = await WaitForStateAsync(admin, id, "Paused", TimeSpan.FromMinutes(3));
        Assert.Contains(Kinds(paused), k => k == "gate.failed");
        var kept = Assert.Single(await App.ContainersAsync());
        Assert.Equal("1", kept.Labels["deploydeck.attempt"]);

        var viewer = App.CreateClient(await App.TokenAsync("watcher", await App.CreateUserAsync("watcher", "Viewer")));
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsJsonAsync($"/api/rollouts/{id}/resume", new { })).StatusCode);

        Volatile.Write(ref healthy, true);
        var resumed = await admin.PostAsJsonAsync($"/api/rollouts/{id}/resume", new { reason = "the dependency is back" });
        Assert.Equal(HttpStatusCode.Accepted, resumed.StatusCode);
        var again = await admin.PostAsJsonAsync($"/api/rollouts/{id}/resume", new { });
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);

        var rollout = await RolloutApiTests.WaitForFinalAsync(admin, id, TimeSpan.FromMinutes(3));
        Assert.True(rollout.GetProperty("state").GetString() == "Succeeded", $"{rollout}\n--- worker ---\n{App.WorkerLog}");
        var kinds = Kinds(rollout);
        Assert.Equal(2, kinds.Count(k => k == "phase.started"));
        Assert.Equal(2, kinds.Count(k => k == "service.created"));
        Assert.Single(kinds, k => k == "rollout.resumed");
        Assert.Contains(rollout.GetProperty("events").EnumerateArray(), e => e.GetProperty("kind").GetString() == "service.removed"
            && e.GetProperty("message").GetString()!.Contains("of the failed attempt 1", StringComparison.Ordinal));

        var now = Assert.Single(await App.ContainersAsync());
        Assert.NotEqual(kept.ID, now.ID);
        Assert.Equal("2", now.Labels["deploydeck.attempt"]);
        var gates = rollout.GetProperty("phases")[0].GetProperty("services")[0].GetProperty("gates").EnumerateArray().ToList();
        Assert.True(Assert.Single(gates).GetProperty("passed").GetBoolean(), "the page shows the latest attempt's gates only");

        gate.Stop();
        await serving;
    }

    [Fact]
    public async Task Only_a_paused_rollout_can_be_resumed()
    {
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        var unknown = await admin.PostAsJsonAsync($"/api/rollouts/{Guid.NewGuid()}/resume", new { });
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);

        var planId = await App.SeedPlanAsync("fine", new PlanSpec([new PhaseSpec { Name = "core", Services = [Probe("ok")] }]));
        var started = await admin.PostAsJsonAsync("/api/rollouts", new { planId, hostId = await App.HostIdAsync() });
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        await RolloutApiTests.WaitForFinalAsync(admin, id, TimeSpan.FromMinutes(2));
        var response = await admin.PostAsJsonAsync($"/api/rollouts/{id}/resume", new { });
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("only a paused rollout can be resumed", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static List<string> Kinds(JsonElement rollout) =>
        rollout.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("kind").GetString()!).ToList();

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    internal static async Task<JsonElement> WaitForStateAsync(HttpClient client, Guid id, string state, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var rollout = await client.GetFromJsonAsync<JsonElement>($"/api/rollouts/{id}");
            if (rollout.GetProperty("state").GetString() == state)
                return rollout;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"rollout {id} did not reach {state}: {rollout}");
            await Task.Delay(300);
        }
    }
}
