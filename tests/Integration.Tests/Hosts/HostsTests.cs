using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;
using DeployDeck.Integration.Tests.Api;
using DeployDeck.Tests.Shared;
using ContainersListParameters = Docker.DotNet.Models.ContainersListParameters;

namespace DeployDeck.Integration.Tests.Hosts;

/// <summary>Two extra real engines, one reached over tcp+TLS, one over ssh, for the tests of a class.</summary>
public sealed class RemoteEngines : IAsyncLifetime
{
    public ExtraEngine Tls { get; private set; } = null!;

    public ExtraEngine Ssh { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Tls = await ExtraEngine.StartAsync(EngineAccess.Tls);
        Ssh = await ExtraEngine.StartAsync(EngineAccess.Ssh);
    }

    public async Task DisposeAsync()
    {
        await Tls.DisposeAsync();
        await Ssh.DisposeAsync();
    }
}

/// <summary>Hosts an Admin adds, tests, changes and removes, each with its own engine: over TLS and SSH, on real engines.</summary>
public sealed class HostsTests(RemoteEngines engines) : AppPerClass(), IClassFixture<RemoteEngines>
{
    private static ServiceSpec Probe(string name, params string[] dependsOn) => new()
    {
        Name = name,
        Image = "deploydeck/probe:latest",
        Resources = new ResourceLimits(MemorySize.Parse("48m"), MemorySize.Parse("16m"), null, CpuShare.Parse("0.25")),
        Restart = new RestartPolicy(RestartMode.UnlessStopped),
        HealthCheck = ProbeSpecs.Health(5, TimeSpan.FromSeconds(20)),
        DependsOn = dependsOn.Select(d => new ServiceDependency(d, DependencyCondition.ServiceHealthy)).ToList(),
        // An exec gate goes through the engine's hijacked exec stream: over TLS and over the SSH channel too.
        Gates = [new GateSpec { Kind = GateKind.Exec, Command = ["/bin/sh", "-c", "test -x /bin/busybox"] }],
    };

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response) => await response.Content.ReadFromJsonAsync<JsonElement>();

    [Fact]
    public async Task Admin_tests_and_adds_a_tls_host_whose_credentials_are_stored_encrypted_and_never_shown_back()
    {
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        var tested = await admin.PostAsJsonAsync("/api/hosts/test", engines.Tls.HostRequest("tls-1"));
        var facts = await JsonAsync(tested);
        Assert.True(tested.StatusCode == HttpStatusCode.OK, facts.ToString());
        var engine = facts.GetProperty("engine");
        Assert.StartsWith("20.10", engine.GetProperty("serverVersion").GetString(), StringComparison.Ordinal);
        Assert.True(engine.GetProperty("cpus").GetInt32() > 0);
        Assert.True(engine.GetProperty("memoryBytes").GetInt64() > 0);
        Assert.Equal("inactive", engine.GetProperty("swarmState").GetString());
        Assert.Equal(engines.Tls.DataRoot, engine.GetProperty("dockerRootDir").GetString());

        var created = await admin.PostAsJsonAsync("/api/hosts", engines.Tls.HostRequest("tls-1", "a droplet over TLS"));
        var host = await JsonAsync(created);
        Assert.True(created.StatusCode == HttpStatusCode.Created, host.ToString());
        var id = host.GetProperty("id").GetGuid();
        Assert.Equal($"/api/hosts/{id}", created.Headers.Location?.ToString());
        Assert.True(host.GetProperty("hasCredentials").GetBoolean());

        var read = await admin.GetStringAsync($"/api/hosts/{id}");
        var list = await admin.GetStringAsync("/api/hosts");
        var stored = await App.QueryScalarAsync<string>($"SELECT \"Credentials\" FROM hosts WHERE \"Id\" = '{id}'");
        var keyBody = engines.Tls.ClientKeyPem!.Split('\n')[1];
        foreach (var text in new[] { read, list, stored, await App.QueryScalarAsync<string>("SELECT string_agg(coalesce(\"Details\", ''), ' ') FROM audit_entries") })
        {
            Assert.DoesNotContain("BEGIN", text, StringComparison.Ordinal);
            Assert.DoesNotContain(keyBody, text, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(keyBody, App.WebLog, StringComparison.Ordinal);
        var again = await admin.PostAsync($"/api/hosts/{id}/test", null);
        Assert.True(again.StatusCode == HttpStatusCode.OK, await again.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Bad_hosts_are_refused_with_a_problem_naming_what_is_wrong_and_nothing_is_saved()
    {
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        async Task Refused(object body, HttpStatusCode status, string expected)
        {
            var response = await admin.PostAsJsonAsync("/api/hosts", body);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == status, $"{(int)response.StatusCode}: {text}");
            Assert.Contains(expected, text, StringComparison.Ordinal);
        }

        await Refused(new { name = "plain", endpoint = "tcp://10.213.250.2:2375" }, HttpStatusCode.UnprocessableEntity, "plain tcp:// is allowed on a loopback address only");
        await Refused(new { name = "bad", endpoint = "http://x:2375" }, HttpStatusCode.BadRequest, "'http://' is not supported");
        await Refused(new { name = "", endpoint = "unix:///var/run/docker.sock" }, HttpStatusCode.BadRequest, "needs a name");
        await Refused(new { name = "broken-tls", endpoint = engines.Tls.Endpoint, tls = new { ca = "not a cert", certificate = engines.Tls.ClientCertPem, key = engines.Tls.ClientKeyPem } },
            HttpStatusCode.UnprocessableEntity, "The CA certificate is not a PEM certificate");
        await Refused(new { name = "no-key", endpoint = engines.Ssh.Endpoint }, HttpStatusCode.UnprocessableEntity, "needs a private key");
        await Refused(new { name = "local", endpoint = "unix:///var/run/docker.sock" }, HttpStatusCode.Conflict, "There is a host named 'local' already");
        Assert.Equal(1L, await App.QueryScalarAsync<long>("SELECT count(*) FROM hosts"));

        var password = await App.CreateUserAsync("op-hosts", "Operator");
        using var op = App.CreateClient(await App.TokenAsync("op-hosts", password));
        Assert.Equal(HttpStatusCode.Forbidden, (await op.PostAsJsonAsync("/api/hosts", engines.Tls.HostRequest("by-operator"))).StatusCode);
    }

    [Fact]
    public async Task An_ssh_host_is_saved_only_with_the_host_key_the_admin_confirmed_and_a_changed_key_is_refused()
    {
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        var unconfirmed = new { name = "ssh-1", endpoint = engines.Ssh.Endpoint, ssh = new { privateKey = engines.Ssh.SshPrivateKey } };

        var tested = await JsonAsync(await admin.PostAsJsonAsync("/api/hosts/test", unconfirmed));
        Assert.Equal(engines.Ssh.SshHostKeyFingerprint, tested.GetProperty("sshHostKey").GetString());
        Assert.False(tested.GetProperty("hostKeyConfirmed").GetBoolean());
        Assert.Equal(JsonValueKind.Null, tested.GetProperty("engine").ValueKind);

        var first = await admin.PostAsJsonAsync("/api/hosts", unconfirmed);
        var problem = await JsonAsync(first);
        Assert.Equal(HttpStatusCode.Conflict, first.StatusCode);
        Assert.Equal(engines.Ssh.SshHostKeyFingerprint, problem.GetProperty("sshHostKey").GetString());
        Assert.Equal(0L, await App.QueryScalarAsync<long>("SELECT count(*) FROM hosts WHERE \"Name\" = 'ssh-1'"));

        var id = await App.AddHostAsync(engines.Ssh, "ssh-1");
        var test = await admin.PostAsync($"/api/hosts/{id}/test", null);
        var facts = await JsonAsync(test);
        Assert.True(test.StatusCode == HttpStatusCode.OK, facts.ToString());
        Assert.Equal(engines.Ssh.DataRoot, facts.GetProperty("engine").GetProperty("dockerRootDir").GetString());

        // Another key than the one confirmed (the host rebuilt, or someone in between): refused, and says which.
        var changed = await admin.PutAsJsonAsync($"/api/hosts/{id}", new { sshHostKey = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" });
        Assert.True(changed.IsSuccessStatusCode, await changed.Content.ReadAsStringAsync());
        var refused = await admin.GetAsync($"/api/hosts/{id}/check");
        var text = await refused.Content.ReadAsStringAsync();
        Assert.True(refused.StatusCode == HttpStatusCode.BadGateway, text);
        Assert.Contains("ssh-1", text, StringComparison.Ordinal);
        Assert.Contains("host key", text, StringComparison.Ordinal);
        Assert.Contains(engines.Ssh.SshHostKeyFingerprint!, text, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/hosts/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/api/hosts/{id}")).StatusCode);
    }

    [Fact]
    public async Task A_plan_rolled_out_to_two_hosts_at_once_lands_on_each_engine_only()
    {
        var tls = await App.AddHostAsync(engines.Tls, "tls-rollout");
        var ssh = await App.AddHostAsync(engines.Ssh, "ssh-rollout");
        var planId = await App.SeedPlanAsync("two-hosts", new PlanSpec([new PhaseSpec { Name = "core", Services = [Probe("db"), Probe("api", "db")] }]));
        using var admin = App.CreateClient(await App.AdminTokenAsync());

        var ids = new Dictionary<Guid, Guid>();
        foreach (var host in new[] { tls, ssh })
        {
            var started = await admin.PostAsJsonAsync("/api/rollouts", new { planId, hostId = host });
            var body = await JsonAsync(started);
            Assert.True(started.IsSuccessStatusCode, body.ToString());
            ids[host] = body.GetProperty("id").GetGuid();
        }

        var results = await Task.WhenAll(ids.Values.Select(id => RolloutApiTests.WaitForFinalAsync(admin, id, TimeSpan.FromSeconds(180))));
        foreach (var r in results)
            Assert.True(r.GetProperty("state").GetString() == "Succeeded", $"{r}\n--- worker ---\n{App.WorkerLog}");

        // Both ran at once: each started before the other finished.
        var (a, b) = (results[0], results[1]);
        Assert.True(a.GetProperty("startedAt").GetDateTimeOffset() < b.GetProperty("finishedAt").GetDateTimeOffset()
            && b.GetProperty("startedAt").GetDateTimeOffset() < a.GetProperty("finishedAt").GetDateTimeOffset(), $"not concurrent:\n{a}\n{b}");

        foreach (var (host, engine) in new[] { (tls, engines.Tls), (ssh, engines.Ssh) })
        {
            using var client = engine.Client();
            var here = await client.Containers.ListContainersAsync(new ContainersListParameters { All = true });
            var mine = here.Where(c => c.Labels.TryGetValue("deploydeck.rollout", out var r) && r == ids[host].ToString()).ToList();
            Assert.Equal(["api", "db"], mine.Select(c => c.Labels["deploydeck.service"]).Order().ToArray());
            var other = ids.Single(kv => kv.Key != host).Value.ToString();
            Assert.DoesNotContain(here, c => c.Labels.TryGetValue("deploydeck.rollout", out var r) && r == other);
        }

        Assert.DoesNotContain(await App.ContainersAsync(), c => ids.Values.Select(i => i.ToString()).Contains(c.Labels["deploydeck.rollout"]));
    }

    [Fact]
    public async Task An_unreachable_host_answers_with_a_problem_naming_it_its_card_says_offline_and_other_hosts_are_unaffected()
    {
        var tls = await App.AddHostAsync(engines.Tls, "tls-outage");
        var ssh = await App.AddHostAsync(engines.Ssh, "ssh-steady");
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        await engines.Tls.CutNetworkAsync();
        try
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var check = await admin.GetAsync($"/api/hosts/{tls}/check");
            var text = await check.Content.ReadAsStringAsync();
            Assert.True(check.StatusCode is HttpStatusCode.GatewayTimeout or HttpStatusCode.BadGateway, $"{(int)check.StatusCode}: {text}");
            Assert.Contains("tls-outage", text, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(40), $"the problem took {watch.Elapsed}");

            var card = await JsonAsync(await admin.GetAsync($"/api/hosts/{tls}"));
            Assert.True(card.GetProperty("offline").GetBoolean(), card.ToString());
            Assert.NotEqual(JsonValueKind.Null, card.GetProperty("offlineSince").ValueKind);
            Assert.False(string.IsNullOrEmpty(card.GetProperty("lastError").GetString()));

            watch.Restart();
            var steady = await admin.GetAsync($"/api/hosts/{ssh}/check");
            Assert.True(steady.StatusCode == HttpStatusCode.OK, await steady.Content.ReadAsStringAsync());
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"the other host's check took {watch.Elapsed}");
            Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/hosts")).StatusCode);
        }
        finally
        {
            await engines.Tls.RestoreNetworkAsync();
        }

        var back = await admin.PostAsync($"/api/hosts/{tls}/test", null);
        Assert.True(back.StatusCode == HttpStatusCode.OK, await back.Content.ReadAsStringAsync());
        Assert.False((await JsonAsync(await admin.GetAsync($"/api/hosts/{tls}"))).GetProperty("offline").GetBoolean());
    }
}
