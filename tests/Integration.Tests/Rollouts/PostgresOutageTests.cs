using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;
using DeployDeck.Integration.Tests.Api;
using DeployDeck.Tests.Shared;

namespace DeployDeck.Integration.Tests.Rollouts;

/// <summary>
/// PostgreSQL restarted in the middle of a phase: the Worker's drive stops at its next write, Hangfire's retry resumes it
/// level-wise, and the rollout ends as if nothing happened — never Failed without a rollback, one container per service.
/// </summary>
public sealed class PostgresOutageTests(Xunit.Abstractions.ITestOutputHelper output) : IAsyncLifetime
{
    private PrivatePostgres _postgres = null!;
    private DeployDeckApp _app = null!;

    public async Task InitializeAsync()
    {
        _postgres = await PrivatePostgres.StartAsync();
        _app = await DeployDeckApp.StartAsync(server: _postgres.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        try
        {
            await _app.DisposeAsync();
        }
        finally
        {
            await _postgres.DisposeAsync(); // its own cluster: left running, it would outlive the test run
        }
    }

    private static ServiceSpec Probe(string name) => new()
    {
        Name = name,
        Image = "deploydeck/probe:latest",
        Resources = new ResourceLimits(MemorySize.Parse("32m"), null, null, CpuShare.Parse("0.25")),
        Restart = new RestartPolicy(RestartMode.UnlessStopped),
        HealthCheck = ProbeSpecs.Health(5, TimeSpan.Zero),
    };

    [Fact]
    public async Task An_upgrade_whose_database_restarts_during_a_phase_resumes_and_ends_with_one_container_per_service()
    {
        var planId = await _app.SeedPlanAsync("pg-outage", new PlanSpec(
        [
            new PhaseSpec { Name = "core", Soak = TimeSpan.FromSeconds(20), Services = [Probe("db")] },
            new PhaseSpec { Name = "business", Soak = TimeSpan.Zero, Services = [Probe("api")] },
        ]));
        using var admin = _app.CreateClient(await _app.AdminTokenAsync());
        async Task<Guid> StartAsync()
        {
            var response = await admin.PostAsJsonAsync("/api/rollouts", new { planId, hostId = await _app.HostIdAsync(), forceRecreate = true });
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(response.IsSuccessStatusCode, body.ToString());
            return body.GetProperty("id").GetGuid();
        }

        var first = await RolloutApiTests.WaitForFinalAsync(admin, await StartAsync(), TimeSpan.FromMinutes(3));
        Assert.True(first.GetProperty("state").GetString() == "Succeeded", $"{first}\n--- worker ---\n{_app.WorkerLog}");

        var upgrade = await StartAsync();
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (await _app.QueryScalarAsync<long>($"SELECT count(*) FROM rollout_events WHERE \"RolloutId\" = '{upgrade}' AND \"Kind\" = 'phase.soaking'") == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the upgrade never reached its soak:\n" + _app.WorkerLog);
            await Task.Delay(200);
        }

        await _postgres.StopClusterAsync();
        try
        {
            // The Web answers without its database, and says why: no 500, no stack trace.
            var away = await admin.GetAsync($"/api/rollouts/{upgrade}");
            var said = await away.Content.ReadAsStringAsync();
            Assert.True(away.StatusCode == HttpStatusCode.ServiceUnavailable, $"{(int)away.StatusCode}: {said}");
            Assert.DoesNotContain("   at ", said, StringComparison.Ordinal);
            await Task.Delay(TimeSpan.FromSeconds(10));
        }
        finally
        {
            await _postgres.StartClusterAsync();
        }

        var ended = await RolloutApiTests.WaitForFinalAsync(admin, upgrade, TimeSpan.FromMinutes(4));
        var state = ended.GetProperty("state").GetString();
        output.WriteLine($"ended {state}: {string.Join(", ", ended.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("kind").GetString()))}");
        Assert.True(state is "Succeeded" or "RolledBack", $"{ended}\n--- worker ---\n{_app.WorkerLog}");
        var running = (await _app.ContainersAsync()).Where(c => c.State == "running").ToList();
        foreach (var service in new[] { "db", "api" })
            Assert.Single(running, c => c.Labels["deploydeck.service"] == service);
        Assert.Equal(2, (await _app.ContainersAsync()).Count);
        // Which version runs is the one the record says.
        var expected = state == "Succeeded" ? upgrade.ToString() : first.GetProperty("id").GetString();
        Assert.All(running, c => Assert.Equal(expected, c.Labels["deploydeck.rollout"]));
    }
}
