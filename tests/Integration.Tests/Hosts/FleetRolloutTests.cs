using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;
using DeployDeck.Integration.Tests.Api;
using DeployDeck.Tests.Shared;
using ContainersListParameters = Docker.DotNet.Models.ContainersListParameters;
using ImageTagParameters = Docker.DotNet.Models.ImageTagParameters;

namespace DeployDeck.Integration.Tests.Hosts;

/// <summary>Three real engines (unix, TLS, SSH); the second has a bad build of the fleet's image, so its gate fails.</summary>
public sealed class ThreeEngines : IAsyncLifetime
{
    public const string Image = "deploydeck/fleet-app";

    public ExtraEngine[] All { get; private set; } = [];

    public async Task InitializeAsync()
    {
        All = [await ExtraEngine.StartAsync(EngineAccess.Unix), await ExtraEngine.StartAsync(EngineAccess.Tls), await ExtraEngine.StartAsync(EngineAccess.Ssh)];
        for (var i = 0; i < All.Length; i++)
        {
            using var client = All[i].Client();
            await client.Images.TagImageAsync(i == 1 ? "deploydeck/probe:latest" : "deploydeck/probe:v2", new ImageTagParameters { RepositoryName = Image, Tag = "1" });
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var engine in All)
            await engine.DisposeAsync();
    }
}

/// <summary>A fleet rollout over three engines in waves of one: the second host fails a gate, and the policy decides the rest.</summary>
public sealed class FleetRolloutTests(ThreeEngines engines) : AppPerClass(), IClassFixture<ThreeEngines>
{
    private static PlanSpec Plan() => new([new PhaseSpec
    {
        Name = "core",
        Services =
        [
            new ServiceSpec
            {
                Name = "app",
                Image = $"{ThreeEngines.Image}:1",
                Resources = new ResourceLimits(MemorySize.Parse("32m"), null, null, CpuShare.Parse("0.25")),
                Restart = new RestartPolicy(RestartMode.UnlessStopped),
                Gates = [new GateSpec { Kind = GateKind.Exec, Command = ["/bin/sh", "-c", "grep -q v2 /VERSION"] }],
            },
        ],
    }]);

    private static async Task<List<string>> RunningOfAsync(ExtraEngine engine, Guid rollout)
    {
        using var client = engine.Client();
        var all = await client.Containers.ListContainersAsync(new ContainersListParameters { All = true });
        return all.Where(c => c.Labels.TryGetValue("deploydeck.rollout", out var r) && r == rollout.ToString()).Select(c => c.State).ToList();
    }

    [Theory]
    [InlineData("stop")]
    [InlineData("rollBackAll")]
    public async Task The_second_host_failing_a_gate_stops_the_fleet_and_the_policy_decides_the_first(string onHostFailure)
    {
        var hosts = new List<Guid>();
        for (var i = 0; i < engines.All.Length; i++)
            hosts.Add(await App.AddHostAsync(engines.All[i], $"fleet-{i + 1}"));
        var planId = await App.SeedPlanAsync($"fleet-{onHostFailure}", Plan());
        using var admin = App.CreateClient(await App.AdminTokenAsync());

        var response = await admin.PostAsJsonAsync("/api/fleet-rollouts", new { planId, hostIds = hosts, waveSize = 1, onHostFailure });
        var created = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.Created, created.ToString());
        var fleetId = created.GetProperty("id").GetGuid();
        var rollouts = created.GetProperty("rollouts").EnumerateArray().ToDictionary(r => r.GetProperty("hostId").GetGuid(), r => r.GetProperty("id").GetGuid());
        Assert.Equal(hosts, created.GetProperty("rollouts").EnumerateArray().Select(r => r.GetProperty("hostId").GetGuid()));

        JsonElement fleet;
        var deadline = DateTime.UtcNow.AddSeconds(240);
        while (true)
        {
            fleet = await admin.GetFromJsonAsync<JsonElement>($"/api/fleet-rollouts/{fleetId}");
            if (fleet.GetProperty("state").GetString() is not ("Queued" or "Running"))
                break;
            Assert.True(DateTime.UtcNow < deadline, $"the fleet did not end: {fleet}\n--- worker ---\n{App.WorkerLog}");
            await Task.Delay(500);
        }

        var states = fleet.GetProperty("hosts").EnumerateArray().Select(h => h.GetProperty("rolloutState").GetString()).ToList();
        var second = await RolloutApiTests.WaitForFinalAsync(admin, rollouts[hosts[1]], TimeSpan.FromSeconds(10));
        Assert.Contains(second.GetProperty("events").EnumerateArray(), e => e.GetProperty("kind").GetString() == "gate.failed");
        Assert.Equal(fleetId, second.GetProperty("fleetId").GetGuid()); // a host's rollout names its fleet
        Assert.Equal("RolledBack", states[1]);
        Assert.Empty(await RunningOfAsync(engines.All[1], rollouts[hosts[1]]));
        Assert.Equal("Aborted", states[2]); // the third wave never started
        Assert.Empty(await RunningOfAsync(engines.All[2], rollouts[hosts[2]]));

