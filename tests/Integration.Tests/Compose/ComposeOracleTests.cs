using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeployDeck.Integration.Tests.Api;
using DeployDeck.Tests.Shared;
using Docker.DotNet.Models;

namespace DeployDeck.Integration.Tests.Compose;

/// <summary>
/// docker-compose is the oracle: the same files brought up by `docker-compose -p X up -d` and rolled out by DeployDeck
/// make the same containers, compared key by key in `docker inspect` — Config, HostConfig, mounts, networks and their
/// aliases — after replacing each tool's project name and leaving out only <see cref="Documented"/> differences.
/// </summary>
public sealed class ComposeOracleTests() : AppPerClass()
{
    /// <summary>What may differ, and why; every other key of <see cref="Normalise"/> must be equal.</summary>
    private static readonly (string Prefix, string? Service, string Why)[] Documented =
    [
        ("label:deploydeck.", null, "DeployDeck's own labels (managed, plan, rollout, phase, test run)"),
        ("label:com.docker.compose.config-hash", null, "each tool hashes its own view of the service; DeployDeck's also covers mounted file content"),
        ("label:com.docker.compose.version", null, "the tool's version"),
        ("label:com.docker.compose.project.config_files", null, "DeployDeck has no file on the host: the files are in the plan"),
        ("label:com.docker.compose.project.working_dir", null, "DeployDeck's project directory is a plan setting, not a working directory"),
        ("label:com.docker.compose.project.environment_file", null, "DeployDeck's .env is part of the plan"),
        ("HostConfig.MemorySwap", "web", "no memswap_limit: the runbook's no swap (memory+swap = the limit) where the engine would allow as much swap again"),
    ];

    private static readonly (string Container, string Key)[] Covered =
    [
        ("web#1", "network:<project>_front"), ("web#1", "network:<project>_default"), ("worker#1", "network:<project>_back"),
        ("web#1", "mount:/data"), ("web#1", "mount:/conf"), ("web#1", "mount:/abs"), ("web#1", "mount:/shared"), ("web#1", "mount:/cache"),
        ("web#1", "HostConfig.Tmpfs"), ("web#1", "env:FROM_FILE"), ("web#1", "env:OVERRIDDEN"), ("web#1", "Config.Hostname"), ("web#1", "Config.Domainname"),
        ("web#1", "HostConfig.ExtraHosts"), ("web#1", "HostConfig.Dns"), ("web#1", "HostConfig.DnsSearch"), ("web#1", "HostConfig.DnsOptions"),
        ("web#1", "HostConfig.CapAdd"), ("web#1", "HostConfig.CapDrop"), ("web#1", "HostConfig.Init"), ("web#1", "HostConfig.Sysctls"),
        ("web#1", "ulimit:nofile"), ("web#1", "ulimit:nproc"), ("web#1", "Config.StopSignal"), ("web#1", "Config.StopTimeout"), ("web#1", "HostConfig.LogConfig"),
        ("web#1", "label:com.example.team"), ("web#1", "HostConfig.PortBindings"), ("web#1", "Config.Healthcheck"), ("web#1", "HostConfig.NanoCpus"),
        ("web#1", "HostConfig.PidsLimit"), ("web#1", "HostConfig.MemoryReservation"),
        ("worker#1", "Config.User"), ("worker#1", "Config.WorkingDir"), ("worker#1", "HostConfig.ReadonlyRootfs"), ("worker#1", "HostConfig.GroupAdd"),
        ("worker#1", "HostConfig.OomScoreAdj"), ("worker#1", "HostConfig.CpusetCpus"), ("worker#1", "HostConfig.CpuShares"), ("worker#2", "Config.Tty"),
    ];

