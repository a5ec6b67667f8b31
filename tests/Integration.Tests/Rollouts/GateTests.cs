using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;
using DeployDeck.Integration.Tests.Api;
using DeployDeck.Tests.Shared;

namespace DeployDeck.Integration.Tests.Rollouts;

/// <summary>Gates evaluated by the Worker against real containers: HTTP from the Worker, exec, logs and memory through the engine.</summary>
public sealed class GateTests() : AppPerClass()
{

    private static int FreePort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static ServiceSpec Probe(string name, Dictionary<string, string>? env = null) => new()
    {
        Name = name,
        Image = "deploydeck/probe:latest",
        Environment = env ?? [],
        Resources = new ResourceLimits(MemorySize.Parse("64m"), null, null, CpuShare.Parse("0.25")),
        HealthCheck = ProbeSpecs.Health(3, TimeSpan.FromSeconds(30)),
    };

    private async Task<JsonElement> RollOutAsync(string name, ServiceSpec service, TimeSpan soak = default)
    {
        var planId = await App.SeedPlanAsync(name, new PlanSpec([new PhaseSpec { Name = "core", Soak = soak, Services = [service] }]));
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        var started = await admin.PostAsJsonAsync("/api/rollouts", new { planId, hostId = await App.HostIdAsync() });
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        return await RolloutApiTests.WaitForFinalAsync(admin, id, TimeSpan.FromMinutes(2));
    }

    private static List<string> Events(JsonElement rollout, string kind) => rollout.GetProperty("events").EnumerateArray()
        .Where(e => e.GetProperty("kind").GetString() == kind).Select(e => e.GetProperty("message").GetString()!).ToList();

