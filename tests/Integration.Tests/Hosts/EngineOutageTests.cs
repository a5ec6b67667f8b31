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
        var restarted = false;
        try
        {
            // The phase waits Rollouts:EngineOutageGrace (20 s) for the engine, then fails naming the host.
            deadline = DateTime.UtcNow.AddSeconds(60);
            string? phaseFailed;
            while ((phaseFailed = await App.QueryScalarAsync<string?>($"SELECT \"Message\" FROM rollout_events WHERE \"RolloutId\" = '{failing}' AND \"Kind\" = 'phase.failed' LIMIT 1")) is null)
            {
                Assert.True(DateTime.UtcNow < deadline, "the phase did not fail within 60 s of the engine stopping:\n" + App.WorkerLog);
                await Task.Delay(500);
            }

            Assert.Contains("tls-dies", phaseFailed, StringComparison.Ordinal);
            Assert.Contains("engine", phaseFailed, StringComparison.Ordinal);
            Assert.True(DateTime.UtcNow - killed < TimeSpan.FromSeconds(60));

            var other = await RolloutApiTests.WaitForFinalAsync(admin, going, TimeSpan.FromSeconds(120));
            Assert.True(other.GetProperty("state").GetString() == "Succeeded", $"{other}\n--- worker ---\n{App.WorkerLog}");
            var check = await admin.GetAsync($"/api/hosts/{steady}/check");
            Assert.True(check.StatusCode == HttpStatusCode.OK,
                $"{(int)check.StatusCode} {await check.Content.ReadAsStringAsync()}\n--- web ---\n{App.WebLog}\n--- sshd ---\n{engines.Ssh.SshdLog}");
            Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/hosts/{steady}")).StatusCode);

            // A rollback needs the engine: the rollout waits for it, rolling back, and never ends Failed without one.
            var waiting = await admin.GetFromJsonAsync<JsonElement>($"/api/rollouts/{failing}");
            Assert.True(waiting.GetProperty("state").GetString() == "RollingBack", waiting.ToString());
            await engines.Tls.StartDockerdAsync();
            restarted = true;
            var ended = await RolloutApiTests.WaitForFinalAsync(admin, failing, TimeSpan.FromSeconds(180));
            Assert.True(ended.GetProperty("state").GetString() == "RolledBack", $"{ended}\n--- worker ---\n{App.WorkerLog}");
        }
        finally
        {
            if (!restarted)
                await engines.Tls.StartDockerdAsync();
        }
    }
}