    [Fact]
    public async Task Docker_compose_and_DeployDeck_make_the_same_containers_from_the_same_files()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        var external = $"dd-oracle-ext-{tag}";
        var port = 20000 + Random.Shared.Next(20000);
        var project = Directory.CreateTempSubdirectory("dd-oracle-");
        var outside = Directory.CreateTempSubdirectory("dd-oracle-abs-");
        Directory.CreateDirectory(Path.Combine(project.FullName, "conf"));
        await File.WriteAllTextAsync(Path.Combine(project.FullName, "conf", "app.conf"), "answer=42\n");
        await File.WriteAllTextAsync(Path.Combine(outside.FullName, "abs.conf"), "absolute\n");
        const string envFile = "FROM_FILE=file\nOVERRIDDEN=file\n";
        await File.WriteAllTextAsync(Path.Combine(project.FullName, "app.env"), envFile);
        var compose = Stack(port, outside.FullName, external);
        var file = Path.Combine(project.FullName, "docker-compose.yml");
        await File.WriteAllTextAsync(file, compose);

        using var docker = DeployDeckApp.Docker();
        await docker.Volumes.CreateAsync(new VolumesCreateParameters
        {
            Name = external,
            Labels = new Dictionary<string, string> { ["deploydeck.test"] = "true", ["deploydeck.test.run"] = Environment.GetEnvironmentVariable("DEPLOYDECK_TEST_RUN") ?? "local" },
        });
        var composeProject = $"orc{tag}";
        var deckProject = $"ord{tag}";
        try
        {
            // The oracle first, then down: both publish the same fixed ports.
            var up = ComposeCli.Run(file, composeProject, "up", "-d");
            Assert.True(up.ExitCode == 0, up.Output);
            var expected = await NormaliseProjectAsync(composeProject);
            var down = ComposeCli.Run(file, composeProject, "down", "-v");
            Assert.True(down.ExitCode == 0, down.Output);

            using var admin = App.CreateClient(await App.AdminTokenAsync());
            var imported = await admin.PostAsJsonAsync("/api/plans/import", new
            {
                name = deckProject,
                files = new[] { new { name = "docker-compose.yml", content = compose } },
                projectFiles = new[] { new { name = "app.env", content = envFile } },
                hostAccessReason = "oracle test: an absolute bind mount outside the project directory",
            });
            var body = await imported.Content.ReadAsStringAsync();
            Assert.True(imported.StatusCode == HttpStatusCode.Created, body);
            var planId = JsonDocument.Parse(body).RootElement.GetProperty("plan").GetProperty("id").GetGuid();
            Assert.Equal(HttpStatusCode.NoContent, (await admin.PutAsJsonAsync($"/api/plans/{planId}/project-directory", new { projectDirectory = project.FullName })).StatusCode);
            var started = await admin.PostAsJsonAsync("/api/rollouts", new { planId, hostId = await App.HostIdAsync() });
            Assert.True(started.IsSuccessStatusCode, await started.Content.ReadAsStringAsync());
            var rollout = await RolloutApiTests.WaitForFinalAsync(admin, (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid(), TimeSpan.FromMinutes(3));
            Assert.True(rollout.GetProperty("state").GetString() == "Succeeded", $"{rollout}\n--- worker ---\n{App.WorkerLog}");
            var actual = await NormaliseProjectAsync(deckProject);

            Assert.Equal(["web#1", "worker#1", "worker#2"], expected.Keys.Order());
            Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
            // The oracle applied every key the stack covers, so an equal key is a proof and not two absences.
            foreach (var (container, key) in Covered)
                Assert.True(expected[container].ContainsKey(key), $"docker-compose's {container} has no {key}: {string.Join(", ", expected[container].Keys)}");
            var differences = new List<string>();
            foreach (var (container, keys) in expected)
            {
                foreach (var key in keys.Keys.Union(actual[container].Keys).Order(StringComparer.Ordinal))
                {
                    if (Documented.Any(d => key.StartsWith(d.Prefix, StringComparison.Ordinal) && (d.Service is null || container.StartsWith($"{d.Service}#", StringComparison.Ordinal))))
                        continue;
                    var want = keys.GetValueOrDefault(key);
                    var got = actual[container].GetValueOrDefault(key);
                    if (want != got)
                        differences.Add($"{container} {key}: docker-compose {want ?? "(absent)"}, DeployDeck {got ?? "(absent)"}");
                }
            }

            Assert.True(differences.Count == 0, $"{differences.Count} differences:\n{string.Join('\n', differences)}");
        }
        finally
        {
            ComposeCli.Run(file, composeProject, "down", "-v");
            project.Delete(recursive: true);
            outside.Delete(recursive: true);
        }
    }

