using System.Net.Http.Json;
using System.Text.Json;
using DeployDeck.Domain.Plans;
using DeployDeck.Integration.Tests.Api;
using DeployDeck.Tests.Shared;

namespace DeployDeck.Integration.Tests.Rollouts;

/// <summary>Nothing stays "deploying" forever: a phase whose services would wait longer than the phase may take fails.</summary>
public sealed class PhaseDeadlineTests() : AppPerClass(workerSettings: new Dictionary<string, string> { ["Rollouts__PhaseDeadlineCap"] = "00:00:10" })
{
    [Fact]
    public async Task A_phase_that_makes_no_progress_fails_at_its_deadline_and_is_rolled_back()
    {
        // Its own health check would allow it two minutes to start; the phase allows ten seconds.
        var service = Probe("stuck") with
        {
            Environment = new Dictionary<string, string> { ["PROBE_START_DELAY"] = "600" },
            HealthCheck = ProbeSpecs.Health(3, TimeSpan.FromSeconds(120), timeout: TimeSpan.FromSeconds(1)),
        };
        var planId = await App.SeedPlanAsync("stuck", new PlanSpec([new PhaseSpec { Name = "core", Services = [service] }]));
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        var started = await admin.PostAsJsonAsync("/api/rollouts", new { planId, hostId = await App.HostIdAsync() });
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        var watch = System.Diagnostics.Stopwatch.StartNew();
        var rollout = await RolloutApiTests.WaitForFinalAsync(admin, id, TimeSpan.FromMinutes(2));

        Assert.True(rollout.GetProperty("state").GetString() == "RolledBack", $"{rollout}\n--- worker ---\n{App.WorkerLog}");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(100), $"took {watch.Elapsed}: the phase waited for the service's own deadline");
        var failed = rollout.GetProperty("events").EnumerateArray().Single(e => e.GetProperty("kind").GetString() == "phase.failed");
        Assert.Contains("no progress within the phase deadline of 10s", failed.GetProperty("message").GetString(), StringComparison.Ordinal);
        var svc = rollout.GetProperty("phases")[0].GetProperty("services")[0];
        Assert.Equal("Removed", svc.GetProperty("state").GetString());
        Assert.Empty(await App.ContainersAsync());
    }
}
