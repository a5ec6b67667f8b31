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
        ("HostConfig.MemorySwap", "web", NoSwap),
        ("HostConfig.MemorySwap", "app", NoSwap),
        ("HostConfig.MemorySwap", "sidecar", NoSwap),
        ("HostConfig.MemorySwap", "lonely", NoSwap),
        ("Attachable", "network <project>_default", V1Attachable),
        ("Attachable", "network <project>_front", V1Attachable),
        ("Attachable", "network <project>_back", V1Attachable),
        ("IPAM", "network <project>_default", NextSubnet),
        ("IPAM", "network <project>_front", NextSubnet),
        ("IPAM", "network <project>_back", NextSubnet),
    ];

    private const string NoSwap = "no memswap_limit: the runbook's no swap (memory+swap = the limit) where the engine would allow as much swap again";
    private const string V1Attachable = "no attachable: docker-compose v1 marks every network attachable; the Compose specification and docker compose v2 do not, and on a bridge it changes nothing";
    private const string NextSubnet = "no ipam: in the file, the engine gives each network the next free subnet";

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

        using var docker = DeployDeckApp.Docker();
        await docker.Volumes.CreateAsync(new VolumesCreateParameters
        {
            Name = external,
            Labels = new Dictionary<string, string> { ["deploydeck.test"] = "true", ["deploydeck.test.run"] = Environment.GetEnvironmentVariable("DEPLOYDECK_TEST_RUN") ?? "local" },
        });
        try
        {
            await CompareAsync(tag, project, Stack(port, outside.FullName, external), [("app.env", envFile)], ["web#1", "worker#1", "worker#2"], Covered,
                "oracle test: an absolute bind mount outside the project directory");
        }
        finally
        {
            project.Delete(recursive: true);
            outside.Delete(recursive: true);
            await docker.Volumes.RemoveAsync(external, force: true);
        }
    }

    /// <summary>
    /// Services that share another's namespaces and volumes (`network_mode`, `ipc`, `pid: service:x`, `volumes_from`), a
    /// network with a driver's options, a fixed subnet and labels, and a volume with driver options: the containers,
    /// the network and the volume as docker-compose makes them.
    /// </summary>
    [Fact]
    public async Task Shared_namespaces_volumes_from_and_the_projects_networks_and_volumes_are_made_as_docker_compose_makes_them()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        var project = Directory.CreateTempSubdirectory("dd-oracle-");
        try
        {
            await CompareAsync(tag, project, SharedStack(Random.Shared.Next(20, 250)), [], ["app#1", "lonely#1", "sidecar#1"], SharedCovered,
                "oracle test: a sidecar in its service's IPC and PID namespaces");
        }
        finally
        {
            project.Delete(recursive: true);
        }
    }

    private static readonly (string Container, string Key)[] SharedCovered =
    [
        ("sidecar#1", "HostConfig.NetworkMode"), ("sidecar#1", "HostConfig.IpcMode"), ("sidecar#1", "HostConfig.PidMode"), ("sidecar#1", "HostConfig.VolumesFrom"),
        ("app#1", "HostConfig.IpcMode"), ("app#1", "network:<project>_mesh"), ("app#1", "mount:/anon"), ("lonely#1", "network:none"),
        ("network <project>_mesh", "Options"), ("network <project>_mesh", "IPAM"), ("network <project>_mesh", "Attachable"), ("network <project>_mesh", "label:com.example.net"),
        ("volume <project>_data", "Options"), ("volume <project>_data", "label:com.example.vol"),
    ];

    /// <summary>
    /// `docker-compose -p X up -d` of the files, inspected, down; then DeployDeck's rollout of the same files, inspected;
    /// both normalised and compared key by key, containers, the project's networks and its volumes.
    /// </summary>
    private async Task CompareAsync(string tag, DirectoryInfo project, string compose, (string Name, string Content)[] projectFiles, string[] containers,
        (string Container, string Key)[] covered, string hostAccessReason)
    {
        var file = Path.Combine(project.FullName, "docker-compose.yml");
        await File.WriteAllTextAsync(file, compose);
        var composeProject = $"orc{tag}";
        var deckProject = $"ord{tag}";
        using var docker = DeployDeckApp.Docker();
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
                projectFiles = projectFiles.Select(f => new { name = f.Name, content = f.Content }).ToArray(),
                hostAccessReason,
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

            Assert.Equal(containers, expected.Keys.Where(k => k.Contains('#')).Order(StringComparer.Ordinal));
            Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
            // The oracle applied every key the stack covers, so an equal key is a proof and not two absences.
            foreach (var (container, key) in covered)
                Assert.True(expected[container].ContainsKey(key), $"docker-compose's {container} has no {key}: {string.Join(", ", expected[container].Keys)}");
            var differences = new List<string>();
            foreach (var (container, keys) in expected)
            {
                foreach (var key in keys.Keys.Union(actual[container].Keys).Order(StringComparer.Ordinal))
                {
                    if (Documented.Any(d => key.StartsWith(d.Prefix, StringComparison.Ordinal) && (d.Service is null || container == d.Service || container.StartsWith($"{d.Service}#", StringComparison.Ordinal))))
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
            await ComposeProjects.RemoveAsync(docker, deckProject);
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

    /// <summary>A sidecar in its service's network, IPC and PID namespaces with its volumes; a network and a volume with driver options.</summary>
    private static string SharedStack(int subnet) => $$$"""
        services:
          app:
            image: deploydeck/probe:latest
            mem_limit: 32m
            labels: {deploydeck.phase: core}
            volumes: [data:/data, /anon]
            networks: {mesh: {aliases: [application]}}
            ipc: shareable
          sidecar:
            image: deploydeck/probe:latest
            entrypoint: ["/bin/sleep", "3600"]
            mem_limit: 16m
            labels: {deploydeck.phase: core}
            network_mode: "service:app"
            volumes_from: ["app:ro"]
            ipc: "service:app"
            pid: "service:app"
            depends_on: [app]
          lonely:
            image: deploydeck/probe:latest
            entrypoint: ["/bin/sleep", "3600"]
            mem_limit: 16m
            labels: {deploydeck.phase: core}
            network_mode: none
        networks:
          mesh:
            driver: bridge
            driver_opts: {com.docker.network.bridge.enable_icc: "true", com.docker.network.driver.mtu: "1400"}
            ipam: {driver: default, config: [{subnet: 10.213.{{{subnet}}}.0/24, gateway: 10.213.{{{subnet}}}.1}]}
            attachable: true
            labels: {com.example.net: mesh}
        volumes:
          data:
            driver: local
            driver_opts: {type: tmpfs, device: tmpfs, o: "size=8m"}
            labels: {com.example.vol: data}
        x-deploydeck:
          phases: {core: {soak: 0s}}
        """;

    /// <summary>
    /// Each container of the project by service and number, the project's networks and its volumes, each as a flat map of
    /// the keys Compose decides. Another container's id (a shared namespace, volumes_from) reads as its service and number.
    /// </summary>
    private static async Task<Dictionary<string, SortedDictionary<string, string>>> NormaliseProjectAsync(string project)
    {
        using var docker = DeployDeckApp.Docker();
        var containers = await docker.Containers.ListContainersAsync(new ContainersListParameters { All = true, Filters = ComposeProjects.Filter(project) });
        var inspected = containers.Select(c => JsonDocument.Parse(Inspect("inspect", c.ID)).RootElement[0]).ToList();
        string Service(JsonElement i)
        {
            var labels = i.GetProperty("Config").GetProperty("Labels");
            return $"{labels.GetProperty("com.docker.compose.service").GetString()}#{labels.GetProperty("com.docker.compose.container-number").GetString()}";
        }

        // Compose refers to another container by id, DeployDeck by name, a shared UTS namespace gives its short id as hostname.
        var references = inspected
            .SelectMany(i => new[] { i.GetProperty("Id").GetString()!, i.GetProperty("Id").GetString()![..12], i.GetProperty("Name").GetString()!.TrimStart('/').Replace(project, "<project>", StringComparison.Ordinal) }
                .Select(r => (Reference: r, Service: Service(i))))
            .ToList();
        // An anonymous volume's name is random: which containers share it is what compares.
        references.AddRange(inspected
            .SelectMany(i => i.GetProperty("Mounts").EnumerateArray()
                .Where(m => m.GetProperty("Type").GetString() == "volume" && m.GetProperty("Name").GetString() is { Length: 64 } n && n.All(char.IsAsciiHexDigitLower))
                .Select(m => (Volume: m.GetProperty("Name").GetString()!, Service: Service(i))))
            .GroupBy(m => m.Volume)
            .Select(g => (g.Key, $"anonymous volume of {string.Join(" and ", g.Select(m => m.Service).Order(StringComparer.Ordinal))}")));
        references = references.OrderByDescending(r => r.Reference.Length).ToList();
        string Others(string value) => references.Aggregate(value, (v, r) => v.Replace(r.Reference, $"<{r.Service}>", StringComparison.Ordinal));
        var result = inspected.ToDictionary(Service, i => Normalise(i, project, Others));

        foreach (var network in await docker.Networks.ListNetworksAsync(new NetworksListParameters { Filters = ComposeProjects.Filter(project) }))
        {
            var inspect = JsonDocument.Parse(Inspect("network", "inspect", network.ID)).RootElement[0];
            result[$"network {inspect.GetProperty("Name").GetString()!.Replace(project, "<project>", StringComparison.Ordinal)}"] =
                Resource(inspect, project, "Driver", "Options", "IPAM", "Internal", "Attachable", "EnableIPv6", "Scope");
        }

        foreach (var volume in (await docker.Volumes.ListAsync(new VolumesListParameters { Filters = ComposeProjects.Filter(project) })).Volumes ?? [])
        {
            var inspect = JsonDocument.Parse(Inspect("volume", "inspect", volume.Name)).RootElement[0];
            result[$"volume {volume.Name.Replace(project, "<project>", StringComparison.Ordinal)}"] = Resource(inspect, project, "Driver", "Options", "Scope");
        }

        return result;
    }

    /// <summary>A network's or a volume's fields and labels.</summary>
    private static SortedDictionary<string, string> Resource(JsonElement inspect, string project, params string[] fields)
    {
        var keys = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var field in fields)
        {
            if (inspect.TryGetProperty(field, out var value) && value.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined))
                keys[field] = value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();
        }

        if (inspect.TryGetProperty("Labels", out var labels) && labels.ValueKind == JsonValueKind.Object)
        {
            foreach (var label in labels.EnumerateObject())
                keys[$"label:{label.Name}"] = (label.Value.GetString() ?? "").Replace(project, "<project>", StringComparison.Ordinal);
        }

        return keys;
    }

    private static SortedDictionary<string, string> Normalise(JsonElement inspect, string project, Func<string, string> others)
    {
        var keys = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var id = inspect.GetProperty("Id").GetString()!;
        string Clean(string value) => others(value.Replace(project, "<project>", StringComparison.Ordinal).Replace(id[..12], "<id>", StringComparison.Ordinal));
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

        // The engine reads an empty policy as "no": Compose sends none for a file without restart:, DeployDeck says "no".
        var restart = host.GetProperty("RestartPolicy");
        var policy = restart.GetProperty("Name").GetString() is { Length: > 0 } name ? name : "no";
        keys["HostConfig.RestartPolicy"] = $"{policy}:{restart.GetProperty("MaximumRetryCount").GetInt32()}";

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

    private static string Inspect(params string[] args)
    {
        var info = new ProcessStartInfo("docker") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, process.StandardError.ReadToEnd());
        return output;
    }
}
