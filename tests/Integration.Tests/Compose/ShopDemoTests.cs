using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using DeployDeck.Integration.Tests.Api;
using DeployDeck.Tests.Shared;
using Docker.DotNet.Models;

namespace DeployDeck.Integration.Tests.Compose;

/// <summary>
/// The seeded shop — PostgreSQL, Redis, an API, a web front and an nginx gateway on a fixed port, on the real images —
/// rolled out and upgraded: rows written into PostgreSQL survive an upgrade of the database (stop-first), a later phase
/// failing with rollback-all, and an emergency stop; the gateway's port answers after each.
/// </summary>
public sealed class ShopDemoTests() : AppPerClass(new Dictionary<string, string> { ["DeployDeck__DemoGatewayPort"] = Port.ToString(System.Globalization.CultureInfo.InvariantCulture) })
{
    private static readonly int Port = DeployDeckApp.FreePort();

    private async Task<JsonElement> RollOutAsync(HttpClient admin, Guid planId)
    {
        var started = await admin.PostAsJsonAsync("/api/rollouts", new { planId, hostId = await App.HostIdAsync() });
        Assert.True(started.IsSuccessStatusCode, await started.Content.ReadAsStringAsync());
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        return await RolloutApiTests.WaitForFinalAsync(admin, id, TimeSpan.FromMinutes(5));
    }

    private async Task<ContainerListResponse> RunningAsync(string service) =>
        Assert.Single(await App.ContainersAsync(), c => c.Labels["deploydeck.service"] == service && c.State == "running");

    private static async Task<string> PsqlAsync(string containerId, string sql)
    {
        using var docker = DeployDeckApp.Docker();
        var exec = await docker.Exec.CreateContainerExecAsync(containerId, new ContainerExecCreateParameters
        {
            Cmd = ["psql", "-U", "postgres", "-d", "shop", "-tAc", sql], AttachStdout = true, AttachStderr = true,
        });
        using var stream = await docker.Exec.StartContainerExecAsync(exec.ID, new ContainerExecStartParameters());
        var (stdout, stderr) = await stream.ReadOutputToEndAsync(CancellationToken.None);
        return (stdout + stderr).Trim();
    }

    /// <summary>The gateway's page; a few seconds are allowed for it to find a web front that was just replaced (its DNS is 2 s fresh).</summary>
    private static async Task<string> GatewayAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                using var response = await http.GetAsync($"http://127.0.0.1:{Port}/");
                if (response.IsSuccessStatusCode || DateTime.UtcNow > deadline)
                    return $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && DateTime.UtcNow < deadline)
            {
            }

            await Task.Delay(500);
        }
    }

    /// <summary>PUT of the plan as GET shows it, with one service's environment changed.</summary>
    private static async Task EditAsync(HttpClient admin, Guid planId, string service, string key, string? value)
    {
        var plan = JsonNode.Parse(await admin.GetStringAsync($"/api/plans/{planId}"))!;
        var spec = plan["phases"]!.AsArray().SelectMany(p => p!["services"]!.AsArray()).First(s => (string)s!["name"]! == service)!;
        var environment = spec["environment"]!.AsObject();
        if (value is null)
            environment.Remove(key);
        else
            environment[key] = value;
        var saved = await admin.PutAsJsonAsync($"/api/plans/{planId}", new JsonObject
        {
            ["baseRevision"] = (int)plan["revision"]!,
            ["phases"] = plan["phases"]!.DeepClone(),
        });
        Assert.True(saved.IsSuccessStatusCode, await saved.Content.ReadAsStringAsync());
    }

    private void Ended(JsonElement rollout, string state) =>
        Assert.True(rollout.GetProperty("state").GetString() == state, $"expected {state}: {rollout}\n--- worker ---\n{App.WorkerLog}");

    [Fact]
    public async Task The_shop_keeps_its_data_through_an_upgrade_a_rollback_of_everything_and_an_emergency_stop()
    {
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        var plans = await admin.GetFromJsonAsync<JsonElement>("/api/plans");
        var planId = plans.EnumerateArray().Single(p => p.GetProperty("name").GetString() == "shop").GetProperty("id").GetGuid();

        var first = await RollOutAsync(admin, planId);
        Ended(first, "Succeeded");
        Assert.StartsWith("200 probe 1.0", await GatewayAsync(), StringComparison.Ordinal);
        var db1 = await RunningAsync("db");
        await PsqlAsync(db1.ID, "CREATE TABLE orders (id int primary key, item text); INSERT INTO orders VALUES (1, 'teapot')");
        Assert.Equal("teapot", await PsqlAsync(db1.ID, "SELECT item FROM orders WHERE id = 1"));

        // An upgrade of the database: its definition changes, so it is recreated — stop-first, since it mounts its volume read-write.
        await EditAsync(admin, planId, "db", "SHOP_SCHEMA", "2");
        var second = await RollOutAsync(admin, planId);
        Ended(second, "Succeeded");
        var db2 = await RunningAsync("db");
        Assert.NotEqual(db1.ID, db2.ID);
        Assert.Contains(second.GetProperty("events").EnumerateArray(), e => e.GetProperty("kind").GetString() == "service.replaced"
            && e.GetProperty("service").GetString() == "db" && e.GetProperty("message").GetString()!.Contains("stop-first", StringComparison.Ordinal));
        Assert.Equal("teapot", await PsqlAsync(db2.ID, "SELECT item FROM orders WHERE id = 1"));
        Assert.StartsWith("200 probe 1.0", await GatewayAsync(), StringComparison.Ordinal);

        // A later phase fails and rolls everything back: the database that ran before comes back on the same volume.
        await EditAsync(admin, planId, "db", "SHOP_SCHEMA", "3");
        await EditAsync(admin, planId, "web", "PROBE_HEALTH_STATUS", "503");
        var third = await RollOutAsync(admin, planId);
        Ended(third, "RolledBack");
        Assert.DoesNotContain(third.GetProperty("events").EnumerateArray(), e => e.GetProperty("kind").GetString() == "rollback.failed");
        var restored = await RunningAsync("db");
        Assert.Equal(db2.ID, restored.ID);
        Assert.Equal("teapot", await PsqlAsync(restored.ID, "SELECT item FROM orders WHERE id = 1"));
        Assert.StartsWith("200 probe 1.0", await GatewayAsync(), StringComparison.Ordinal);

        // An emergency stop keeps core (and its data) running; the next rollout brings the rest back.
        var stop = await admin.PostAsJsonAsync($"/api/hosts/{await App.HostIdAsync()}/emergency-stop", new { reason = "host swapping" });
        Assert.Equal(HttpStatusCode.OK, stop.StatusCode);
        Assert.Equal("teapot", await PsqlAsync((await RunningAsync("db")).ID, "SELECT item FROM orders WHERE id = 1"));
        await EditAsync(admin, planId, "web", "PROBE_HEALTH_STATUS", null);
        var fourth = await RollOutAsync(admin, planId);
        Ended(fourth, "Succeeded");
        Assert.Equal("teapot", await PsqlAsync((await RunningAsync("db")).ID, "SELECT item FROM orders WHERE id = 1"));
        Assert.StartsWith("200 probe 1.0", await GatewayAsync(), StringComparison.Ordinal);

        using var docker = DeployDeckApp.Docker();
        Assert.NotNull(await docker.Volumes.InspectAsync("shop_pgdata"));
    }
}
