using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeployDeck.Integration.Tests.Api;
using DeployDeck.Tests.Shared;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace DeployDeck.Integration.Tests.Compose;

/// <summary>
/// Plans imported from Compose files and rolled out on the real engine land as Compose would land them: on the project's
/// networks with their aliases, with the project's volumes and the files the plan carries — and what the host lacks
/// refuses the rollout before anything starts.
/// </summary>
public sealed class ComposeRolloutTests() : AppPerClass()
{
    /// <summary>No soak in any default phase: these tests are about what the containers are, not how long they hold.</summary>
    private const string NoSoak = """

        x-deploydeck:
          phases: {core: {soak: 0s}, business: {soak: 0s}, analytics: {soak: 0s}, advanced: {soak: 0s}, observability: {soak: 0s}}
        """;

    private const string Health = """["CMD", "/bin/wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]""";

    private async Task<(Guid PlanId, JsonElement Plan)> ImportAsync(HttpClient client, string name, string compose, string? env = null,
        IEnumerable<(string Name, string Content)>? projectFiles = null, string? reason = null, HttpStatusCode expected = HttpStatusCode.Created)
    {
        var response = await client.PostAsJsonAsync("/api/plans/import", new
        {
            name,
            files = new[] { new { name = "docker-compose.yml", content = compose + NoSoak } },
            env,
            projectFiles = (projectFiles ?? []).Select(f => new { name = f.Name, content = f.Content }).ToArray(),
            hostAccessReason = reason,
        });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"import answered {(int)response.StatusCode}: {body}");
        if (expected != HttpStatusCode.Created)
            return (Guid.Empty, JsonDocument.Parse(body).RootElement.Clone());
        var plan = JsonDocument.Parse(body).RootElement.GetProperty("plan").Clone();
        return (plan.GetProperty("id").GetGuid(), plan);
    }

    private static async Task ReimportAsync(HttpClient client, Guid planId, string compose, string? env = null, IEnumerable<(string Name, string Content)>? projectFiles = null)
    {
        var response = await client.PostAsJsonAsync($"/api/plans/{planId}/revisions/import", new
        {
            files = new[] { new { name = "docker-compose.yml", content = compose + NoSoak } },
            env,
            projectFiles = (projectFiles ?? []).Select(f => new { name = f.Name, content = f.Content }).ToArray(),
        });
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }

    private async Task<JsonElement> RollOutAsync(HttpClient client, Guid planId)
    {
        var started = await client.PostAsJsonAsync("/api/rollouts", new { planId, hostId = await App.HostIdAsync() });
        Assert.True(started.IsSuccessStatusCode, await started.Content.ReadAsStringAsync());
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var rollout = await RolloutApiTests.WaitForFinalAsync(client, id, TimeSpan.FromMinutes(3));
        return rollout;
    }

    private async Task<ContainerInspectResponse> InspectAsync(Guid rolloutId, string service)
    {
        var container = Assert.Single(await App.ContainersAsync(), c => c.Labels["deploydeck.rollout"] == rolloutId.ToString() && c.Labels["deploydeck.service"] == service);
        using var docker = DeployDeckApp.Docker();
        return await docker.Containers.InspectContainerAsync(container.ID);
    }

    private static async Task<string> ExecAsync(string containerId, params string[] command)
    {
        using var docker = DeployDeckApp.Docker();
        var exec = await docker.Exec.CreateContainerExecAsync(containerId, new ContainerExecCreateParameters { Cmd = command, AttachStdout = true, AttachStderr = true });
        using var stream = await docker.Exec.StartContainerExecAsync(exec.ID, new ContainerExecStartParameters());
        var (stdout, stderr) = await stream.ReadOutputToEndAsync(CancellationToken.None);
        return (stdout + stderr).Trim();
    }

    private void Succeeded(JsonElement rollout) =>
        Assert.True(rollout.GetProperty("state").GetString() == "Succeeded", $"{rollout}\n--- worker ---\n{App.WorkerLog}");

    [Fact]
    public async Task Services_reach_each_other_by_name_and_alias_across_phases_on_the_project_networks()
    {
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        var (planId, plan) = await ImportAsync(admin, "Net Shop", $$$"""
            services:
              db:
                image: deploydeck/probe:latest
                mem_limit: 32m
                labels: {deploydeck.phase: core}
                networks:
                  back:
                    aliases: [database]
                healthcheck: {test: {{{Health}}}, interval: 1s, timeout: 2s, retries: 5}
              api:
                image: deploydeck/probe:latest
                mem_limit: 32m
                labels: {deploydeck.phase: business}
                depends_on: {db: {condition: service_healthy}}
                networks: [back, default]
                x-deploydeck:
                  gates:
                    - exec: ["/bin/wget", "-q", "-O", "/dev/null", "http://database:8080/health"]
                    - exec: ["/bin/wget", "-q", "-O", "/dev/null", "http://db:8080/health"]
            networks:
              back:
                labels: {com.example.tier: back}
            """);
        Assert.Equal("net-shop", plan.GetProperty("projectName").GetString());

        var rollout = await RollOutAsync(admin, planId);
        Succeeded(rollout);
        var id = rollout.GetProperty("id").GetGuid();
        var api = await InspectAsync(id, "api");
        var db = await InspectAsync(id, "db");

        Assert.Equal(["net-shop_back", "net-shop_default"], api.NetworkSettings!.Networks.Keys.Order(StringComparer.Ordinal));
        Assert.Contains("api", api.NetworkSettings!.Networks["net-shop_back"].Aliases);
        Assert.Equal(["net-shop_back"], db.NetworkSettings!.Networks.Keys);
        Assert.Contains("database", db.NetworkSettings!.Networks["net-shop_back"].Aliases);
        Assert.Contains("db", db.NetworkSettings!.Networks["net-shop_back"].Aliases);
        Assert.Equal("net-shop", api.Config!.Labels["com.docker.compose.project"]);
        Assert.Equal("api", api.Config!.Labels["com.docker.compose.service"]);
        Assert.Equal("1", api.Config!.Labels["com.docker.compose.container-number"]);
        Assert.Equal("False", api.Config!.Labels["com.docker.compose.oneoff"]);

        using var docker = DeployDeckApp.Docker();
        var back = await docker.Networks.InspectNetworkAsync("net-shop_back");
        Assert.Equal("back", back.Labels["com.docker.compose.network"]);
        Assert.Equal("net-shop", back.Labels["com.docker.compose.project"]);
        Assert.Equal("back", back.Labels["com.example.tier"]);
        Assert.Contains(rollout.GetProperty("events").EnumerateArray(), e => e.GetProperty("kind").GetString() == "project.created"
            && e.GetProperty("message").GetString()!.Contains("network net-shop_back", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Data_on_a_named_volume_survives_the_next_rollout_and_the_volume_carries_the_project()
    {
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        string Compose(string version) => $$"""
            services:
              store:
                image: deploydeck/probe:latest
                mem_limit: 32m
                environment: {PROBE_VERSION: "{{version}}"}
                volumes: [data:/data]
            volumes:
              data: {}
            """;
        var (planId, _) = await ImportAsync(admin, "keeper", Compose("one"));
        var first = await RollOutAsync(admin, planId);
        Succeeded(first);
        var v1 = await InspectAsync(first.GetProperty("id").GetGuid(), "store");
        var mount = Assert.Single(v1.Mounts, m => m.Destination == "/data");
        Assert.Equal("volume", mount.Type);
        Assert.Equal("keeper_data", mount.Name);
        Assert.True(mount.RW);
        await ExecAsync(v1.ID, "/bin/sh", "-c", "echo kept > /data/file");

        await ReimportAsync(admin, planId, Compose("two"));
        var second = await RollOutAsync(admin, planId);
        Succeeded(second);
        var v2 = await InspectAsync(second.GetProperty("id").GetGuid(), "store");
        Assert.NotEqual(v1.ID, v2.ID);
        Assert.Equal("kept", await ExecAsync(v2.ID, "/bin/cat", "/data/file"));

        using var docker = DeployDeckApp.Docker();
        var volume = await docker.Volumes.InspectAsync("keeper_data");
        Assert.Equal("keeper", volume.Labels["com.docker.compose.project"]);
        Assert.Equal("data", volume.Labels["com.docker.compose.volume"]);
    }

    [Fact]
    public async Task Configs_and_secrets_are_placed_before_the_start_and_an_edited_config_reaches_the_new_container()
    {
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        const string compose = """
            services:
              web:
                image: deploydeck/probe:latest
                mem_limit: 32m
                configs:
                  - source: page
                    target: /etc/probe/page.txt
                    mode: 0440
                secrets: [token]
                env_file: ./web.env
            configs:
              page:
                file: ./page.txt
            secrets:
              token:
                environment: API_TOKEN
            """;
        var files = new[] { ("./page.txt", "first page\n"), ("web.env", "GREETING=hello from env_file\n") };
        var (planId, plan) = await ImportAsync(admin, "paged", compose, "API_TOKEN=tok-123", files);
        Assert.DoesNotContain("tok-123", plan.ToString(), StringComparison.Ordinal);
        var first = await RollOutAsync(admin, planId);
        Succeeded(first);
        var v1 = await InspectAsync(first.GetProperty("id").GetGuid(), "web");
        Assert.Equal("first page", await ExecAsync(v1.ID, "/bin/cat", "/etc/probe/page.txt"));
        Assert.Equal("440", await ExecAsync(v1.ID, "/bin/stat", "-c", "%a", "/etc/probe/page.txt"));
        Assert.Equal("tok-123", await ExecAsync(v1.ID, "/bin/cat", "/run/secrets/token"));
        Assert.Contains("GREETING=hello from env_file", v1.Config!.Env);

        await ReimportAsync(admin, planId, compose, "API_TOKEN=tok-123", [("./page.txt", "second page\n"), ("web.env", "GREETING=hello from env_file\n")]);
        var second = await RollOutAsync(admin, planId);
        Succeeded(second);
        var v2 = await InspectAsync(second.GetProperty("id").GetGuid(), "web");
        Assert.Equal("second page", await ExecAsync(v2.ID, "/bin/cat", "/etc/probe/page.txt"));
    }

    [Fact]
    public async Task A_missing_external_volume_or_bind_source_refuses_the_rollout_before_anything_starts()
    {
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        var (volumePlan, _) = await ImportAsync(admin, "outside", """
            services:
              app: {image: "deploydeck/probe:latest", mem_limit: 32m, volumes: ["shared:/shared"]}
            volumes:
              shared: {external: true, name: dd-test-absent-volume}
            """);
        var refused = await admin.PostAsJsonAsync("/api/rollouts", new { planId = volumePlan, hostId = await App.HostIdAsync() });
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains("the external volume dd-test-absent-volume does not exist", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var directory = Directory.CreateTempSubdirectory("dd-project-");
        try
        {
            var (bindPlan, _) = await ImportAsync(admin, "binder", """
                services:
                  app: {image: "deploydeck/probe:latest", mem_limit: 32m, volumes: ["./conf:/conf:ro", "./absent:/absent"]}
                """);
            Assert.Equal(HttpStatusCode.NoContent, (await admin.PutAsJsonAsync($"/api/plans/{bindPlan}/project-directory", new { projectDirectory = directory.FullName })).StatusCode);
            Directory.CreateDirectory(Path.Combine(directory.FullName, "conf"));
            File.WriteAllText(Path.Combine(directory.FullName, "conf", "app.conf"), "answer=42\n");

            refused = await admin.PostAsJsonAsync("/api/rollouts", new { planId = bindPlan, hostId = await App.HostIdAsync() });
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            var why = await refused.Content.ReadAsStringAsync();
            Assert.Contains($"the bind mount source {directory.FullName}/absent does not exist on the host", why, StringComparison.Ordinal);
            Assert.DoesNotContain("/conf ", why, StringComparison.Ordinal);
            Assert.Equal(0, await App.QueryScalarAsync<long>($"SELECT count(*) FROM rollouts WHERE \"PlanId\" IN ('{volumePlan}', '{bindPlan}')"));

            Directory.CreateDirectory(Path.Combine(directory.FullName, "absent"));
            var rollout = await RollOutAsync(admin, bindPlan);
            Succeeded(rollout);
            var app = await InspectAsync(rollout.GetProperty("id").GetGuid(), "app");
            var conf = Assert.Single(app.Mounts, m => m.Destination == "/conf");
            Assert.Equal(("bind", $"{directory.FullName}/conf", false), (conf.Type, conf.Source, conf.RW));
            Assert.Equal("answer=42", await ExecAsync(app.ID, "/bin/cat", "/conf/app.conf"));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task An_operators_privileged_plan_is_refused_and_an_admins_allowance_applies_it_and_is_audited()
    {
        // This sandbox's engine cannot start a privileged container (its bounding set lacks a capability): privileged is
        // refused at import here, and the allowed plan applies the other host-reaching keys.
        const string compose = """
            services:
              tool:
                image: deploydeck/probe:latest
                mem_limit: 32m
                pid: host
                cap_add: [SYS_ADMIN, NET_BIND_SERVICE]
                volumes: ["/var/run/docker.sock:/var/run/docker.sock:ro"]
            """;
        using var op = App.CreateClient(await App.TokenAsync("compose-op", await App.CreateUserAsync("compose-op", "Operator")));
        var (_, denied) = await ImportAsync(op, "rooted", compose.Replace("pid: host", "privileged: true\n    pid: host", StringComparison.Ordinal), expected: HttpStatusCode.Forbidden);
        var detail = denied.GetProperty("detail").GetString()!;
        Assert.Contains("privileged true", detail, StringComparison.Ordinal);
        Assert.Contains("pid host", detail, StringComparison.Ordinal);
        Assert.Contains("cap_add SYS_ADMIN", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("NET_BIND_SERVICE", detail, StringComparison.Ordinal);
        Assert.Contains("volumes /var/run/docker.sock:/var/run/docker.sock:ro", detail, StringComparison.Ordinal);
        Assert.Equal(0, await App.QueryScalarAsync<long>("SELECT count(*) FROM plans WHERE \"Name\" = 'rooted'"));

        using var admin = App.CreateClient(await App.AdminTokenAsync());
        await ImportAsync(admin, "rooted", compose, expected: HttpStatusCode.UnprocessableEntity);
        var (planId, plan) = await ImportAsync(admin, "rooted", compose, reason: "the backup agent reads the engine");
        Assert.Equal("admin", plan.GetProperty("hostAccessAllowance").GetProperty("allowedBy").GetString());
        Assert.Contains("the backup agent reads the engine", await App.QueryScalarAsync<string>(
            "SELECT \"Details\" FROM audit_entries WHERE \"Action\" = 'plan.host-access-allowed' ORDER BY \"At\" DESC LIMIT 1"), StringComparison.Ordinal);

        // The Operator may roll out what an Admin allowed, but not save a revision of it.
        var rollout = await RollOutAsync(op, planId);
        Succeeded(rollout);
        var tool = await InspectAsync(rollout.GetProperty("id").GetGuid(), "tool");
        Assert.Equal("host", tool.HostConfig!.PidMode);
        Assert.Contains("SYS_ADMIN", tool.HostConfig.CapAdd);
        Assert.Contains(tool.Mounts, m => m.Source == "/var/run/docker.sock" && !m.RW);
        var again = await op.PostAsJsonAsync($"/api/plans/{planId}/revisions/import", new { files = new[] { new { name = "docker-compose.yml", content = compose.Replace("32m", "48m", StringComparison.Ordinal) + NoSoak } } });
        Assert.Equal(HttpStatusCode.Forbidden, again.StatusCode);
    }

    /// <summary>The running containers of the app's rollouts for a service, by DeployDeck's label: the service's containers now.</summary>
    private async Task<List<ContainerListResponse>> RunningAsync(string project, string service)
    {
        using var docker = DeployDeckApp.Docker();
        var all = await docker.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["label"] = new Dictionary<string, bool> { [$"com.docker.compose.project={project}"] = true, [$"com.docker.compose.service={service}"] = true },
            },
        });
        return all.ToList();
    }

    private static string Action(JsonElement rollout, string service) =>
        rollout.GetProperty("reconcile").GetProperty("services").EnumerateArray().Single(s => s.GetProperty("service").GetString() == service).GetProperty("action").GetString()!;

    private static JsonElement Order(JsonElement rollout, string service) =>
        rollout.GetProperty("reconcile").GetProperty("services").EnumerateArray().Single(s => s.GetProperty("service").GetString() == service).GetProperty("order");

    private static string Reason(JsonElement rollout, string service) =>
        rollout.GetProperty("reconcile").GetProperty("services").EnumerateArray().Single(s => s.GetProperty("service").GetString() == service).GetProperty("reason").GetString()!;

    private static IEnumerable<JsonElement> Events(JsonElement rollout, string kind) =>
        rollout.GetProperty("events").EnumerateArray().Where(e => e.GetProperty("kind").GetString() == kind);

    [Fact]
    public async Task An_unchanged_plan_replaces_nothing_an_environment_change_recreates_that_service_and_its_restart_dependents_and_an_orphan_goes()
    {
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        string Compose(string dbVersion, bool withCache = true) => $$$"""
            services:
              db:
                image: deploydeck/probe:latest
                mem_limit: 32m
                environment: {PROBE_VERSION: "{{{dbVersion}}}"}
                labels: {deploydeck.phase: core}
                healthcheck: {test: {{{Health}}}, interval: 1s, timeout: 2s, retries: 5}
              api:
                image: deploydeck/probe:latest
                mem_limit: 32m
                labels: {deploydeck.phase: business}
                depends_on: {db: {condition: service_healthy, restart: true}}
              web:
                image: deploydeck/probe:latest
                mem_limit: 32m
                labels: {deploydeck.phase: business}
            {{{(withCache ? """
              cache:
                image: deploydeck/probe:latest
                mem_limit: 32m
                labels: {deploydeck.phase: business}
                volumes: [cachedata:/data]
            volumes:
              cachedata: {}
            """ : "")}}}
            """;
        var (planId, plan) = await ImportAsync(admin, "Keep Shop", Compose("one"));
        var project = plan.GetProperty("projectName").GetString()!;
        Succeeded(await RollOutAsync(admin, planId));
        var before = new Dictionary<string, ContainerInspectResponse>();
        using var docker = DeployDeckApp.Docker();
        foreach (var service in new[] { "db", "api", "web", "cache" })
            before[service] = await docker.Containers.InspectContainerAsync(Assert.Single(await RunningAsync(project, service)).ID);

        // The dry run says so first, and admission counts no new container for a service kept as it runs.
        var dryRun = await admin.PostAsync($"/api/plans/{planId}/dry-run?hostId={await App.HostIdAsync()}", null);
        var forecast = (await dryRun.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("forecast").GetProperty("phases").EnumerateArray()
            .ToDictionary(p => p.GetProperty("phase").GetString()!);
        Assert.Equal(["db"], forecast["core"].GetProperty("kept").EnumerateArray().Select(k => k.GetString()));
        Assert.Equal(["api", "web", "cache"], forecast["business"].GetProperty("kept").EnumerateArray().Select(k => k.GetString()));
        Assert.All(forecast.Values, p => Assert.Equal(0, p.GetProperty("newLimits").GetInt64()));

        // The same revision again: every container stays as it was, only the gates run.
        var same = await RollOutAsync(admin, planId);
        Succeeded(same);
        Assert.All(new[] { "db", "api", "web", "cache" }, s => Assert.Equal("Keep", Action(same, s)));
        Assert.Empty(Events(same, "service.created"));
        Assert.Equal(4, Events(same, "service.kept").Count());
        foreach (var service in before.Keys)
        {
            var now = await docker.Containers.InspectContainerAsync(Assert.Single(await RunningAsync(project, service)).ID);
            Assert.Equal(before[service].ID, now.ID);
            Assert.Equal(before[service].State!.StartedAt, now.State!.StartedAt);
        }

        // One environment change: that service and its restart: true dependent are recreated; the others stay.
        await ReimportAsync(admin, planId, Compose("two"));
        var changed = await RollOutAsync(admin, planId);
        Succeeded(changed);
        Assert.Equal("environment key PROBE_VERSION changed", Reason(changed, "db"));
        Assert.Equal("db is recreated and it depends on it with restart: true", Reason(changed, "api"));
        Assert.Equal(["api", "db"], Events(changed, "service.created").Select(e => e.GetProperty("service").GetString()).Order(StringComparer.Ordinal));
        Assert.NotEqual(before["db"].ID, Assert.Single(await RunningAsync(project, "db")).ID);
        Assert.NotEqual(before["api"].ID, Assert.Single(await RunningAsync(project, "api")).ID);
        Assert.Equal(before["web"].ID, Assert.Single(await RunningAsync(project, "web")).ID);
        Assert.Equal(before["cache"].ID, Assert.Single(await RunningAsync(project, "cache")).ID);

        // A service removed from the plan is an orphan: its container goes once every phase passed, its volume stays.
        await ReimportAsync(admin, planId, Compose("two", withCache: false));
        var removed = await RollOutAsync(admin, planId);
        Succeeded(removed);
        var orphan = Assert.Single(removed.GetProperty("reconcile").GetProperty("orphans").EnumerateArray());
        Assert.Equal("cache", orphan.GetProperty("service").GetString());
        Assert.Single(Events(removed, "orphan.removed"));
        Assert.Empty(await RunningAsync(project, "cache"));
        Assert.Equal($"{project}_cachedata", (await docker.Volumes.InspectAsync($"{project}_cachedata")).Name);
    }

    [Fact]
    public async Task Data_in_anonymous_volumes_and_the_images_own_volumes_is_taken_over_by_the_new_container_as_compose_does()
    {
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        var project = $"anon{Guid.NewGuid():N}"[..12];
        string Compose(string version) => $$$"""
            services:
              cache:
                image: deploydeck/redis:7
                mem_limit: 64m
                environment: {VERSION: "{{{version}}}"}
                labels: {deploydeck.phase: core}
              files:
                image: deploydeck/probe:latest
                mem_limit: 32m
                environment: {PROBE_VERSION: "{{{version}}}"}
                labels: {deploydeck.phase: core}
                volumes: [/data]
                healthcheck: {test: {{{Health}}}, interval: 1s, timeout: 2s, retries: 5}
            """;
        var (planId, _) = await ImportAsync(admin, project, Compose("1"));
        using var docker = DeployDeckApp.Docker();
        var volumes = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            Succeeded(await RollOutAsync(admin, planId));
            var cache = Assert.Single(await RunningAsync(project, "cache"));
            var files = Assert.Single(await RunningAsync(project, "files"));
            Assert.Equal("OK", await ExecAsync(cache.ID, "redis-cli", "set", "answer", "42"));
            Assert.Equal("OK", await ExecAsync(cache.ID, "redis-cli", "save"));
            await ExecAsync(files.ID, "/bin/sh", "-c", "echo kept > /data/file");
            foreach (var id in new[] { cache.ID, files.ID })
                volumes.UnionWith((await docker.Containers.InspectContainerAsync(id)).Mounts.Where(m => m.Type == "volume").Select(m => m.Name!));
            Assert.Equal(2, volumes.Count);

            // A new version of both: new containers, stop-first, on the volumes their predecessors had — the dry run says so first.
            await ReimportAsync(admin, planId, Compose("2"));
            var dryRun = await admin.PostAsync($"/api/plans/{planId}/dry-run?hostId={await App.HostIdAsync()}", null);
            Assert.Equal(HttpStatusCode.OK, dryRun.StatusCode);
            var forecast = await dryRun.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("StopFirst", Order(forecast, "cache").GetProperty("order").GetString());
            Assert.Equal("its image keeps data in the volume /data, which the new container takes over", Order(forecast, "cache").GetProperty("why").GetString());
            Assert.Equal("it keeps data in the anonymous volume at /data, which the new container takes over", Order(forecast, "files").GetProperty("why").GetString());
            var upgrade = await RollOutAsync(admin, planId);
            Succeeded(upgrade);
            Assert.Equal("StopFirst", Order(upgrade, "cache").GetProperty("order").GetString());
            var created = Events(upgrade, "service.created").Select(e => e.GetProperty("message").GetString()!).ToList();
            Assert.Contains(created, m => m.Contains("stop-first: it keeps data in the anonymous volume at /data", StringComparison.Ordinal) && m.Contains("took over its previous container's volume at /data", StringComparison.Ordinal));
            Assert.Contains(created, m => m.Contains("stop-first: its image keeps data in the volume /data", StringComparison.Ordinal));
            // Each predecessor stopped once, before its successor: not once more when the phase passed.
            var replaced = Events(upgrade, "service.replaced").Select(e => e.GetProperty("service").GetString()).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(["cache", "files"], replaced);
            var newCache = Assert.Single(await RunningAsync(project, "cache"));
            var newFiles = Assert.Single(await RunningAsync(project, "files"));
            Assert.NotEqual(cache.ID, newCache.ID);
            Assert.NotEqual(files.ID, newFiles.ID);
            Assert.Equal("42", await ExecAsync(newCache.ID, "redis-cli", "get", "answer"));
            Assert.Equal("kept", await ExecAsync(newFiles.ID, "/bin/cat", "/data/file"));
            var now = new HashSet<string>(StringComparer.Ordinal);
            foreach (var id in new[] { newCache.ID, newFiles.ID })
                now.UnionWith((await docker.Containers.InspectContainerAsync(id)).Mounts.Where(m => m.Type == "volume").Select(m => m.Name!));
            Assert.Equal(volumes.Order(), now.Order());
        }
        finally
        {
            // Anonymous volumes carry no label: they go once the project's containers went.
            foreach (var container in (await RunningAsync(project, "cache")).Concat(await RunningAsync(project, "files")))
            {
                volumes.UnionWith(container.Mounts.Where(m => m.Type == "volume").Select(m => m.Name!));
                await docker.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true });
            }

            foreach (var volume in volumes)
                await docker.Volumes.RemoveAsync(volume, force: true);
        }
    }

    [Fact]
    public async Task A_stack_docker_compose_started_is_adopted_with_its_data_and_a_container_of_another_project_on_a_needed_port_refuses_the_start()
    {
        var project = $"adopt{Guid.NewGuid():N}"[..13];
        var port = 20000 + Random.Shared.Next(10000);
        var compose = $$$"""
            services:
              store:
                image: deploydeck/probe:latest
                mem_limit: 32m
                labels: {deploydeck.phase: core}
                restart: always
                volumes: [data:/data]
                healthcheck: {test: {{{Health}}}, interval: 1s, timeout: 2s, retries: 5}
              front:
                image: deploydeck/probe:latest
                mem_limit: 32m
                labels: {deploydeck.phase: core}
                ports: ["127.0.0.1:{{{port}}}:8080"]
            volumes:
              data: {}
            """;
        var directory = Directory.CreateTempSubdirectory("adopt-");
        var file = Path.Combine(directory.FullName, "docker-compose.yml");
        await File.WriteAllTextAsync(file, compose);
        using var docker = DeployDeckApp.Docker();
        try
        {
            Assert.Equal(0, ComposeCli.Run(file, project, "up", "-d").ExitCode);
            var theirs = (await RunningAsync(project, "store")).Concat(await RunningAsync(project, "front")).Select(c => c.ID).ToList();
            Assert.Equal(2, theirs.Count);
            var store = Assert.Single(await RunningAsync(project, "store"));
            await ExecAsync(store.ID, "/bin/sh", "-c", "echo from-compose > /data/file");

            // A container of no project holding the fixed port: the start is refused naming it, nothing is touched.
            using var admin = App.CreateClient(await App.AdminTokenAsync());
            var (planId, _) = await ImportAsync(admin, project, compose.Replace($"{port}:8080", $"{port + 1}:8080", StringComparison.Ordinal));
            var squatter = (await docker.Containers.CreateContainerAsync(new CreateContainerParameters
            {
                Name = $"squatter-{project}",
                Image = "deploydeck/probe:latest",
                Labels = new Dictionary<string, string> { ["deploydeck.test"] = "true", ["deploydeck.test.run"] = Environment.GetEnvironmentVariable("DEPLOYDECK_TEST_RUN") ?? "local" },
                ExposedPorts = new Dictionary<string, EmptyStruct> { ["8080/tcp"] = default },
                HostConfig = new HostConfig
                {
                    Memory = 32L << 20,
                    PortBindings = new Dictionary<string, IList<PortBinding>> { ["8080/tcp"] = [new PortBinding { HostIP = "127.0.0.1", HostPort = $"{port + 1}" }] },
                },
            })).ID;
            await docker.Containers.StartContainerAsync(squatter, new ContainerStartParameters());
            var refused = await admin.PostAsJsonAsync("/api/rollouts", new { planId, hostId = await App.HostIdAsync() });
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            Assert.Contains($"host port {port + 1}, which container squatter-{project} of no Compose project holds", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            await docker.Containers.RemoveContainerAsync(squatter, new ContainerRemoveParameters { Force = true });

            // A version that never becomes healthy, with another restart policy: Compose's containers are the previous
            // version, and come back with the restart policy Compose gave them (replacing them set "no").
            await ReimportAsync(admin, planId, compose.Replace(Health, """["CMD", "/bin/false"]""", StringComparison.Ordinal).Replace("retries: 5", "retries: 1", StringComparison.Ordinal)
                .Replace("restart: always", "restart: on-failure", StringComparison.Ordinal));
            var failed = await RollOutAsync(admin, planId);
            Assert.True(failed.GetProperty("state").GetString() == "RolledBack", failed.ToString());
            foreach (var id in theirs)
                Assert.True((await docker.Containers.InspectContainerAsync(id)).State!.Running, $"docker compose's container {id} is not back:\n{failed}");
            Assert.Equal(RestartPolicyKind.Always, (await docker.Containers.InspectContainerAsync(store.ID)).HostConfig!.RestartPolicy!.Name);
            Assert.Equal(RestartPolicyKind.No, (await docker.Containers.InspectContainerAsync(theirs[1])).HostConfig!.RestartPolicy!.Name);
            Assert.Equal("from-compose", await ExecAsync(store.ID, "/bin/cat", "/data/file"));

            // The same file: Compose's containers are the previous version, replaced in order and removed on success.
            await ReimportAsync(admin, planId, compose);
            var rollout = await RollOutAsync(admin, planId);
            Succeeded(rollout);
            Assert.Contains("was started by docker compose", Reason(rollout, "store"), StringComparison.Ordinal);
            foreach (var id in theirs)
                await Assert.ThrowsAsync<DockerContainerNotFoundException>(() => docker.Containers.InspectContainerAsync(id));
            var ours = Assert.Single(await RunningAsync(project, "store"));
            Assert.Equal("true", ours.Labels["deploydeck.managed"]);
            Assert.Single(await RunningAsync(project, "front"));
            Assert.Equal("from-compose", await ExecAsync(ours.ID, "/bin/cat", "/data/file"));
        }
        finally
        {
            // Compose's own down removes what it made (its volume too) and DeployDeck's containers of the project.
            ComposeCli.Run(file, project, "down", "-v", "--remove-orphans");
            directory.Delete(recursive: true);
        }
    }
}
