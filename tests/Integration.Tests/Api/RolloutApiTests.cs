using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeployDeck.Tests.Shared;
using Docker.DotNet.Models;

namespace DeployDeck.Integration.Tests.Api;

[Collection(AppCollection.Name)]
public sealed class RolloutApiTests(AppFixture fixture)
{
    private DeployDeckApp App => fixture.App;

    private async Task<(Guid PlanId, Guid HostId, JsonElement Plan)> DemoAsync(HttpClient client)
    {
        var plans = await client.GetFromJsonAsync<JsonElement>("/api/plans");
        var planId = plans.EnumerateArray().Single(p => p.GetProperty("name").GetString() == "demo").GetProperty("id").GetGuid();
        var hosts = await client.GetFromJsonAsync<JsonElement>("/api/hosts");
        var hostId = hosts.EnumerateArray().Single(h => h.GetProperty("name").GetString() == "local").GetProperty("id").GetGuid();
        return (planId, hostId, await client.GetFromJsonAsync<JsonElement>($"/api/plans/{planId}"));
    }

    [Fact]
    public async Task Viewer_may_read_but_starting_a_rollout_is_403()
    {
        var password = await App.CreateUserAsync("viewer-1", "Viewer");
        using var viewer = App.CreateClient(await App.TokenAsync("viewer-1", password));
        var (planId, hostId, _) = await DemoAsync(viewer);

        var response = await viewer.PostAsJsonAsync("/api/rollouts", new { planId, hostId });

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(0L, await App.QueryScalarAsync<long>("SELECT count(*) FROM rollouts WHERE \"StartedBy\" = 'viewer-1'"));
    }

    [Fact]
    public async Task Bad_rollout_requests_get_problem_details_naming_the_problem()
    {
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        var (_, hostId, _) = await DemoAsync(admin);

        var unknownPlan = await admin.PostAsJsonAsync("/api/rollouts", new { planId = Guid.NewGuid(), hostId });
        Assert.Equal(HttpStatusCode.NotFound, unknownPlan.StatusCode);
        Assert.Contains("no plan", (await unknownPlan.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);

        var empty = await admin.PostAsJsonAsync("/api/rollouts", new { });
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);

        var garbage = await admin.PostAsync("/api/rollouts", new StringContent("{not json", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, garbage.StatusCode);
        Assert.DoesNotContain("   at ", await garbage.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/api/rollouts/{Guid.NewGuid()}")).StatusCode);
    }

    [Fact]
    public async Task Operator_rolls_out_the_demo_plan_and_the_engine_applies_every_limit_of_the_plan()
    {
        var password = await App.CreateUserAsync("operator-1", "Operator");
        using var op = App.CreateClient(await App.TokenAsync("operator-1", password));
        var (planId, hostId, plan) = await DemoAsync(op);

        var started = await op.PostAsJsonAsync("/api/rollouts", new { planId, hostId });
        Assert.Equal(HttpStatusCode.Created, started.StatusCode);
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        var busy = await op.PostAsJsonAsync("/api/rollouts", new { planId, hostId });
        Assert.Equal(HttpStatusCode.Conflict, busy.StatusCode);

        var rollout = await WaitForFinalAsync(op, id, TimeSpan.FromSeconds(120));
        Assert.True(rollout.GetProperty("state").GetString() == "Succeeded", $"rollout ended {rollout}\n--- worker log ---\n{App.WorkerLog}");

        var events = rollout.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("kind").GetString()).ToList();
        Assert.Equal(1, events.Count(k => k == "rollout.started"));
        Assert.Equal(3, events.Count(k => k == "service.created"));
        Assert.Equal(3, events.Count(k => k == "service.ready"));
        Assert.Equal(3, events.Count(k => k == "service.limits-verified"));
        Assert.Equal("rollout.succeeded", events[^1]);

        using var docker = DeployDeckApp.Docker();
        var containers = await App.ContainersAsync();
        Assert.Equal(3, containers.Count(c => c.Labels["deploydeck.rollout"] == id.ToString()));
        Assert.Equal(["core", "business", "frontend"], rollout.GetProperty("phases").EnumerateArray().Select(p => p.GetProperty("name").GetString()));
        foreach (var service in plan.GetProperty("phases").EnumerateArray().SelectMany(p => p.GetProperty("services").EnumerateArray()))
        {
            var name = service.GetProperty("name").GetString()!;
            var container = containers.Single(c => c.Labels["deploydeck.rollout"] == id.ToString() && c.Labels["deploydeck.service"] == name);
            var inspect = await docker.Containers.InspectContainerAsync(container.ID);
            var host = inspect.HostConfig!;
            var state = inspect.State!;
            var config = inspect.Config!;
            Assert.Equal(service.GetProperty("memoryLimitBytes").GetInt64(), host.Memory);
            Assert.Equal(service.GetProperty("memoryReservationBytes").GetInt64(), host.MemoryReservation);
            Assert.Equal(service.GetProperty("memorySwapBytes").GetInt64(), host.MemorySwap);
            Assert.Equal((long)(service.GetProperty("cpus").GetDouble() * 1e9), host.NanoCPUs);
            Assert.Equal(RestartPolicyKind.UnlessStopped, host.RestartPolicy!.Name);
            Assert.True(state.Running, $"{name} is {state.Status}");
            Assert.Equal("true", config.Labels!["deploydeck.test"]);
            Assert.Equal(planId.ToString(), config.Labels!["deploydeck.plan"]);
            if (service.GetProperty("healthCheck").ValueKind == JsonValueKind.Object)
            {
                var hc = service.GetProperty("healthCheck");
                var applied = config.Healthcheck!;
                Assert.Equal(hc.GetProperty("test").EnumerateArray().Select(t => t.GetString()!).ToList(), applied.Test!);
                Assert.Equal(TimeSpan.FromSeconds(hc.GetProperty("intervalSeconds").GetDouble()), applied.Interval);
                Assert.Equal(TimeSpan.FromSeconds(hc.GetProperty("timeoutSeconds").GetDouble()), applied.Timeout);
                Assert.Equal(TimeSpan.FromSeconds(hc.GetProperty("startPeriodSeconds").GetDouble()), applied.StartPeriod);
                Assert.Equal(hc.GetProperty("retries").GetInt64(), applied.Retries);
                Assert.Equal("healthy", state.Health!.Status);
            }
        }
    }

    internal static async Task<JsonElement> WaitForFinalAsync(HttpClient client, Guid id, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        JsonElement rollout;
        do
        {
            rollout = await client.GetFromJsonAsync<JsonElement>($"/api/rollouts/{id}");
            if (rollout.GetProperty("state").GetString() is "Succeeded" or "Failed" or "RolledBack" or "Aborted")
                return rollout;
            await Task.Delay(500);
        }
        while (DateTime.UtcNow < deadline);
        return rollout;
    }
}