        if (onHostFailure == "stop")
        {
            Assert.True(fleet.GetProperty("state").GetString() == "Failed", fleet.ToString());
            Assert.Equal("Succeeded", states[0]);
            Assert.Equal(["running"], await RunningOfAsync(engines.All[0], rollouts[hosts[0]])); // the first keeps the new version
        }
        else
        {
            Assert.True(fleet.GetProperty("state").GetString() == "RolledBack", fleet.ToString());
            Assert.Equal("RolledBack", states[0]);
            Assert.Empty(await RunningOfAsync(engines.All[0], rollouts[hosts[0]])); // the first is rolled back too
            var first = await RolloutApiTests.WaitForFinalAsync(admin, rollouts[hosts[0]], TimeSpan.FromSeconds(10));
            Assert.Contains(first.GetProperty("events").EnumerateArray(), e => e.GetProperty("kind").GetString() == "rollout.fleet-rolled-back");
        }
    }

    [Fact]
    public async Task With_wave_approval_the_next_wave_waits_for_an_approver_and_an_operator_cannot_approve_it()
    {
        var hosts = new List<Guid> { await App.AddHostAsync(engines.All[0], "canary"), await App.AddHostAsync(engines.All[2], "second") };
        var planId = await App.SeedPlanAsync("fleet-approval", Plan());
        using var operatorClient = App.CreateClient(await App.TokenAsync("fleet-operator", await App.CreateUserAsync("fleet-operator", "Operator")));
        using var approver = App.CreateClient(await App.TokenAsync("fleet-approver", await App.CreateUserAsync("fleet-approver", "Approver")));

        var response = await operatorClient.PostAsJsonAsync("/api/fleet-rollouts", new { planId, hostIds = hosts, waveSize = 1, approveWaves = true });
        var created = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.Created, created.ToString());
        var fleetId = created.GetProperty("id").GetGuid();
        var second = created.GetProperty("rollouts")[1].GetProperty("id").GetGuid();

        async Task<JsonElement> UntilAsync(Func<string, bool> state)
        {
            var deadline = DateTime.UtcNow.AddSeconds(240);
            while (true)
            {
                var fleet = await operatorClient.GetFromJsonAsync<JsonElement>($"/api/fleet-rollouts/{fleetId}");
                if (state(fleet.GetProperty("state").GetString()!))
                    return fleet;
                Assert.True(DateTime.UtcNow < deadline, $"the fleet did not get there: {fleet}\n--- worker ---\n{App.WorkerLog}");
                await Task.Delay(500);
            }
        }

        // The canary succeeded; the second wave waits, not started, for as long as nobody with the role approves it.
        var waiting = await UntilAsync(s => s is not ("Queued" or "Running"));
        Assert.True(waiting.GetProperty("state").GetString() == "AwaitingApproval", waiting.ToString());
        var waitingHosts = waiting.GetProperty("hosts").EnumerateArray().ToList();
        Assert.Equal("Succeeded", waitingHosts[0].GetProperty("rolloutState").GetString());
        Assert.False(waitingHosts[1].GetProperty("started").GetBoolean());
        Assert.Equal("Queued", waitingHosts[1].GetProperty("rolloutState").GetString());
        Assert.Empty(await RunningOfAsync(engines.All[2], second));

        var refused = await operatorClient.PostAsJsonAsync($"/api/fleet-rollouts/{fleetId}/approve", new { comment = "mine" });
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("AwaitingApproval", (await operatorClient.GetFromJsonAsync<JsonElement>($"/api/fleet-rollouts/{fleetId}")).GetProperty("state").GetString());

        var approved = await approver.PostAsJsonAsync($"/api/fleet-rollouts/{fleetId}/approve", new { comment = "canary looks fine" });
        Assert.True(approved.StatusCode == HttpStatusCode.Accepted, await approved.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Conflict, (await approver.PostAsJsonAsync($"/api/fleet-rollouts/{fleetId}/approve", new { })).StatusCode);

        var done = await UntilAsync(s => s is not ("Running" or "AwaitingApproval"));
        Assert.True(done.GetProperty("state").GetString() == "Succeeded", done.ToString());
        Assert.Equal("fleet-approver", done.GetProperty("approvedBy").GetString());
        Assert.Equal(1, done.GetProperty("approvedThroughWave").GetInt32());
        Assert.Equal(["running"], await RunningOfAsync(engines.All[2], second));
        var record = await RolloutApiTests.WaitForFinalAsync(operatorClient, second, TimeSpan.FromSeconds(10));
        var approval = Assert.Single(record.GetProperty("events").EnumerateArray(), e => e.GetProperty("kind").GetString() == "rollout.fleet-wave-approved");
        Assert.Equal("fleet-approver approved wave 2 of fleet rollout " + fleetId + ": canary looks fine", approval.GetProperty("message").GetString());
        Assert.Equal(1L, await App.QueryScalarAsync<long>("SELECT count(*) FROM audit_entries WHERE \"Action\" = 'rollout.approved' AND \"User\" = 'fleet-approver'"));
    }
}
