using System.Net.Http.Json;
using System.Text.Json;
using DeployDeck.Domain.Plans;
using DeployDeck.Integration.Tests.Api;
using DeployDeck.Tests.Shared;

namespace DeployDeck.Integration.Tests.Rollouts;

/// <summary>A migration that others wait for (service_completed_successfully) must run to completion and exit 0 first.</summary>
public sealed class OneShotTests() : AppPerClass()
{
    private PlanSpec Plan(string exitCode) => new([new PhaseSpec
    {
        Name = "core",
        Services =
        [
            Probe("migrate") with
            {
                Environment = new Dictionary<string, string> { ["PROBE_EXIT_AFTER"] = "2", ["PROBE_EXIT_CODE"] = exitCode },
                Gates = [new GateSpec { Kind = GateKind.Logs, Pattern = "FATAL", WindowSeconds = 60 }, new GateSpec { Kind = GateKind.Exec, Command = ["/bin/true"] }],
            },
            Probe("api") with { DependsOn = [new ServiceDependency("migrate", DependencyCondition.ServiceCompletedSuccessfully)] },
        ],
    }]);

    private async Task<JsonElement> RollOutAsync(HttpClient admin, PlanSpec plan, string name)
    {
        var planId = await App.SeedPlanAsync(name, plan);
        var started = await admin.PostAsJsonAsync("/api/rollouts", new { planId, hostId = await App.HostIdAsync() });
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        return await RolloutApiTests.WaitForFinalAsync(admin, id, TimeSpan.FromMinutes(2));
    }

    private static List<JsonElement> Events(JsonElement rollout) => rollout.GetProperty("events").EnumerateArray().ToList();

    [Fact]
    public async Task A_migration_runs_to_completion_before_the_service_that_waits_for_it_starts()
    {
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        var rollout = await RollOutAsync(admin, Plan("0"), "migrating");

        Assert.True(rollout.GetProperty("state").GetString() == "Succeeded", $"{rollout}\n--- worker ---\n{App.WorkerLog}");
        var events = Events(rollout);
        var migrated = events.FindIndex(e => e.GetProperty("kind").GetString() == "service.ready" && e.GetProperty("service").GetString() == "migrate");
        var apiCreated = events.FindIndex(e => e.GetProperty("kind").GetString() == "service.created" && e.GetProperty("service").GetString() == "api");
        Assert.True(migrated >= 0 && migrated < apiCreated, "api was created before the migration completed");
        Assert.StartsWith("Completed successfully (exit 0)", events[migrated].GetProperty("message").GetString(), StringComparison.Ordinal);
        // Only the log gate can be asked of an exited container.
        Assert.Single(events, e => e.GetProperty("kind").GetString() == "gate.passed" && e.GetProperty("service").GetString() == "migrate");

        using var docker = DeployDeckApp.Docker();
        var migrate = Assert.Single(await App.ContainersAsync(), c => c.Labels["deploydeck.service"] == "migrate");
        var inspect = await docker.Containers.InspectContainerAsync(migrate.ID);
        Assert.Equal(("exited", 0L), (inspect.State!.Status, inspect.State.ExitCode));
    }

    [Fact]
    public async Task A_migration_that_exits_non_zero_fails_the_phase_and_the_waiting_service_never_starts()
    {
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        var rollout = await RollOutAsync(admin, Plan("3"), "broken-migration");

        Assert.True(rollout.GetProperty("state").GetString() == "RolledBack", $"{rollout}\n--- worker ---\n{App.WorkerLog}");
        var failed = Assert.Single(Events(rollout), e => e.GetProperty("kind").GetString() == "service.failed");
        Assert.Equal("exited with code 3; a one-shot service must exit 0", failed.GetProperty("message").GetString());
        Assert.DoesNotContain(Events(rollout), e => e.GetProperty("kind").GetString() == "service.created" && e.GetProperty("service").GetString() == "api");
    }
}
