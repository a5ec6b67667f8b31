using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using Docker.DotNet;
using Docker.DotNet.Models;
using Xunit.Abstractions;

namespace DeployDeck.Production.Tests;

/// <summary>
/// The production deployment as a user runs it, on the real engine with no registry: DeployDeck's image built from the
/// local bases (`images/deploydeck/build.sh`, what `./deploydeck images --production` runs), then
/// `docker-compose -f docker-compose.yml -f docker-compose.offline.yml` up, healthy, a rollout through the API, and the
/// history still there after `down` and `up`. Everything it makes carries a project name of its own and is removed.
/// </summary>
public sealed class ProductionDeploymentTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly string TestRun = Environment.GetEnvironmentVariable("DEPLOYDECK_TEST_RUN") ?? "local";
    private static readonly string[] Terminal = ["Succeeded", "Failed", "RolledBack", "Aborted"];

    private readonly DockerClient _docker = new DockerClientBuilder()
        .WithEndpoint(new Uri(Environment.GetEnvironmentVariable("DOCKER_HOST") ?? "unix:///var/run/docker.sock")).Build();
    private readonly string _tag = Guid.NewGuid().ToString("N")[..10];
    private readonly string _dir = Directory.CreateTempSubdirectory("dd-prod-").FullName;
    private readonly int _port = FreePort();
    private readonly string _adminPassword = Secret(20);
    private readonly string _postgresPassword = Secret(24);
    private readonly string _workerKey = Secret(48);
    private readonly string _keyRingKey = Secret(48);
    private readonly int _dogfoodPort = FreePort();
    private readonly string _dogfoodAdminPassword = Secret(20);

    // The stack's .env, the same for every revision, as a user keeps it: a new POSTGRES_PASSWORD or key-ring key would
    // lock the upgraded Web out of the database it keeps (seen: it exits 2 and the rollout rolls it back).
    private readonly string[] _dogfoodSecrets = [$"POSTGRES_PASSWORD={Secret(24)}", $"DEPLOYDECK_WORKER_KEY={Secret(48)}", $"DEPLOYDECK_KEY_RING_KEY={Secret(48)}"];
    private Guid? _rollout;

    private string Project => $"ddprod{_tag}";

    private string Image => $"deploydeck:test-{_tag}";

    /// <summary>The stack the DeployDeck under test rolls out from DeployDeck's own files: a plan's name is its project's.</summary>
    private string DogfoodProject => $"dogfood{_tag}";

    private string UpgradeImage => $"deploydeck:test-{_tag}-upgrade";

    public Task InitializeAsync()
    {
        // Test settings over the two files a user runs: the demo plan, labels that let ./deploydeck test sweep up after a
        // crash, and containers of the demo rollout labelled as this run's.
        File.WriteAllText(Path.Combine(_dir, "docker-compose.test.yml"), $$"""
            services:
              postgres:
                labels: { deploydeck.test: "true", deploydeck.test.run: "{{TestRun}}" }
              web:
                labels: { deploydeck.test: "true", deploydeck.test.run: "{{TestRun}}" }
                environment:
                  DeployDeck__SeedDemo: "true"
              worker:
                labels: { deploydeck.test: "true", deploydeck.test.run: "{{TestRun}}" }
                environment:
                  Rollouts__ExtraLabels__deploydeck.test: "true"
                  Rollouts__ExtraLabels__deploydeck.test.run: "{{TestRun}}"
            """);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await RemoveDogfoodAsync();
        var (exit, text) = await ComposeAsync(TimeSpan.FromMinutes(3), "down", "--volumes", "--remove-orphans", "--timeout", "20");
        if (exit != 0)
            output.WriteLine($"docker-compose down -v failed: {text}");
        if (_rollout is { } rollout)
        {
            var containers = await _docker.Containers.ListContainersAsync(new ContainersListParameters
            {
                All = true,
                Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"deploydeck.rollout={rollout}"] = true } },
            });
            foreach (var container in containers)
                await _docker.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true });
        }

        foreach (var image in new[] { UpgradeImage, Image })
        {
            try
            {
                await _docker.Images.DeleteImageAsync(image, new ImageDeleteParameters());
            }
            catch (DockerApiException)
            {
                // never built
            }
        }

        Directory.Delete(_dir, recursive: true);
        _docker.Dispose();
    }

    [Fact]
    public async Task Image_builds_offline_and_compose_up_serves_a_DeployDeck_whose_rollout_succeeds_and_whose_history_survives_down_and_up()
    {
        var build = await RunAsync(Path.Combine(RepoRoot, "images", "deploydeck", "build.sh"), [Image], null, TimeSpan.FromMinutes(20));
        output.WriteLine(build.Output);
        Assert.True(build.Exit == 0, build.Output);
        var image = await _docker.Images.InspectImageAsync(Image);
        Assert.Equal("app", image.Config!.User);
        output.WriteLine($"{Image}: {image.Size / 1e6:F0} MB");

        var (upExit, up) = await ComposeAsync(TimeSpan.FromMinutes(5), "up", "-d");
        Assert.True(upExit == 0, up);
        await WaitHealthyAsync();
        Assert.Equal("1654", (await ExecAsync("web", "stat", "-c", "%u", "/proc/1")).Trim());
        Assert.Equal("1654", (await ExecAsync("worker", "stat", "-c", "%u", "/proc/1")).Trim());

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}"), Timeout = TimeSpan.FromSeconds(90) };
        var token = await SignInAsync(http);
        http.DefaultRequestHeaders.Authorization = new("Bearer", token);

        var host = (await GetJsonAsync(http, "/api/hosts")).EnumerateArray().Single(h => h.GetProperty("name").GetString() == "local");
        var hostId = host.GetProperty("id").GetString();
        // This 2-core machine's load is above the runbook's bands while tests run: an Admin widens them, as a user would.
        var bands = await http.PutAsJsonAsync($"/api/hosts/{hostId}/thresholds", new { loadYellow = 1000, loadRed = 1000 });
        Assert.True(bands.IsSuccessStatusCode, await bands.Content.ReadAsStringAsync());
        var plan = (await GetJsonAsync(http, "/api/plans")).EnumerateArray().Single(p => p.GetProperty("name").GetString() == "demo");

        var started = await http.PostAsJsonAsync("/api/rollouts", new { planId = plan.GetProperty("id").GetString(), hostId });
        var startedBody = await started.Content.ReadAsStringAsync();
        Assert.True(started.StatusCode == HttpStatusCode.Created, startedBody);
        var rollout = JsonDocument.Parse(startedBody).RootElement.GetProperty("id").GetGuid();
        _rollout = rollout;
        var state = await WaitForRolloutAsync(http, rollout);
        Assert.True(state == "Succeeded", $"the demo rollout ended {state}; the Worker logged:\n{await LogsAsync("worker")}");

        // The Worker samples from the host's cgroup tree mounted into its container, not from engine stats calls.
        Assert.Contains("from cgroup-", await LogsAsync("worker"), StringComparison.Ordinal);
        var stats = await WaitForStatsAsync(http, hostId!, rollout);
        Assert.StartsWith("cgroup-", stats.GetProperty("source").GetString(), StringComparison.Ordinal);

        await DogfoodAsync(http, hostId!);

        var keys = await ExecAsync("web", "ls", "/home/app/.aspnet/DataProtection-Keys");
        await RecordIdleMemoryAsync();

        var (downExit, down) = await ComposeAsync(TimeSpan.FromMinutes(2), "down", "--timeout", "20");
        Assert.True(downExit == 0, down);
        Assert.Empty(await ProjectContainersAsync());
        await _docker.Volumes.InspectAsync($"{Project}_pgdata"); // kept: down without --volumes

        var (againExit, again) = await ComposeAsync(TimeSpan.FromMinutes(5), "up", "-d");
        Assert.True(againExit == 0, again);
        await WaitHealthyAsync();
        // Same database: the token still signs in, and the rollout is in the history as it ended.
        var kept = await GetJsonAsync(http, $"/api/rollouts/{rollout}");
        Assert.Equal("Succeeded", kept.GetProperty("state").GetString());
        Assert.Equal(keys, await ExecAsync("web", "ls", "/home/app/.aspnet/DataProtection-Keys"));
    }

    /// <summary>
    /// DeployDeck rolls out its own stack: docker-compose.yml and the offline override imported as a plan (the Docker
    /// socket and the host's cgroup tree need an Admin's allowance), rolled out in the file's phases — postgres, web,
    /// worker — with its limits and health checks, then upgraded to a new image with every container recreated: the
    /// new DeployDeck still has the old one's users, tokens and plans (pgdata) and sign-in keys (dataprotection).
    /// </summary>
    private async Task DogfoodAsync(HttpClient http, string hostId)
    {
        var operatorPassword = Secret(20);
        var created = await http.PostAsJsonAsync("/api/users", new { username = "ops", password = operatorPassword, roles = new[] { "Operator" } });
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        using var ops = new HttpClient { BaseAddress = http.BaseAddress, Timeout = http.Timeout };
        ops.DefaultRequestHeaders.Authorization = new("Bearer", await SignInAsync(ops, "ops", operatorPassword));

        var refused = await ops.PostAsJsonAsync("/api/plans/import", DogfoodImport(Image, hostAccessReason: null));
        var refusal = await refused.Content.ReadAsStringAsync();
        Assert.True(refused.StatusCode == HttpStatusCode.Forbidden, refusal);
        Assert.Contains("/var/run/docker.sock", refusal, StringComparison.Ordinal);
        var noReason = await http.PostAsJsonAsync("/api/plans/import", DogfoodImport(Image, hostAccessReason: null));
        Assert.True(noReason.StatusCode == HttpStatusCode.UnprocessableEntity, await noReason.Content.ReadAsStringAsync());

        var imported = await http.PostAsJsonAsync("/api/plans/import", DogfoodImport(Image, "DeployDeck drives this host's engine"));
        var importedBody = await imported.Content.ReadAsStringAsync();
        Assert.True(imported.StatusCode == HttpStatusCode.Created, importedBody);
        var planId = JsonDocument.Parse(importedBody).RootElement.GetProperty("plan").GetProperty("id").GetString()!;

        var first = await RolloutAsync(http, planId, hostId, forceRecreate: false);
        Assert.Equal(["core", "web", "worker"], first.GetProperty("phases").EnumerateArray().Select(p => p.GetProperty("name").GetString()));
        var before = await DogfoodContainersAsync();
        Assert.Equal(["postgres", "web", "worker"], before.Keys.Order(StringComparer.Ordinal));
        await AssertAsComposedAsync(before, Image);

        // The stack it made is a working DeployDeck: sign in, keep a plan there.
        using var dogfood = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_dogfoodPort}"), Timeout = TimeSpan.FromSeconds(60) };
        dogfood.DefaultRequestHeaders.Authorization = new("Bearer", await SignInAsync(dogfood, "admin", _dogfoodAdminPassword));
        var kept = await dogfood.PostAsJsonAsync("/api/plans/import", new
        {
            name = "kept-across-upgrades",
            files = new[] { new { name = "docker-compose.yml", content = "services:\n  app:\n    image: deploydeck/probe:latest\n    mem_limit: 32m\n" } },
        });
        Assert.True(kept.StatusCode == HttpStatusCode.Created, await kept.Content.ReadAsStringAsync());
        var signInKeys = await ExecInAsync(before["web"], "ls", "/home/app/.aspnet/DataProtection-Keys");
        // An upgrade: a new image for web and worker, every container recreated (forceRecreate), postgres included.
        var upgrade = await RunAsync("docker", ["build", "-q", "-t", UpgradeImage, "-"], null, TimeSpan.FromMinutes(2),
            $"FROM {Image}\nLABEL deploydeck.test.upgrade=\"{_tag}\"\n");
        Assert.True(upgrade.Exit == 0, upgrade.Output);
        var revision = await http.PostAsJsonAsync($"/api/plans/{planId}/revisions/import", DogfoodImport(UpgradeImage, "DeployDeck drives this host's engine"));
        Assert.True(revision.StatusCode == HttpStatusCode.Created, await revision.Content.ReadAsStringAsync());
        await RolloutAsync(http, planId, hostId, forceRecreate: true);
        var after = await DogfoodContainersAsync();
        foreach (var (service, id) in after)
            Assert.NotEqual(before[service], id);
        await AssertAsComposedAsync(after, UpgradeImage);

        // The volumes' contents tell: a local volume's CreatedAt is its directory's mtime, which a first mount changes.
        var plans = await GetJsonAsync(dogfood, "/api/plans"); // the token from before the upgrade still signs in
        Assert.Contains(plans.EnumerateArray(), p => p.GetProperty("name").GetString() == "kept-across-upgrades");
        Assert.Equal(signInKeys, await ExecInAsync(after["web"], "ls", "/home/app/.aspnet/DataProtection-Keys"));
    }

    private object DogfoodImport(string image, string? hostAccessReason)
    {
        var env = string.Join('\n', [
            .. _dogfoodSecrets,
            $"DEPLOYDECK_ADMIN_PASSWORD={_dogfoodAdminPassword}",
            $"DEPLOYDECK_PORT={_dogfoodPort}",
            $"DEPLOYDECK_IMAGE={image}",
            $"DOCKER_GID={DockerGid()}"]);
        // Soaks of seconds instead of the file's minutes; nothing else differs from what a user imports.
        const string shortSoaks = "x-deploydeck:\n  phases:\n    core: { soak: 5s }\n    web: { soak: 5s }\n    worker: { soak: 5s }\n";
        return new
        {
            name = DogfoodProject,
            files = new[]
            {
                new { name = "docker-compose.yml", content = File.ReadAllText(Path.Combine(RepoRoot, "docker-compose.yml")) },
                new { name = "docker-compose.offline.yml", content = File.ReadAllText(Path.Combine(RepoRoot, "docker-compose.offline.yml")) },
                new { name = "docker-compose.soak.yml", content = shortSoaks },
            },
            env,
            hostAccessReason,
        };
    }

    private async Task<JsonElement> RolloutAsync(HttpClient http, string planId, string hostId, bool forceRecreate)
    {
        var started = await http.PostAsJsonAsync("/api/rollouts", new { planId, hostId, forceRecreate });
        var body = await started.Content.ReadAsStringAsync();
        Assert.True(started.StatusCode == HttpStatusCode.Created, body);
        var rollout = JsonDocument.Parse(body).RootElement.GetProperty("id").GetGuid();
        var state = await WaitForRolloutAsync(http, rollout);
        var record = await GetJsonAsync(http, $"/api/rollouts/{rollout}");
        Assert.True(state == "Succeeded", $"the rollout of DeployDeck's own stack ended {state}: {record}\nthe Worker logged:\n{await LogsAsync("worker")}");
        return record;
    }

    /// <summary>Running containers of the dogfood stack by service.</summary>
    private async Task<Dictionary<string, string>> DogfoodContainersAsync()
    {
        var containers = await _docker.Containers.ListContainersAsync(new ContainersListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"com.docker.compose.project={DogfoodProject}"] = true } },
        });
        return containers.ToDictionary(c => c.Labels["com.docker.compose.service"], c => c.ID, StringComparer.Ordinal);
    }

    /// <summary>What docker-compose.yml says of each service, read back from the engine.</summary>
    private async Task AssertAsComposedAsync(Dictionary<string, string> containers, string image)
    {
        var limits = new Dictionary<string, (long Memory, long NanoCpus)> { ["postgres"] = (512, 1_000_000_000), ["web"] = (384, 1_000_000_000), ["worker"] = (256, 500_000_000) };
        foreach (var (service, id) in containers)
        {
            var inspect = await _docker.Containers.InspectContainerAsync(id);
            Assert.Equal(limits[service].Memory * 1024 * 1024, inspect.HostConfig!.Memory);
            Assert.Equal(limits[service].NanoCpus, inspect.HostConfig.NanoCPUs);
            Assert.Equal(RestartPolicyKind.UnlessStopped, inspect.HostConfig.RestartPolicy!.Name);
            Assert.Equal("healthy", inspect.State!.Health!.Status);
            Assert.Equal(service == "postgres" ? "deploydeck/postgres:15" : image, inspect.Config!.Image);
            Assert.Contains($"{DogfoodProject}_default", inspect.NetworkSettings!.Networks.Keys);
        }

        var web = await _docker.Containers.InspectContainerAsync(containers["web"]);
        Assert.Contains(web.Mounts!, m => m.Source == "/var/run/docker.sock" && !m.RW);
        Assert.Contains(web.Mounts!, m => m.Name == $"{DogfoodProject}_dataprotection" && m.Destination == "/home/app/.aspnet/DataProtection-Keys");
        var postgres = await _docker.Containers.InspectContainerAsync(containers["postgres"]);
        Assert.Contains(postgres.Mounts!, m => m.Name == $"{DogfoodProject}_pgdata" && m.Destination == "/var/lib/postgresql/data");
    }

    private async Task RemoveDogfoodAsync()
    {
        var containers = await _docker.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"com.docker.compose.project={DogfoodProject}"] = true } },
        });
        foreach (var container in containers)
            await _docker.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true });
        foreach (var volume in new[] { "pgdata", "dataprotection" })
        {
            try
            {
                await _docker.Volumes.RemoveAsync($"{DogfoodProject}_{volume}", force: true);
            }
            catch (DockerApiException)
            {
                // never made
            }
        }

        var networks = await _docker.Networks.ListNetworksAsync(new NetworksListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"com.docker.compose.project={DogfoodProject}"] = true } },
        });
        foreach (var network in networks)
            await _docker.Networks.DeleteNetworkAsync(network.ID);
    }

    private Task<string> SignInAsync(HttpClient http) => SignInAsync(http, "admin", _adminPassword);

    private static async Task<string> SignInAsync(HttpClient http, string username, string password)
    {
        var response = await http.PostAsJsonAsync("/api/tokens", new { username, password, name = "production-test" });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST /api/tokens → {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.GetProperty("token").GetString()!;
    }

    private static async Task<JsonElement> GetJsonAsync(HttpClient http, string path)
    {
        var response = await http.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path} → {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement;
    }

    private static async Task<string> WaitForRolloutAsync(HttpClient http, Guid rollout)
    {
        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (true)
        {
            var state = (await GetJsonAsync(http, $"/api/rollouts/{rollout}?wait=60")).GetProperty("state").GetString()!;
            if (Terminal.Contains(state) || DateTime.UtcNow > deadline)
                return state;
        }
    }

    /// <summary>The latest live sample once every container of the rollout has a memory figure in it.</summary>
    private static async Task<JsonElement> WaitForStatsAsync(HttpClient http, string hostId, Guid rollout)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var stats = await GetJsonAsync(http, $"/api/hosts/{hostId}/stats");
            var ours = stats.GetProperty("containers").EnumerateArray()
                .Where(c => c.GetProperty("rollout").GetString() == rollout.ToString()).ToList();
            if (ours.Count > 0 && ours.All(c => c.GetProperty("memoryBytes") is { ValueKind: JsonValueKind.Number } m && m.GetInt64() > 0))
                return stats;
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"no memory figures for the rollout's containers in 30 s: {stats}");
            await Task.Delay(1000);
        }
    }

    /// <summary>docs/benchmarks.md: what each container holds once the rollout is over (usage − inactive file, as docker stats).</summary>
    private async Task RecordIdleMemoryAsync()
    {
        foreach (var container in await ProjectContainersAsync())
        {
            var latest = new Latest<ContainerStatsResponse>();
            await _docker.Containers.GetContainerStatsAsync(container.ID, new ContainerStatsParameters { Stream = false, OneShot = true }, latest);
            if (latest.Value?.MemoryStats is { Usage: var usage } memory)
            {
                var inactive = memory.Stats?.TryGetValue("total_inactive_file", out var v) == true ? v : 0;
                output.WriteLine($"{container.Labels["com.docker.compose.service"]}: {(usage - inactive) / 1048576.0:F1} MiB");
            }
        }
    }

    private async Task WaitHealthyAsync()
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (true)
        {
            var containers = await ProjectContainersAsync();
            var states = new List<string>();
            foreach (var container in containers)
            {
                var state = (await _docker.Containers.InspectContainerAsync(container.ID)).State!;
                states.Add($"{container.Labels["com.docker.compose.service"]}: {state.Status}/{state.Health?.Status}");
            }

            if (containers.Count == 3 && states.All(s => s.EndsWith("running/healthy", StringComparison.Ordinal)))
                return;
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"not every service became healthy in 3 minutes: {string.Join(", ", states)}\n{await LogsAsync("web")}\n{await LogsAsync("worker")}");
            await Task.Delay(1000);
        }
    }

    private async Task<IList<ContainerListResponse>> ProjectContainersAsync() =>
        await _docker.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"com.docker.compose.project={Project}"] = true } },
        });

    private async Task<string> ServiceContainerAsync(string service) =>
        (await ProjectContainersAsync()).Single(c => c.Labels["com.docker.compose.service"] == service).ID;

    private async Task<string> ExecAsync(string service, params string[] command) => await ExecInAsync(await ServiceContainerAsync(service), command);

    private async Task<string> ExecInAsync(string container, params string[] command)
    {
        var exec = await _docker.Exec.CreateContainerExecAsync(container,
            new ContainerExecCreateParameters { Cmd = command, AttachStdout = true, AttachStderr = true });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var stream = await _docker.Exec.StartContainerExecAsync(exec.ID, new ContainerExecStartParameters(), timeout.Token);
        var (stdout, stderr) = await stream.ReadOutputToEndAsync(timeout.Token);
        var inspect = await _docker.Exec.InspectContainerExecAsync(exec.ID, timeout.Token);
        Assert.True(inspect.ExitCode == 0, $"{string.Join(' ', command)} in {container} exited {inspect.ExitCode}: {stdout}{stderr}");
        return stdout;
    }

    private async Task<string> LogsAsync(string service)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            using var stream = await _docker.Containers.GetContainerLogsAsync(await ServiceContainerAsync(service),
                new ContainerLogsParameters { ShowStdout = true, ShowStderr = true, Tail = "200" }, timeout.Token);
            var (stdout, stderr) = await stream.ReadOutputToEndAsync(timeout.Token);
            return stdout + stderr;
        }
        catch (InvalidOperationException)
        {
            return $"({service} has no container)";
        }
    }

    private Task<(int Exit, string Output)> ComposeAsync(TimeSpan timeout, params string[] args)
    {
        var env = new Dictionary<string, string>
        {
            ["POSTGRES_PASSWORD"] = _postgresPassword,
            ["DEPLOYDECK_WORKER_KEY"] = _workerKey,
            ["DEPLOYDECK_KEY_RING_KEY"] = _keyRingKey,
            ["DEPLOYDECK_ADMIN_USER"] = "admin",
            ["DEPLOYDECK_ADMIN_PASSWORD"] = _adminPassword,
            ["DEPLOYDECK_PORT"] = _port.ToString(CultureInfo.InvariantCulture),
            ["DEPLOYDECK_IMAGE"] = Image,
            ["DOCKER_GID"] = DockerGid(),
        };
        string[] files =
        [
            "-p", Project,
            "-f", Path.Combine(RepoRoot, "docker-compose.yml"),
            "-f", Path.Combine(RepoRoot, "docker-compose.offline.yml"),
            "-f", Path.Combine(_dir, "docker-compose.test.yml"),
        ];
        return RunAsync("docker-compose", [.. files, .. args], env, timeout);
    }

    /// <summary>The group of the engine's socket, which the non-root Web and Worker are added to (README, Production).</summary>
    private static string DockerGid()
    {
        using var stat = Process.Start(new ProcessStartInfo("stat", ["-c", "%g", "/var/run/docker.sock"]) { RedirectStandardOutput = true })!;
        var gid = stat.StandardOutput.ReadToEnd().Trim();
        stat.WaitForExit();
        return gid;
    }

    private static async Task<(int Exit, string Output)> RunAsync(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string>? env, TimeSpan timeout, string? stdin = null)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin is not null, UseShellExecute = false, WorkingDirectory = RepoRoot };
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        foreach (var (key, value) in env ?? new Dictionary<string, string>())
            info.Environment[key] = value;
        using var process = Process.Start(info)!;
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }

        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"{file} did not finish in {timeout}:\n{await stdout}{await stderr}");
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    private static string RepoRoot
    {
        get
        {
            if (Environment.GetEnvironmentVariable("DEPLOYDECK_REPO_ROOT") is { Length: > 0 } root)
                return root;
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "DeployDeck.sln")))
                dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("DeployDeck.sln not found above " + AppContext.BaseDirectory);
        }
    }

    private static string Secret(int length) => Convert.ToHexString(RandomNumberGenerator.GetBytes(length))[..length];

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>The last value reported, synchronously (Progress&lt;T&gt; posts to the thread pool).</summary>
internal sealed class Latest<T> : IProgress<T>
{
    public T? Value { get; private set; }

    public void Report(T value) => Value = value;
}
