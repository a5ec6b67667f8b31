using System.Net.Http.Json;
using System.Text.Json;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;
using DeployDeck.Integration.Tests.Api;
using Xunit.Abstractions;
using DeployDeck.Tests.Shared;

namespace DeployDeck.Integration.Tests.Rollouts;

/// <summary>
/// Two Workers on one PostgreSQL. Kill -9 of the one that drives a rollout: the other takes it over within seconds (found
/// without a driver by its lock, not after Hangfire's invisibility timeout) and finishes it, one container per service.
/// </summary>
public sealed class SeveralWorkersTests(ITestOutputHelper output) : AppPerClass()
{
    private static ServiceSpec Slow(string name, int delay, params string[] dependsOn) => new()
    {
        Name = name,
        Image = "deploydeck/probe:latest",
        Environment = new Dictionary<string, string> { ["PROBE_START_DELAY"] = delay.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        Resources = new ResourceLimits(MemorySize.Parse("48m"), MemorySize.Parse("16m"), null, CpuShare.Parse("0.25")),
        Restart = new RestartPolicy(RestartMode.UnlessStopped),
        HealthCheck = ProbeSpecs.Health(3, TimeSpan.FromSeconds(120)),
        DependsOn = dependsOn.Select(d => new ServiceDependency(d, DependencyCondition.ServiceHealthy)).ToList(),
    };

    [Fact]
    public async Task Killing_the_driving_worker_hands_the_rollout_to_the_other_within_60_seconds_without_duplicates()
    {
        App.StartExtraWorker();
        var planId = await App.SeedPlanAsync("two-workers", new PlanSpec(
        [
            new PhaseSpec { Name = "core", Services = [Slow("db", 6), Slow("api", 2, "db")] },
            new PhaseSpec { Name = "edge", Soak = TimeSpan.FromSeconds(5), Services = [Slow("web", 2)] },
        ]));
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        var started = await admin.PostAsJsonAsync("/api/rollouts", new { planId, hostId = await App.HostIdAsync() });
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        // The driver is the Worker whose log records the rollout's steps.
        var deadline = DateTime.UtcNow.AddSeconds(90);
        int driver;
        while (true)
        {
            driver = Enumerable.Range(0, 2).FirstOrDefault(n => App.WorkerLogOf(n).Contains($"Rollout {id} service.created", StringComparison.Ordinal), -1);
            if (driver >= 0)
                break;
            Assert.True(DateTime.UtcNow < deadline, $"no Worker started the rollout:\n{App.WorkerLogOf(0)}\n--- worker 1 ---\n{App.WorkerLogOf(1)}");
            await Task.Delay(100);
        }

        App.KillWorker(driver);
        var killed = DateTimeOffset.UtcNow;
        var other = 1 - driver;

        // The rollout goes on when the other Worker records its first step of it (its recorder logs each step).
        var step = new System.Text.RegularExpressions.Regex($@"Rollout {id} [a-z]+\.[a-z-]+ ");
        while (!step.IsMatch(App.WorkerLogOf(other)))
        {
            Assert.True(DateTimeOffset.UtcNow - killed < TimeSpan.FromSeconds(60), $"nobody went on within 60 s:\n{App.WorkerLogOf(other)}");
            await Task.Delay(100);
        }

        var takeover = DateTimeOffset.UtcNow - killed;
        output.WriteLine($"takeover after kill -9: {takeover.TotalSeconds:0.0} s");
        Assert.Contains("no Worker drives it", App.WorkerLogOf(other), StringComparison.Ordinal);

        var rollout = await RolloutApiTests.WaitForFinalAsync(admin, id, TimeSpan.FromSeconds(150));
        Assert.True(rollout.GetProperty("state").GetString() == "Succeeded", $"{rollout}\n--- other worker ---\n{App.WorkerLogOf(other)}");
        var containers = (await App.ContainersAsync()).Where(c => c.Labels["deploydeck.rollout"] == id.ToString()).ToList();
        foreach (var service in new[] { "db", "api", "web" })
            Assert.Equal(1, containers.Count(c => c.Labels["deploydeck.service"] == service));
        var kinds = rollout.GetProperty("events").EnumerateArray().Select(e => $"{e.GetProperty("kind").GetString()}:{e.GetProperty("phase").GetString()}:{e.GetProperty("service").GetString()}").ToList();
        Assert.Equal(kinds.Count, kinds.Distinct().Count());
        Assert.Equal("rollout.succeeded::", kinds[^1]);
        Assert.True(takeover < TimeSpan.FromSeconds(30), $"takeover took {takeover}");
    }

    [Fact]
    public async Task Of_two_workers_one_samples_a_host()
    {
        App.StartExtraWorker();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!Enumerable.Range(0, 2).Any(n => App.WorkerLogOf(n).Contains("Sampling host local", StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, "no Worker samples the host");
            await Task.Delay(200);
        }

        await Task.Delay(TimeSpan.FromSeconds(15)); // both Workers have looked at the host by now
        Assert.Equal(1, Enumerable.Range(0, 2).Count(n => App.WorkerLogOf(n).Contains("Sampling host local", StringComparison.Ordinal)));
    }
}
