using DeployDeck.Domain.Engine;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;
using DeployDeck.Infrastructure.Engine;
using DeployDeck.Tests.Shared;
using Docker.DotNet.Models;
using ServiceSpec = DeployDeck.Domain.Plans.ServiceSpec;
using RestartPolicy = DeployDeck.Domain.Plans.RestartPolicy;
using Microsoft.Extensions.Options;

namespace DeployDeck.Integration.Tests.Engine;

/// <summary>The adapter against the real engine; every container is labelled deploydeck.test and removed.</summary>
public sealed class DockerContainerEngineTests : IAsyncLifetime
{
    private readonly Docker.DotNet.DockerClient _docker = DeployDeckApp.Docker();
    private readonly List<string> _created = [];
    private DockerContainerEngine _engine = null!;

    public Task InitializeAsync()
    {
        _engine = new DockerContainerEngine(_docker, Options.Create(new DockerOptions()));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var id in _created)
            await _engine.RemoveAsync(id, CancellationToken.None);
        _docker.Dispose();
    }

    private async Task<string> CreateAsync(ServiceSpec spec, bool start = true)
    {
        var name = $"dd-test-{spec.Name}-{Guid.NewGuid().ToString("N")[..8]}";
        var id = await _engine.CreateAsync(new ContainerRequest(name, spec, new Dictionary<string, string> { ["deploydeck.test"] = "true" }), CancellationToken.None);
        _created.Add(id);
        if (start)
            await _engine.StartAsync(id, CancellationToken.None);
        return id;
    }

    private static ServiceSpec Probe(string name) => new() { Name = name, Image = "deploydeck/probe:latest" };

    private async Task<ContainerObservation> WaitAsync(string id, Func<ContainerObservation, bool> until, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var seen = await _engine.InspectAsync(id, CancellationToken.None);
            Assert.NotNull(seen);
            if (until(seen) || DateTime.UtcNow > deadline)
                return seen;
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task Created_container_carries_env_command_labels_ports_and_an_on_failure_policy_with_retries()
    {
        var spec = Probe("conf") with
        {
            Environment = new Dictionary<string, string> { ["PROBE_VERSION"] = "custom" },
            Entrypoint = ["/bin/sh", "-c"],
            Command = ["echo hello; sleep 30"],
            Ports = [new PortMapping(8080, 0, "tcp", "127.0.0.1"), new PortMapping(8080, 0, "tcp", "127.0.0.2"), new PortMapping(9000)],
            Ulimits = new Dictionary<string, DeployDeck.Domain.Plans.Ulimit> { ["nofile"] = new(1024, 2048) },
            Labels = new Dictionary<string, string> { ["team"] = "ops" },
            Restart = new RestartPolicy(RestartMode.OnFailure, 3),
            Resources = new ResourceLimits(MemorySize.Parse("48m"), null, MemorySize.Parse("96m"), CpuShare.Parse("0.25")),
        };
        var id = await CreateAsync(spec);

        var raw = await _docker.Containers.InspectContainerAsync(id);
        Assert.Contains("PROBE_VERSION=custom", raw.Config!.Env!);
        Assert.Equal(["echo hello; sleep 30"], raw.Config.Cmd!);
        Assert.Equal(["/bin/sh", "-c"], raw.Config.Entrypoint!);
        Assert.Equal("ops", raw.Config.Labels!["team"]);
        Assert.Equal("true", raw.Config.Labels!["deploydeck.test"]);
        Assert.Equal(RestartPolicyKind.OnFailure, raw.HostConfig!.RestartPolicy!.Name);
        Assert.Equal(3, raw.HostConfig.RestartPolicy.MaximumRetryCount);
        Assert.Equal(48L << 20, raw.HostConfig.Memory);
        Assert.Equal(96L << 20, raw.HostConfig.MemorySwap);
        Assert.Equal(250_000_000, raw.HostConfig.NanoCPUs);
        Assert.Equal(["127.0.0.1", "127.0.0.2"], raw.HostConfig.PortBindings!["8080/tcp"]!.Select(b => b.HostIP));
        Assert.Equal("", raw.HostConfig.PortBindings["9000/tcp"]![0].HostPort);
        var nofile = Assert.Single(raw.HostConfig.Ulimits!);
        Assert.Equal(("nofile", 1024L, 2048L), (nofile.Name, nofile.Soft, nofile.Hard));

        var seen = await _engine.InspectAsync(id, CancellationToken.None);
        Assert.Equal("on-failure", seen!.RestartPolicy);
        Assert.Equal(3, seen.RestartMaxRetries);
    }

    [Fact]
    public async Task Container_over_its_memory_limit_is_reported_oom_killed_with_exit_137()
    {
        var spec = Probe("hog") with
        {
            Environment = new Dictionary<string, string> { ["PROBE_ALLOC_MB"] = "100" },
            Resources = new ResourceLimits(MemorySize.Parse("24m"), null, null, null),
        };
        var id = await CreateAsync(spec);

        var seen = await WaitAsync(id, c => !c.Running);

        Assert.True(seen.OomKilled, $"status {seen.Status}, exit {seen.ExitCode}");
        Assert.Equal(137, seen.ExitCode);
    }

    [Fact]
    public async Task Health_check_makes_a_slow_starter_healthy_and_a_crash_reports_its_exit_code()
    {
        var healthy = await CreateAsync(Probe("slow") with
        {
            Environment = new Dictionary<string, string> { ["PROBE_START_DELAY"] = "2" },
            HealthCheck = ProbeSpecs.Health(10, TimeSpan.FromSeconds(5), interval: TimeSpan.FromMilliseconds(500)),
        });
        var crash = await CreateAsync(Probe("crash") with { Environment = new Dictionary<string, string> { ["PROBE_EXIT_AFTER"] = "1", ["PROBE_EXIT_CODE"] = "3" } });

        Assert.Equal(HealthStatus.Starting, (await _engine.InspectAsync(healthy, CancellationToken.None))!.Health);
        Assert.Equal(HealthStatus.Healthy, (await WaitAsync(healthy, c => c.Health == HealthStatus.Healthy)).Health);
        var crashed = await WaitAsync(crash, c => !c.Running);
        Assert.Equal(3, crashed.ExitCode);
        Assert.False(crashed.OomKilled);
    }

    [Fact]
    public async Task The_event_watch_reports_start_health_and_exit_of_the_labelled_containers_only()
    {
        var watched = Guid.NewGuid().ToString("N");
        var seen = new System.Collections.Concurrent.ConcurrentQueue<ContainerEvent>();
        using var stop = new CancellationTokenSource();
        var watching = _engine.WatchAsync(new Dictionary<string, string> { ["deploydeck.test.watch"] = watched }, seen.Enqueue, stop.Token);
        await Task.Delay(500); // the stream is open before anything happens

        var labels = new Dictionary<string, string> { ["deploydeck.test"] = "true", ["deploydeck.test.watch"] = watched };
        var spec = Probe("watched") with
        {
            Environment = new Dictionary<string, string> { ["PROBE_EXIT_AFTER"] = "3", ["PROBE_EXIT_CODE"] = "4" },
            HealthCheck = ProbeSpecs.Health(10, TimeSpan.Zero, interval: TimeSpan.FromMilliseconds(500)),
        };
        var id = await _engine.CreateAsync(new ContainerRequest($"dd-test-watched-{watched[..8]}", spec, labels), CancellationToken.None);
        _created.Add(id);
        await _engine.StartAsync(id, CancellationToken.None);
        var other = await CreateAsync(Probe("unwatched") with { Environment = new Dictionary<string, string> { ["PROBE_EXIT_AFTER"] = "1" } });

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!seen.Any(e => e.Action == "die") && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        await stop.CancelAsync();
        await watching.ContinueWith(_ => { }, TaskScheduler.Default); // ends with the token, one way or another

        var actions = seen.Select(e => e.Action).ToList();
        Assert.All(seen, e => Assert.Equal(id, e.ContainerId));
        Assert.DoesNotContain(seen, e => e.ContainerId == other);
        Assert.Equal("start", actions[0]);
        Assert.Contains("health_status: healthy", actions);
        Assert.Equal("die", actions[^1]);
        Assert.Equal("4", seen.Last().Labels["exitCode"]);
        Assert.False(seen.Last().IsOom);
    }

    [Fact]
    public async Task List_finds_by_labels_and_a_removed_container_inspects_as_null_and_removes_again_quietly()
    {
        var id = await CreateAsync(Probe("gone"), start: false);
        var marker = Guid.NewGuid().ToString();
        var labelled = await CreateAsync(Probe("marked") with { Labels = new Dictionary<string, string> { ["deploydeck.marker"] = marker } }, start: false);

        var found = await _engine.ListAsync(new Dictionary<string, string> { ["deploydeck.marker"] = marker }, CancellationToken.None);
        Assert.Equal(labelled, Assert.Single(found).Id);

        await _engine.RemoveAsync(id, CancellationToken.None);
        Assert.Null(await _engine.InspectAsync(id, CancellationToken.None));
        await _engine.RemoveAsync(id, CancellationToken.None);
    }

    [Fact]
    public async Task Absent_image_fails_creation_with_a_message_naming_it()
    {
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => CreateAsync(new ServiceSpec { Name = "ghost", Image = "deploydeck/absent:never" }));
        Assert.Contains("deploydeck/absent", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_host_check_reads_the_same_figures_from_local_files_as_from_the_probe_container()
    {
        var id = await CreateAsync(new ServiceSpec
        {
            // 20 MB in the container's tmpfs: charged to its cgroup, not page cache that can be dropped, and steady
            // (a shell variable of that size is copied at every fork of the probe's loop).
            Name = "measured", Image = "deploydeck/probe:latest", Entrypoint = ["/bin/sh", "-c"],
            Command = ["dd if=/dev/zero of=/dev/shm/fill bs=1048576 count=20 && exec sleep 3600"],
            Resources = new ResourceLimits(MemorySize.Parse("64m"), null, null, null),
        });
        using var raw = new DockerRaw(Options.Create(new DockerOptions()));
        DockerHostInspector Inspector(HostCheckMethod method) => new(_docker, raw, Options.Create(new DockerOptions()),
            Options.Create(new PreflightOptions { Method = method }), TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<DockerHostInspector>.Instance);

        // The allocation (a shell string built through a pipe) peaks above its final size: wait until it holds still.
        var local = await Inspector(HostCheckMethod.Local).MeasureAsync(CancellationToken.None);
        for (var i = 0; i < 60; i++)
        {
            await Task.Delay(500);
            var again = await Inspector(HostCheckMethod.Local).MeasureAsync(CancellationToken.None);
            var settled = local.ContainerMemory.TryGetValue(id, out var before) && again.ContainerMemory.TryGetValue(id, out var after)
                && after > 15L * 1024 * 1024 && Math.Abs(after - before) < 1024 * 1024;
            local = again;
            if (settled)
                break;
        }

        var probe = await Inspector(HostCheckMethod.Probe).MeasureAsync(CancellationToken.None);

        Assert.DoesNotContain(local.Notes, n => !n.Contains("cgroup memory of", StringComparison.Ordinal));
        Assert.Null(local.ProbePeakBytes); // no container was started for it
        Assert.NotNull(probe.ProbePeakBytes);
        Assert.Equal(probe.MemoryTotalBytes, local.MemoryTotalBytes);
        Assert.InRange(local.MemoryUsedBytes!.Value, probe.MemoryUsedBytes!.Value - (probe.MemoryTotalBytes / 20), probe.MemoryUsedBytes.Value + (probe.MemoryTotalBytes / 20));
        Assert.InRange(local.DiskUsedBytes!.Value, probe.DiskUsedBytes!.Value * 0.99, probe.DiskUsedBytes.Value * 1.01 + 100_000_000);
        Assert.NotNull(local.Load1);
        var fromFiles = local.ContainerMemory[id];
        var fromProbe = probe.ContainerMemory[id];
        Assert.InRange(fromFiles, 15L * 1024 * 1024, 64L * 1024 * 1024);
        Assert.InRange(fromFiles, fromProbe * 0.8, fromProbe * 1.2);
    }
}
