using System.Net.Http.Json;
using System.Text.Json;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;
using DeployDeck.Integration.Tests.Api;
using DeployDeck.Tests.Shared;

namespace DeployDeck.Integration.Tests.Rollouts;

/// <summary>
/// A container that fails its health check and is then killed by the kernel for memory: the recorded reason names the
/// OOM kill, since it arrived within the settling time after the "unhealthy" verdict (set long here, so a busy host's
/// slow allocation still lands inside it).
/// </summary>
public sealed class OomCauseTests() : AppPerClass(workerSettings: new Dictionary<string, string> { ["Rollouts__FailureSettle"] = "00:00:40" })
{
    [Fact]
    public async Task An_oom_kill_just_after_the_unhealthy_verdict_is_the_reason_recorded()
    {
        var service = new ServiceSpec
        {
            Name = "late-oom",
            Image = "deploydeck/probe:latest",
            Resources = new ResourceLimits(MemorySize.Parse("48m"), null, null, CpuShare.Parse("0.5")),
            // Unhealthy from the first checks (about 5 s in); the allocation begins only at the probe's 15th second.
            HealthCheck = ProbeSpecs.Health(3, TimeSpan.FromSeconds(2)),
            Environment = new Dictionary<string, string> { ["PROBE_HEALTH_STATUS"] = "503", ["PROBE_ALLOC_MB"] = "200", ["PROBE_ALLOC_AFTER"] = "15" },
        };
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        var planId = await App.SeedPlanAsync("late-oom", new PlanSpec([new PhaseSpec { Name = "core", Services = [service] }]));
        var started = await admin.PostAsJsonAsync("/api/rollouts", new { planId, hostId = await App.HostIdAsync() });
        Assert.True(started.IsSuccessStatusCode, await started.Content.ReadAsStringAsync());
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var rollout = await RolloutApiTests.WaitForFinalAsync(admin, id, TimeSpan.FromMinutes(3));

        Assert.True(rollout.GetProperty("state").GetString() == "RolledBack", $"{rollout}\n--- worker ---\n{App.WorkerLog}");
        var failed = rollout.GetProperty("events").EnumerateArray()
            .Single(e => e.GetProperty("kind").GetString() == "service.failed").GetProperty("message").GetString()!;
        // The kernel kills the probe's allocating child ("a process in the container was OOM-killed …; unhealthy") or,
        // on a loaded machine, the main process ("OOM-killed (exit 137) above its limit …"): either way the OOM kill is
        // the reason, named before the health check's verdict.
        Assert.Contains("OOM-killed", failed, StringComparison.Ordinal);
        Assert.Contains("48 MB", failed, StringComparison.Ordinal);
        var unhealthy = failed.IndexOf("unhealthy", StringComparison.Ordinal);
        Assert.True(unhealthy < 0 || failed.IndexOf("OOM-killed", StringComparison.Ordinal) < unhealthy, failed);
    }
}
