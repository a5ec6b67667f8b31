using System.Net.Http.Json;
using System.Text.Json;
using DeployDeck.Domain.Plans;
using DeployDeck.Integration.Tests.Api;
using DeployDeck.Tests.Shared;

namespace DeployDeck.Integration.Tests.Rollouts;

/// <summary>A failed upgrade leaves the previous version running — the same containers, the same image ids — and proves it by gating them again.</summary>
public sealed class RollbackTests() : AppPerClass()
{
    private static ServiceSpec V1(string name) => Probe(name) with
    {
        Restart = new RestartPolicy(RestartMode.UnlessStopped),
        Gates = [new GateSpec { Kind = GateKind.Exec, Command = ["/bin/sh", "-c", "test -x /bin/busybox"] }],
    };

    private static ServiceSpec V2(string name, bool noisy) => V1(name) with
    {
        Image = "deploydeck/probe:v2",
        Environment = noisy ? new Dictionary<string, string> { ["PROBE_ERROR_EVERY"] = "1", ["PROBE_START_DELAY"] = "3" } : [],
        HealthCheck = ProbeSpecs.Health(3, TimeSpan.FromSeconds(30)),
        Gates = [new GateSpec { Kind = GateKind.Logs, Pattern = "ERROR", WindowSeconds = 60 }],
    };

    private async Task<JsonElement> RollOutAsync(HttpClient admin, Guid planId)
    {
        var started = await admin.PostAsJsonAsync("/api/rollouts", new { planId, hostId = await App.HostIdAsync() });
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        return await RolloutApiTests.WaitForFinalAsync(admin, id, TimeSpan.FromMinutes(3));
    }

    [Fact]
    public async Task A_failed_second_phase_rolls_back_everything_and_the_previous_version_runs_again_with_the_same_images()
    {
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        var planId = await App.SeedPlanAsync("upgrade", new PlanSpec([
            new PhaseSpec { Name = "core", Services = [V1("db")] },
            new PhaseSpec { Name = "business", OnFailure = FailurePolicy.RollbackAll, Services = [V1("auth")] },
        ]));
        var first = await RollOutAsync(admin, planId);
        Assert.True(first.GetProperty("state").GetString() == "Succeeded", first.ToString());
        var v1 = (await App.ContainersAsync()).ToDictionary(c => c.Labels["deploydeck.service"], c => (c.ID, c.ImageID));

        await App.AddRevisionAsync(planId, new PlanSpec([
            new PhaseSpec { Name = "core", Services = [V2("db", noisy: false)] },
            new PhaseSpec { Name = "business", OnFailure = FailurePolicy.RollbackAll, Services = [V2("auth", noisy: true)] },
        ]));
        var second = await RollOutAsync(admin, planId);

        Assert.True(second.GetProperty("state").GetString() == "RolledBack", $"{second}\n--- worker ---\n{App.WorkerLog}");
        var kinds = second.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("kind").GetString()).ToList();
        Assert.Contains("gate.failed", kinds);
        Assert.Equal(2, kinds.Count(k => k == "rollback.verified"));
        Assert.DoesNotContain("rollback.failed", kinds);
        Assert.Equal(2, kinds.Count(k => k == "service.restored"));