    /// <summary>
    /// One stack for every key the oracle covers: networks and aliases, named and external volumes, relative and
    /// absolute read-only binds, tmpfs, env_file, user, working_dir, hostname, extra_hosts, dns, capabilities, init,
    /// read_only, shm_size, sysctls, ulimits, stop signal and grace, logging, labels, ports with host IP and ranges,
    /// healthcheck, restart, limits and scale.
    /// </summary>
    private static string Stack(int port, string outside, string external) => $$$"""
        services:
          web:
            image: deploydeck/probe:latest
            mem_limit: 48m
            mem_reservation: 16m
            cpus: 0.5
            pids_limit: 64
            restart: unless-stopped
            labels: {deploydeck.phase: core, com.example.team: shop}
            env_file: [./app.env]
            environment: {GREETING: hello, OVERRIDDEN: environment, EMPTY: ""}
            hostname: webhost
            domainname: example.internal
            extra_hosts: ["db.internal:10.1.2.3"]
            dns: [10.0.0.53]
            dns_search: [example.internal]
            dns_opt: ["ndots:2"]
            cap_add: [NET_RAW]
            cap_drop: [MKNOD]
            init: true
            shm_size: 32m
            sysctls: {net.core.somaxconn: 1024}
            ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 512}
            stop_signal: SIGINT
            stop_grace_period: 7s
            logging: {driver: json-file, options: {max-size: 1m, max-file: "2"}}
            ports: ["127.0.0.1:{{{port}}}:8080", "127.0.0.1:{{{port + 1}}}-{{{port + 2}}}:9000-9001/udp"]
            expose: ["7000"]
            healthcheck:
              test: ["CMD", "/bin/wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]
              interval: 2s
              timeout: 2s
              retries: 5
              start_period: 1s
            networks:
              front: {aliases: [www, portal]}
              default: {}
            volumes:
              - data:/data
              - ./conf:/conf:ro
              - {{{outside}}}:/abs:ro
              - type: volume
                source: shared
                target: /shared
              - type: tmpfs
                target: /cache
                tmpfs: {size: 1048576}
            tmpfs: [/scratch]
          worker:
            image: deploydeck/probe:latest
            mem_limit: 32m
            memswap_limit: 64m
            user: "1000:1000"
            working_dir: /tmp
            read_only: true
            tmpfs: [/run, /www, "/tmp:size=2m"]
            group_add: ["100"]
            oom_score_adj: 100
            cpu_shares: 512
            cpuset: "0"
            scale: 2
            tty: true
            stdin_open: true
            restart: on-failure:3
            labels: {deploydeck.phase: core}
            networks: [back]
        networks:
          front: {}
          back: {internal: true, labels: {com.example.net: back}}
        volumes:
          data: {labels: {com.example.vol: data}}
          shared: {external: true, name: {{{external}}}}
        x-deploydeck:
          phases: {core: {soak: 0s}}
        """;

