using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;
using DeployDeck.Integration.Tests.Api;

namespace DeployDeck.Integration.Tests.Hosts;

/// <summary>An engine that stops in the middle of a rollout fails that rollout's phase with the reason; other hosts go on.</summary>
public sealed class EngineOutageTests(RemoteEngines engines) : AppPerClass(), IClassFixture<RemoteEngines>
{
    private static PlanSpec Soaking() => new([new PhaseSpec
    {
        Name = "core",
        Soak = TimeSpan.FromSeconds(25),
        Services =
        [
            new ServiceSpec
            {
                Name = "cache",
                Image = "deploydeck/probe:latest",
                Resources = new ResourceLimits(MemorySize.Parse("32m"), null, null, CpuShare.Parse("0.25")),
                Restart = new RestartPolicy(RestartMode.UnlessStopped),
            },
        ],
    }]);

    [Fact]
    public async Task An_engine_stopped_mid_rollout_fails_its_phase_with_the_reason_and_the_other_host_finishes()
    {
        var doomed = await App.AddHostAsync(engines.Tls, "tls-dies");
        var steady = await App.AddHostAsync(engines.Ssh, "ssh-lives");
        var planId = await App.SeedPlanAsync("outage", Soaking());
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        async Task<Guid> StartAsync(Guid host)
        {
            var response = await admin.PostAsJsonAsync("/api/rollouts", new { planId, hostId = host });
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(response.IsSuccessStatusCode, body.ToString());
            return body.GetProperty("id").GetGuid();
        }

        var failing = await StartAsync(doomed);
        var going = await StartAsync(steady);
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (await App.QueryScalarAsync<long>($"SELECT count(*) FROM rollout_events WHERE \"RolloutId\" = '{failing}' AND \"Kind\" = 'phase.soaking'") == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the rollout never reached its soak:\n" + App.WorkerLog);
            await Task.Delay(200);
        }

        await engines.Tls.KillDockerdAsync();
        var killed = DateTime.UtcNow;
        try
        {
            var ended = await RolloutApiTests.WaitForFinalAsync(admin, failing, TimeSpan.FromSeconds(90));
            var took = DateTime.UtcNow - killed;
            Assert.True(ended.GetProperty("state").GetString() is "Failed" or "RolledBack", ended.ToString());
            var events = ended.GetProperty("events").EnumerateArray().ToList();
            var phaseFailed = events.Single(e => e.GetProperty("kind").GetString() == "phase.failed").GetProperty("message").GetString()!;
            Assert.Contains("tls-dies", phaseFailed, StringComparison.Ordinal);
            Assert.Contains("engine", phaseFailed, StringComparison.Ordinal);
            Assert.False(string.IsNullOrEmpty(ended.GetProperty("error").GetString()));
            // Well within the phase's own deadline (its soak plus a minute or more).
            Assert.True(took < TimeSpan.FromSeconds(60), $"the phase took {took} to fail after the engine stopped");

            var other = await RolloutApiTests.WaitForFinalAsync(admin, going, TimeSpan.FromSeconds(120));
            Assert.True(other.GetProperty("state").GetString() == "Succeeded", $"{other}\n--- worker ---\n{App.WorkerLog}");
            Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/api/hosts/{steady}/check")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/hosts/{steady}")).StatusCode);
        }
        finally
        {
            await engines.Tls.StartDockerdAsync();
        }
    }
}