        using var docker = DeployDeck.Tests.Shared.DeployDeckApp.Docker();
        var running = await App.ContainersAsync();
        Assert.Equal(2, running.Count);
        foreach (var (service, (id, image)) in v1)
        {
            var inspect = await docker.Containers.InspectContainerAsync(id);
            Assert.True(inspect.State!.Running, $"{service} v1 is {inspect.State.Status}");
            Assert.Equal(image, inspect.Image);
        }
    }

    [Fact]
    public async Task An_abort_during_the_soak_stops_at_the_next_check_and_rolls_the_phase_back()
    {
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        var planId = await App.SeedPlanAsync("abort-me", new PlanSpec([new PhaseSpec { Name = "core", Soak = TimeSpan.FromMinutes(5), Services = [V1("cache")] }]));
        var started = await admin.PostAsJsonAsync("/api/rollouts", new { planId, hostId = await App.HostIdAsync() });
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        var deadline = DateTime.UtcNow.AddMinutes(2);
        JsonElement rollout;
        do
        {
            await Task.Delay(300);
            rollout = await admin.GetFromJsonAsync<JsonElement>($"/api/rollouts/{id}");
        }
        while (!rollout.GetProperty("events").EnumerateArray().Any(e => e.GetProperty("kind").GetString() == "phase.soaking") && DateTime.UtcNow < deadline);

        using var viewer = App.CreateClient(await App.TokenAsync("abort-viewer", await App.CreateUserAsync("abort-viewer", "Viewer")));
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, (await viewer.PostAsJsonAsync($"/api/rollouts/{id}/abort", new { })).StatusCode);

        var abort = await admin.PostAsJsonAsync($"/api/rollouts/{id}/abort", new { reason = "wrong window" });
        Assert.Equal(System.Net.HttpStatusCode.Accepted, abort.StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.Conflict, (await admin.PostAsJsonAsync($"/api/rollouts/{id}/abort", new { })).StatusCode);

        var final = await RolloutApiTests.WaitForFinalAsync(admin, id, TimeSpan.FromSeconds(60));
        Assert.Equal("Aborted", final.GetProperty("state").GetString());
        var events = final.GetProperty("events").EnumerateArray().ToList();
        Assert.Contains(events, e => e.GetProperty("kind").GetString() == "rollout.abort-requested" && e.GetProperty("message").GetString()!.Contains("wrong window", StringComparison.Ordinal));
        Assert.Contains(events, e => e.GetProperty("kind").GetString() == "rollout.aborted" && e.GetProperty("message").GetString()!.StartsWith("Aborted by admin", StringComparison.Ordinal));
        Assert.DoesNotContain(events, e => e.GetProperty("kind").GetString() == "phase.soaked");
        Assert.DoesNotContain(await App.ContainersAsync(), c => c.Labels["deploydeck.rollout"] == id.ToString());
    }

    [Fact]
    public async Task Emergency_stop_stops_the_later_phases_latest_first_and_keeps_core_running()
    {
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        var planId = await App.SeedPlanAsync("emergency", new PlanSpec([
            new PhaseSpec { Name = "core", Services = [Probe("e-db")] },
            new PhaseSpec { Name = "business", Services = [Probe("e-auth")] },
            new PhaseSpec { Name = "observability", Services = [Probe("e-grafana")] },
        ]));
        var rollout = await RollOutAsync(admin, planId);
        Assert.Equal("Succeeded", rollout.GetProperty("state").GetString());
        var hostId = await App.HostIdAsync();

        using var viewer = App.CreateClient(await App.TokenAsync("stop-viewer", await App.CreateUserAsync("stop-viewer", "Viewer")));
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, (await viewer.PostAsJsonAsync($"/api/hosts/{hostId}/emergency-stop", new { })).StatusCode);

        var response = await admin.PostAsJsonAsync($"/api/hosts/{hostId}/emergency-stop", new { reason = "host swapping" });
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        // Other tests of this class may have left containers too: look at this plan's.
        var stopped = body.GetProperty("stopped").EnumerateArray().Select(s => s.GetString()!).Where(s => s.StartsWith("emergency-", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, stopped.Count);
        Assert.Contains("-e-grafana-1-", stopped[0], StringComparison.Ordinal);
        Assert.EndsWith("(observability)", stopped[0], StringComparison.Ordinal);
        Assert.Contains("-e-auth-1-", stopped[1], StringComparison.Ordinal);

        var containers = (await App.ContainersAsync()).Where(c => c.Labels["deploydeck.service"].StartsWith("e-", StringComparison.Ordinal))
            .ToDictionary(c => c.Labels["deploydeck.service"], c => c.State);
        Assert.Equal("running", containers["e-db"]);
        Assert.Equal("exited", containers["e-auth"]);
        Assert.Equal("exited", containers["e-grafana"]);
        Assert.Equal(1L, await App.QueryScalarAsync<long>("SELECT count(*) FROM audit_entries WHERE \"Action\" = 'host.emergency-stop'"));
    }
}