    /// <summary>Each container of the project by service and number, as a flat map of the keys Compose decides.</summary>
    private static async Task<Dictionary<string, SortedDictionary<string, string>>> NormaliseProjectAsync(string project)
    {
        using var docker = DeployDeckApp.Docker();
        var containers = await docker.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"com.docker.compose.project={project}"] = true } },
        });
        var result = new Dictionary<string, SortedDictionary<string, string>>();
        foreach (var container in containers)
        {
            var inspect = JsonDocument.Parse(Inspect(container.ID)).RootElement[0];
            var labels = inspect.GetProperty("Config").GetProperty("Labels");
            var name = $"{labels.GetProperty("com.docker.compose.service").GetString()}#{labels.GetProperty("com.docker.compose.container-number").GetString()}";
            result[name] = Normalise(inspect, project);
        }

        return result;
    }

    private static SortedDictionary<string, string> Normalise(JsonElement inspect, string project)
    {
        var keys = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var id = inspect.GetProperty("Id").GetString()!;
        string Clean(string value) => value.Replace(project, "<project>", StringComparison.Ordinal).Replace(id[..12], "<id>", StringComparison.Ordinal);
        void Add(string key, JsonElement value)
        {
            if (value.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
                return;
            if (value.ValueKind == JsonValueKind.Array && value.GetArrayLength() == 0)
                return;
            if (value.ValueKind == JsonValueKind.Object && !value.EnumerateObject().Any())
                return;
            keys[key] = Clean(value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText());
        }

        var config = inspect.GetProperty("Config");
        foreach (var field in new[] { "Cmd", "Entrypoint", "User", "WorkingDir", "Hostname", "Domainname", "Image", "Healthcheck", "StopSignal", "StopTimeout", "Tty", "OpenStdin", "AttachStdin", "StdinOnce" })
        {
            if (config.TryGetProperty(field, out var value))
                Add($"Config.{field}", value);
        }

        if (config.TryGetProperty("ExposedPorts", out var exposed) && exposed.ValueKind == JsonValueKind.Object)
            keys["Config.ExposedPorts"] = string.Join(',', exposed.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        foreach (var variable in config.GetProperty("Env").EnumerateArray().Select(e => e.GetString()!))
            keys[$"env:{variable.Split('=', 2)[0]}"] = Clean(variable.Split('=', 2).ElementAtOrDefault(1) ?? "");
        foreach (var label in config.GetProperty("Labels").EnumerateObject())
            keys[$"label:{label.Name}"] = Clean(label.Value.GetString() ?? "");

        var host = inspect.GetProperty("HostConfig");
        foreach (var field in new[]
        {
            "NetworkMode", "RestartPolicy", "Memory", "MemoryReservation", "MemorySwap", "MemorySwappiness", "NanoCpus", "CpuQuota", "CpuPeriod", "CpuShares",
            "CpusetCpus", "PidsLimit", "CapAdd", "CapDrop", "Init", "ReadonlyRootfs", "ShmSize", "Sysctls", "Ulimits", "LogConfig", "PortBindings", "Tmpfs",
            "ExtraHosts", "Dns", "DnsSearch", "DnsOptions", "GroupAdd", "OomScoreAdj", "Privileged", "IpcMode", "PidMode", "UTSMode", "SecurityOpt", "Devices",
            "Links", "VolumesFrom", "Isolation", "Runtime", "PublishAllPorts", "AutoRemove", "OomKillDisable",
        })
        {
            if (host.TryGetProperty(field, out var value))
                Add($"HostConfig.{field}", value);
        }

        // The engine keeps ulimits in the order it was given them: the order means nothing.
        if (host.TryGetProperty("Ulimits", out var ulimits) && ulimits.ValueKind == JsonValueKind.Array)
        {
            keys.Remove("HostConfig.Ulimits");
            foreach (var ulimit in ulimits.EnumerateArray())
                keys[$"ulimit:{ulimit.GetProperty("Name").GetString()}"] = $"{ulimit.GetProperty("Soft").GetInt64()}:{ulimit.GetProperty("Hard").GetInt64()}";
        }

        // Where a mount is, not how it was asked for: Compose v1 writes short syntax as Binds, DeployDeck may write Mounts.
        foreach (var mount in inspect.GetProperty("Mounts").EnumerateArray())
        {
            var type = mount.GetProperty("Type").GetString();
            var source = type == "volume" ? mount.GetProperty("Name").GetString() : mount.GetProperty("Source").GetString();
            keys[$"mount:{mount.GetProperty("Destination").GetString()}"] = Clean($"{type} {source} rw={mount.GetProperty("RW").GetBoolean()}");
        }

        foreach (var network in inspect.GetProperty("NetworkSettings").GetProperty("Networks").EnumerateObject())
        {
            var aliases = network.Value.TryGetProperty("Aliases", out var a) && a.ValueKind == JsonValueKind.Array
                ? a.EnumerateArray().Select(x => Clean(x.GetString()!)).Where(x => x != "<id>").Order(StringComparer.Ordinal).ToList()
                : [];
            keys[$"network:{Clean(network.Name)}"] = string.Join(',', aliases);
        }

        return keys;
    }

    private static string Inspect(string id)
    {
        var info = new ProcessStartInfo("docker") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("inspect");
        info.ArgumentList.Add(id);
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, process.StandardError.ReadToEnd());
        return output;
    }
}