    [Fact]
    public async Task Passing_gates_are_recorded_with_their_figures()
    {
        var port = FreePort();
        var service = Probe("web") with
        {
            Ports = [new PortMapping(8080, port, "tcp", "127.0.0.1")],
            Gates =
            [
                new GateSpec { Kind = GateKind.Http, Url = $"http://127.0.0.1:{port}/health", MinStatus = 200, MaxStatus = 299 },
                new GateSpec { Kind = GateKind.Exec, Command = ["/bin/sh", "-c", "test -x /bin/busybox"] },
                new GateSpec { Kind = GateKind.Logs, Pattern = "ERROR|FATAL", WindowSeconds = 60 },
                new GateSpec { Kind = GateKind.Memory, MaxMemoryPercent = 95 },
            ],
        };

        var rollout = await RollOutAsync("gated", service, TimeSpan.FromSeconds(6));

        Assert.True(rollout.GetProperty("state").GetString() == "Succeeded", $"{rollout}\n--- worker ---\n{App.WorkerLog}");
        Assert.Contains("Soaked 6s: ", Assert.Single(Events(rollout, "phase.soaked")), StringComparison.Ordinal);
        var passed = Events(rollout, "gate.passed");
        Assert.Equal(4, passed.Count);
        Assert.Contains(passed, m => m.StartsWith($"GET http://127.0.0.1:{port}/health answers 200–299: HTTP 200 in ", StringComparison.Ordinal));
        Assert.Contains(passed, m => m.Contains("exits 0: exit 0", StringComparison.Ordinal));
        Assert.Contains(passed, m => m.Contains("no log line matching /ERROR|FATAL/", StringComparison.Ordinal) && m.Contains("no match in", StringComparison.Ordinal));
        Assert.Contains(passed, m => m.Contains("% of 64 MB", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_error_in_the_logs_fails_the_gate_and_the_phase_is_rolled_back()
    {
        var service = Probe("noisy", new Dictionary<string, string> { ["PROBE_ERROR_EVERY"] = "1", ["PROBE_START_DELAY"] = "3" }) with
        {
            Gates = [new GateSpec { Kind = GateKind.Logs, Pattern = "ERROR", WindowSeconds = 60 }],
        };

        var rollout = await RollOutAsync("noisy", service);

        Assert.Equal("RolledBack", rollout.GetProperty("state").GetString());
        var failed = Assert.Single(Events(rollout, "gate.failed"));
        Assert.Contains("matched: ", failed, StringComparison.Ordinal);
        Assert.Contains("ERROR probe failure simulated", failed, StringComparison.Ordinal);
        Assert.DoesNotContain(await App.ContainersAsync(), c => c.Labels["deploydeck.service"] == "noisy");
    }

    [Fact]
    public async Task A_restart_during_the_soak_fails_the_phase_even_though_the_restart_policy_brought_it_back()
    {
        // It outlives its 5 s monitor time, so it is ready, and then exits during the soak.
        var service = Probe("flaky", new Dictionary<string, string> { ["PROBE_EXIT_AFTER"] = "9", ["PROBE_EXIT_CODE"] = "2" }) with
        {
            HealthCheck = null,
            Restart = new RestartPolicy(RestartMode.Always),
        };

        var rollout = await RollOutAsync("flaky", service, TimeSpan.FromSeconds(20));

        Assert.Equal("RolledBack", rollout.GetProperty("state").GetString());
        var failed = Assert.Single(Events(rollout, "soak.failed"));
        Assert.Contains("flaky after ", failed, StringComparison.Ordinal);
        Assert.Contains("restarted 1 time(s)", failed, StringComparison.Ordinal);
        Assert.Empty(Events(rollout, "phase.soaked"));
    }

    [Fact]
    public async Task A_service_without_a_health_check_that_exits_a_second_after_its_start_fails_its_phase_even_with_no_soak()
    {
        var service = Probe("brief", new Dictionary<string, string> { ["PROBE_EXIT_AFTER"] = "1", ["PROBE_EXIT_CODE"] = "0" }) with { HealthCheck = null };

        var rollout = await RollOutAsync("brief", service, TimeSpan.Zero);

        Assert.Equal("RolledBack", rollout.GetProperty("state").GetString());
        Assert.Contains("not running: exited", Assert.Single(Events(rollout, "service.failed")), StringComparison.Ordinal);
        Assert.Empty(Events(rollout, "service.ready"));
    }

    [Fact]
    public async Task A_chaos_gate_kills_the_container_and_passes_when_the_restart_policy_brings_it_back_healthy()
    {
        var service = Probe("phoenix") with
        {
            Restart = new RestartPolicy(RestartMode.UnlessStopped),
            Gates = [new GateSpec { Kind = GateKind.Chaos, TimeoutSeconds = 30 }, new GateSpec { Kind = GateKind.Exec, Command = ["/bin/true"] }],
        };

        var rollout = await RollOutAsync("phoenix", service);

        Assert.True(rollout.GetProperty("state").GetString() == "Succeeded", $"{rollout}\n--- worker ---\n{App.WorkerLog}");
        var chaos = Assert.Single(Events(rollout, "gate.passed"), m => m.StartsWith("killed and back", StringComparison.Ordinal));
        Assert.Contains("killed; back and healthy after ", chaos, StringComparison.Ordinal);
        var container = Assert.Single(await App.ContainersAsync(), c => c.Labels["deploydeck.service"] == "phoenix");
        using var docker = DeployDeck.Tests.Shared.DeployDeckApp.Docker();
        var inspect = await docker.Containers.InspectContainerAsync(container.ID);
        Assert.Equal(1, inspect.RestartCount);
        Assert.True(inspect.State!.Running);
        Assert.DoesNotContain(await docker.Containers.ListContainersAsync(new Docker.DotNet.Models.ContainersListParameters { All = true }),
            c => c.Labels.TryGetValue("deploydeck.helper", out var h) && h == "chaos" && c.Labels.ContainsKey("deploydeck.test"));
    }

    [Fact]
    public async Task A_chaos_gate_fails_when_the_killed_container_is_not_healthy_again_in_time()
    {
        // Back, but its health check only runs every 20 s: not healthy within the gate's 3 s.
        var service = Probe("sluggish") with
        {
            Restart = new RestartPolicy(RestartMode.Always),
            HealthCheck = ProbeSpecs.Health(3, TimeSpan.Zero, interval: TimeSpan.FromSeconds(20)),
            Gates = [new GateSpec { Kind = GateKind.Chaos, TimeoutSeconds = 3 }],
        };

        var rollout = await RollOutAsync("sluggish", service);

        Assert.True(rollout.GetProperty("state").GetString() == "RolledBack", $"{rollout}\n--- worker ---\n{App.WorkerLog}");
        var failed = Assert.Single(Events(rollout, "gate.failed"));
        Assert.Contains("killed; not back within 3 s", failed, StringComparison.Ordinal);
        Assert.Contains("restart policy always", failed, StringComparison.Ordinal);
    }
}
