using System.Net.Http.Json;
using System.Text.Json;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;
using DeployDeck.Integration.Tests.Api;
using DeployDeck.Tests.Shared;

namespace DeployDeck.Integration.Tests.Rollouts;

/// <summary>
/// Kill -9 of the Worker in the middle of a rollout: another Worker picks the job up (sliding invisibility
/// timeout of one minute) and finishes it level-wise, with one container per service and every step once.
/// </summary>
public sealed class CrashRecoveryTests() : AppPerClass()
{

    private static ServiceSpec Slow(string name, int delay, params string[] dependsOn) => new()
    {
        Name = name,
        Image = "deploydeck/probe:latest",
        Environment = new Dictionary<string, string> { ["PROBE_START_DELAY"] = delay.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        Resources = new ResourceLimits(MemorySize.Parse("64m"), MemorySize.Parse("32m"), null, CpuShare.Parse("0.25")),
        Restart = new RestartPolicy(RestartMode.UnlessStopped),
        HealthCheck = ProbeSpecs.Health(3, TimeSpan.FromSeconds(120)),
        DependsOn = dependsOn.Select(d => new ServiceDependency(d, DependencyCondition.ServiceHealthy)).ToList(),
    };

    /// <param name="killAt">The step after which the Worker is killed: a container just created (not started), a service
    /// waiting to become healthy, a phase soaking.</param>
    [Theory]
    [InlineData("service.created")]
    [InlineData("service.limits-verified")]
    [InlineData("phase.soaking")]
    public async Task Worker_killed_mid_rollout_is_replaced_and_the_rollout_finishes_without_duplicates(string killAt)
    {
        var planId = await App.SeedPlanAsync($"slow-{killAt}", new PlanSpec([new PhaseSpec
        {
            Name = "core", Soak = TimeSpan.FromSeconds(6), Services = [Slow("db", 8), Slow("api", 2, "db")],
        }]));
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        var started = await admin.PostAsJsonAsync("/api/rollouts", new { planId, hostId = await App.HostIdAsync() });
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await App.QueryScalarAsync<long>($"SELECT count(*) FROM rollout_events WHERE \"RolloutId\" = '{id}' AND \"Kind\" = '{killAt}'") == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the rollout never reached {killAt}:\n" + App.WorkerLog);
            await Task.Delay(100);
        }

        App.KillWorker();
        App.StartWorker();

        var rollout = await RolloutApiTests.WaitForFinalAsync(admin, id, TimeSpan.FromSeconds(150));
        Assert.True(rollout.GetProperty("state").GetString() == "Succeeded", $"{rollout}\n--- worker ---\n{App.WorkerLog}");

        var containers = (await App.ContainersAsync()).Where(c => c.Labels["deploydeck.rollout"] == id.ToString()).ToList();
        Assert.Equal(1, containers.Count(c => c.Labels["deploydeck.service"] == "db"));
        Assert.Equal(1, containers.Count(c => c.Labels["deploydeck.service"] == "api"));
        var kinds = rollout.GetProperty("events").EnumerateArray().Select(e => $"{e.GetProperty("kind").GetString()}:{e.GetProperty("service").GetString()}").ToList();
        Assert.Equal(kinds.Count, kinds.Distinct().Count());
        Assert.Contains("service.ready:db", kinds);
        Assert.Contains("service.ready:api", kinds);
        Assert.Contains("phase.soaked:", kinds);
        Assert.Equal("rollout.succeeded:", kinds[^1]);
    }
}
