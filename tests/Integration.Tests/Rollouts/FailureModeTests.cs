using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;
using DeployDeck.Integration.Tests.Api;
using DeployDeck.Tests.Shared;
using ContainerExecCreateParameters = Docker.DotNet.Models.ContainerExecCreateParameters;
using ContainerExecStartParameters = Docker.DotNet.Models.ContainerExecStartParameters;

namespace DeployDeck.Integration.Tests.Rollouts;

/// <summary>
/// Every way a new version can fail its phase, on the real engine: the gate that catches it fails with its figure, the
/// phase is rolled back, and the previous containers run again — same container, same image — and pass their gates.
/// </summary>
public sealed class FailureModeTests() : AppPerClass()
{
    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static readonly HealthCheck Health = ProbeSpecs.Health(3, TimeSpan.FromSeconds(2));

    private static ServiceSpec V1(string name) => new()
    {
        Name = name,
        Image = "deploydeck/probe:latest",
        Resources = new ResourceLimits(MemorySize.Parse("64m"), null, null, CpuShare.Parse("0.25")),
        Restart = new RestartPolicy(RestartMode.UnlessStopped),
        HealthCheck = Health,
        Gates = [new GateSpec { Kind = GateKind.Exec, Command = ["/bin/sh", "-c", "test -x /bin/busybox"] }],
    };

    /// <summary>Version 2 of the service, broken in one way; and the event kind and words that must name the failure.</summary>
    private static (ServiceSpec Service, string Kind, string Words) V2(string mode, string name, int port)
    {
        var v2 = V1(name) with { Image = "deploydeck/probe:v2" };
        return mode switch
        {
            "exits" => (v2 with { Restart = RestartPolicy.No, Environment = new Dictionary<string, string> { ["PROBE_START_DELAY"] = "5", ["PROBE_EXIT_AFTER"] = "1", ["PROBE_EXIT_CODE"] = "3" } },
                "service.failed", "exit code 3"),
            "never-healthy" => (v2 with { Environment = new Dictionary<string, string> { ["PROBE_HEALTH_STATUS"] = "503" } }, "service.failed", "unhealthy"),
            // The start period covers the allocation, however slow a busy host makes it: the OOM kill, not the health check, decides.
            "oom-killed" => (v2 with
            {
                Restart = RestartPolicy.No,
                HealthCheck = Health with { StartPeriod = TimeSpan.FromSeconds(60) },
                Environment = new Dictionary<string, string> { ["PROBE_START_DELAY"] = "5", ["PROBE_ALLOC_MB"] = "200" },
            }, "service.failed", "OOM-killed"),
            "http-500" => (v2 with
            {
                Environment = new Dictionary<string, string> { ["PROBE_HEALTH_STATUS"] = "500" },
                HealthCheck = null,
                Ports = [new PortMapping(8080, port, "tcp", "127.0.0.1")],
                Gates = [new GateSpec { Kind = GateKind.Http, Url = $"http://127.0.0.1:{port}/cgi-bin/health", MinStatus = 200, MaxStatus = 299 }],
            }, "gate.failed", "HTTP 500"),
            "error-log" => (v2 with
            {
                Environment = new Dictionary<string, string> { ["PROBE_ERROR_EVERY"] = "1", ["PROBE_START_DELAY"] = "3" },
                Gates = [new GateSpec { Kind = GateKind.Logs, Pattern = "ERROR", WindowSeconds = 60 }],
            }, "gate.failed", "ERROR probe failure simulated"),
            "exec-fails" => (v2 with { Gates = [new GateSpec { Kind = GateKind.Exec, Command = ["/bin/sh", "-c", "echo no database; exit 2"] }] },
                "gate.failed", "exit 2: no database"),
            _ => throw new ArgumentOutOfRangeException(nameof(mode)),
        };
    }

    private async Task<JsonElement> RollOutAsync(HttpClient admin, Guid planId)
    {
        var started = await admin.PostAsJsonAsync("/api/rollouts", new { planId, hostId = await App.HostIdAsync() });
        Assert.True(started.IsSuccessStatusCode, await started.Content.ReadAsStringAsync());
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        return await RolloutApiTests.WaitForFinalAsync(admin, id, TimeSpan.FromMinutes(3));
    }

    private static List<string> Messages(JsonElement rollout, string kind) => rollout.GetProperty("events").EnumerateArray()
        .Where(e => e.GetProperty("kind").GetString() == kind).Select(e => e.GetProperty("message").GetString()!).ToList();

    [Theory]
    [InlineData("exits")]
    [InlineData("never-healthy")]
    [InlineData("oom-killed")]
    [InlineData("http-500")]
    [InlineData("error-log")]
    [InlineData("exec-fails")]
    public async Task A_new_version_that_fails_is_rolled_back_and_the_previous_one_runs_and_passes_its_gates_again(string mode)
    {
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        var name = $"svc-{mode}";
        var planId = await App.SeedPlanAsync($"plan-{mode}", new PlanSpec([new PhaseSpec { Name = "core", Services = [V1(name)] }]));
        var first = await RollOutAsync(admin, planId);
        Assert.True(first.GetProperty("state").GetString() == "Succeeded", $"{first}\n--- worker ---\n{App.WorkerLog}");
        var v1 = Assert.Single(await App.ContainersAsync(), c => c.Labels["deploydeck.service"] == name);

        var (v2, kind, words) = V2(mode, name, FreePort());
        await App.AddRevisionAsync(planId, new PlanSpec([new PhaseSpec { Name = "core", Services = [v2] }]));
        var second = await RollOutAsync(admin, planId);

        Assert.True(second.GetProperty("state").GetString() == "RolledBack", $"{mode}: {second}\n--- worker ---\n{App.WorkerLog}");
        Assert.Contains(Messages(second, kind), m => m.Contains(words, StringComparison.OrdinalIgnoreCase));
        Assert.Contains("1 previous container(s) back and passing their gates", Assert.Single(Messages(second, "rollback.verified")), StringComparison.Ordinal);
        Assert.Empty(Messages(second, "rollback.failed"));

        var left = Assert.Single(await App.ContainersAsync(), c => c.Labels["deploydeck.service"] == name);
        Assert.Equal(v1.ID, left.ID);
        using var docker = DeployDeckApp.Docker();
        var inspect = await docker.Containers.InspectContainerAsync(v1.ID);
        Assert.True(inspect.State!.Running, $"{mode}: previous container is {inspect.State.Status}");
        Assert.Equal(v1.ImageID, inspect.Image);
    }

    [Fact]
    public async Task An_oom_kill_the_container_survives_is_caught_from_the_engine_event_log_during_the_soak()
    {
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        var service = V1("hog") with { Resources = new ResourceLimits(MemorySize.Parse("48m"), null, null, CpuShare.Parse("0.5")) };
        var planId = await App.SeedPlanAsync("oom-child", new PlanSpec([new PhaseSpec { Name = "core", Soak = TimeSpan.FromSeconds(40), Services = [service] }]));
        var started = await admin.PostAsJsonAsync("/api/rollouts", new { planId, hostId = await App.HostIdAsync() });
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (await App.QueryScalarAsync<long>($"SELECT count(*) FROM rollout_events WHERE \"RolloutId\" = '{id}' AND \"Kind\" = 'phase.soaking'") == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the phase never began its soak:\n" + App.WorkerLog);
            await Task.Delay(200);
        }

        // A child process grows past the limit: the kernel kills it, the container's main process lives on, inspect says nothing.
        var container = Assert.Single(await App.ContainersAsync(), c => c.Labels["deploydeck.rollout"] == id.ToString());
        using var docker = DeployDeckApp.Docker();
        var exec = await docker.Exec.CreateContainerExecAsync(container.ID, new ContainerExecCreateParameters
        {
            Cmd = ["/bin/sh", "-c", "x=$(head -c 100000000 /dev/zero | tr '\\0' x); echo survived"],
        });
        using (var stream = await docker.Exec.StartContainerExecAsync(exec.ID, new ContainerExecStartParameters()))
            await stream.ReadOutputToEndAsync(CancellationToken.None);
        var inspect = await docker.Containers.InspectContainerAsync(container.ID);
        Assert.True(inspect.State!.Running, "the container itself should survive the child's OOM kill");

        var rollout = await RolloutApiTests.WaitForFinalAsync(admin, id, TimeSpan.FromMinutes(2));
        Assert.True(rollout.GetProperty("state").GetString() == "RolledBack", $"{rollout}\n--- worker ---\n{App.WorkerLog}");
        Assert.Contains("OOM kill(s) in the container", Assert.Single(Messages(rollout, "soak.failed")), StringComparison.Ordinal);
    }
}
