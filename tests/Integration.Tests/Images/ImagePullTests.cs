using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeployDeck.Domain.Plans;
using DeployDeck.Integration.Tests.Api;
using DeployDeck.Tests.Shared;
using Docker.DotNet;

namespace DeployDeck.Integration.Tests.Images;

/// <summary>
/// Images a host lacks are pulled before the first phase, through the host's engine, from a real registry
/// (distribution 2.8 with htpasswd auth) with the login an Admin keeps — and a registry that refuses or is down is named
/// on the rollout's record before anything starts.
/// </summary>
public sealed class ImagePullTests() : AppPerClass(), IAsyncLifetime
{
    private TestRegistry _registry = null!;

    async Task IAsyncLifetime.InitializeAsync()
    {
        await InitializeAsync();
        _registry = await TestRegistry.StartAsync();
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        await DisposeAsync(); // the app's containers first: an image still in use would only lose its name
        await _registry.DisposeAsync();
    }

    private static string Tag() => "t" + Guid.NewGuid().ToString("N")[..10];

    private static PlanSpec Plan(string image, PullPolicy policy = PullPolicy.Missing) => new(
    [
        new PhaseSpec { Name = "core", Soak = TimeSpan.Zero, Services = [Probe("api") with { Image = image, Options = ContainerOptions.None with { PullPolicy = policy } }] },
    ]);

    private async Task<JsonElement> RollOutAsync(HttpClient client, Guid planId)
    {
        var started = await client.PostAsJsonAsync("/api/rollouts", new { planId, hostId = await App.HostIdAsync() });
        var body = await started.Content.ReadAsStringAsync();
        Assert.True(started.IsSuccessStatusCode, body);
        return await RolloutApiTests.WaitForFinalAsync(client, JsonDocument.Parse(body).RootElement.GetProperty("id").GetGuid(), TimeSpan.FromMinutes(3));
    }

    private async Task<HttpClient> AdminAsync() => App.CreateClient(await App.AdminTokenAsync());

    private async Task<Guid> AddLoginAsync(HttpClient admin, string password)
    {
        var response = await admin.PostAsJsonAsync("/api/registries", new { server = _registry.Server, username = _registry.Username, password });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("id").GetGuid();
    }

    private static async Task<bool> OnHostAsync(string image)
    {
        using var docker = DeployDeckApp.Docker();
        try
        {
            await docker.Images.InspectImageAsync(image);
            return true;
        }
        catch (DockerImageNotFoundException)
        {
            return false;
        }
    }

    private static List<string> Kinds(JsonElement rollout) => rollout.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("kind").GetString()!).ToList();

    private static string Message(JsonElement rollout, string kind) =>
        rollout.GetProperty("events").EnumerateArray().First(e => e.GetProperty("kind").GetString() == kind).GetProperty("message").GetString()!;

    [Fact]
    public async Task Registry_logins_are_an_Admins_and_their_password_never_comes_back()
    {
        using var admin = await AdminAsync();
        var opPassword = await App.CreateUserAsync("op-registries", "Operator");
        using var op = App.CreateClient(await App.TokenAsync("op-registries", opPassword));
        Assert.Equal(HttpStatusCode.Forbidden, (await op.GetAsync("/api/registries")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await op.PostAsJsonAsync("/api/registries", new { server = "ghcr.io", username = "x", password = "y" })).StatusCode);

        var badServer = await admin.PostAsJsonAsync("/api/registries", new { server = "not a host", username = "x", password = "y" });
        Assert.Equal(HttpStatusCode.BadRequest, badServer.StatusCode);
        Assert.Contains("is not a registry server", await badServer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsJsonAsync("/api/registries", new { server = "ghcr.io", username = "x" })).StatusCode);

        var secret = "sekrit-" + Guid.NewGuid().ToString("N");
        var created = await admin.PostAsJsonAsync("/api/registries", new { server = "https://index.docker.io/v1/", username = "bob", password = secret });
        var createdBody = await created.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.DoesNotContain(secret, createdBody, StringComparison.Ordinal);
        var id = JsonDocument.Parse(createdBody).RootElement.GetProperty("id").GetGuid();
        Assert.Equal("docker.io", JsonDocument.Parse(createdBody).RootElement.GetProperty("server").GetString());
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PostAsJsonAsync("/api/registries", new { server = "docker.io", username = "eve", password = "z" })).StatusCode);

        var newSecret = "sekrit2-" + Guid.NewGuid().ToString("N");
        var changed = await admin.PutAsJsonAsync($"/api/registries/{id}", new { password = newSecret });
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        var list = await admin.GetStringAsync("/api/registries");
        Assert.Contains("\"bob\"", list, StringComparison.Ordinal);
        foreach (var s in new[] { secret, newSecret })
        {
            Assert.DoesNotContain(s, list, StringComparison.Ordinal);
            Assert.DoesNotContain(s, await admin.GetStringAsync($"/api/registries/{id}"), StringComparison.Ordinal);
            Assert.Equal(0, await App.QueryScalarAsync<long>($"SELECT count(*) FROM registry_logins WHERE \"Password\" LIKE '%{s}%'"));
            Assert.Equal(0, await App.QueryScalarAsync<long>($"SELECT count(*) FROM audit_entries WHERE \"Details\" LIKE '%{s}%' OR \"Subject\" LIKE '%{s}%'"));
            Assert.DoesNotContain(s, App.WebLog, StringComparison.Ordinal);
        }

        Assert.Equal(2, await App.QueryScalarAsync<long>("SELECT count(*) FROM audit_entries WHERE \"Action\" IN ('registry.added', 'registry.changed')"));
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/registries/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/api/registries/{id}")).StatusCode);
    }

    [Fact]
    public async Task A_missing_image_is_pulled_with_the_login_before_the_first_phase_and_runs()
    {
        using var admin = await AdminAsync();
        var image = await _registry.PushAsync("dd-pull/api", Tag(), paddingBytes: 2 * 1024 * 1024);
        Assert.False(await OnHostAsync(image));
        var login = await AddLoginAsync(admin, _registry.Password);
        try
        {
            var planId = await App.SeedPlanAsync("pull-ok", Plan(image));
            var rollout = await RollOutAsync(admin, planId);
            Assert.True(rollout.GetProperty("state").GetString() == "Succeeded", $"{rollout}\n--- worker ---\n{App.WorkerLog}");

            var kinds = Kinds(rollout);
            Assert.True(kinds.IndexOf("image.pulled") < kinds.IndexOf("rollout.started"), string.Join(", ", kinds));
            Assert.Contains("1 image(s) to pull", Message(rollout, "image.pull-checked"), StringComparison.Ordinal);
            Assert.Matches(@"\d+(\.\d)? MB compressed", Message(rollout, "image.pull-checked"));
            var pulled = Message(rollout, "image.pulled");
            Assert.Matches(@"^Pulled .+: 2(\.\d)? MB downloaded in \d+\.\d s", pulled);

            Assert.True(await OnHostAsync(image));
            var container = Assert.Single(await App.ContainersAsync(), c => c.Labels["deploydeck.service"] == "api");
            Assert.Equal(image, container.Image);
            Assert.Equal("running", container.State);
            Assert.DoesNotContain(_registry.Password, App.WorkerLog, StringComparison.Ordinal);
            Assert.DoesNotContain(_registry.Password, rollout.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            await admin.DeleteAsync($"/api/registries/{login}");
        }
    }

    [Fact]
    public async Task A_wrong_password_no_login_and_a_stopped_registry_are_named_and_nothing_starts()
    {
        using var admin = await AdminAsync();
        var image = await _registry.PushAsync("dd-pull/refused", Tag());
        var planId = await App.SeedPlanAsync("pull-refused", Plan(image));

        var noLogin = await RollOutAsync(admin, planId);
        Assert.Equal("Failed", noLogin.GetProperty("state").GetString());
        Assert.Contains($"{_registry.Server} refused the pull: unauthorized, and DeployDeck keeps no login for {_registry.Server}", noLogin.GetProperty("error").GetString(), StringComparison.Ordinal);

        var login = await AddLoginAsync(admin, "not-the-password");
        try
        {
            var wrong = await RollOutAsync(admin, planId);
            Assert.Equal("Failed", wrong.GetProperty("state").GetString());
            Assert.Contains($"{_registry.Server} refused the login of alice: unauthorized", wrong.GetProperty("error").GetString(), StringComparison.Ordinal);
            Assert.DoesNotContain("rollout.started", Kinds(wrong));

            Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/registries/{login}", new { password = _registry.Password })).StatusCode);
            await _registry.StopAsync();
            var down = await RollOutAsync(admin, planId);
            Assert.Equal("Failed", down.GetProperty("state").GetString());
            Assert.Contains($"{_registry.Server} is unreachable from the host's engine", down.GetProperty("error").GetString(), StringComparison.Ordinal);
            Assert.Contains("did not answer DeployDeck", Message(down, "image.pull-checked"), StringComparison.Ordinal);
        }
        finally
        {
            await admin.DeleteAsync($"/api/registries/{login}");
        }

        Assert.Empty(await App.ContainersAsync());
        Assert.False(await OnHostAsync(image));
    }

    [Fact]
    public async Task Pull_policy_never_refuses_a_missing_image_and_always_pulls_a_present_one()
    {
        using var admin = await AdminAsync();
        var never = await RollOutAsync(admin, await App.SeedPlanAsync("pull-never", Plan("127.0.0.1:1/dd-pull/absent:1", PullPolicy.Never)));
        Assert.Equal("Failed", never.GetProperty("state").GetString());
        Assert.Contains("service api: the image 127.0.0.1:1/dd-pull/absent:1 is not on the host and pull_policy is never", never.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("image.pulling", Kinds(never));

        // "always" pulls an image the host has: pushed, and kept here under its name.
        var login = await AddLoginAsync(admin, _registry.Password);
        try
        {
            var tag = Tag();
            var present = await _registry.PushAsync("dd-pull/always", tag, keepLocal: true);
            Assert.True(await OnHostAsync(present));
            var alwaysPlan = await App.SeedPlanAsync("pull-always", Plan(present, PullPolicy.Always));
            var always = await RollOutAsync(admin, alwaysPlan);
            Assert.True(always.GetProperty("state").GetString() == "Succeeded", always.ToString());
            Assert.Contains("(pull_policy always)", Message(always, "image.pulling"), StringComparison.Ordinal);
            Assert.Matches(@"^Pulled .+: up to date, the registry's image is the host's \(\d+\.\d s\)$", Message(always, "image.pulled"));

            // The registry gets a newer image under the same tag; the host still has the old one under that name. The
            // launcher keeps the running container (same image id on the host); the pull replaces it, and so the container.
            using var docker = DeployDeckApp.Docker();
            var oldId = (await docker.Images.InspectImageAsync(present)).ID;
            await _registry.PushAsync("dd-pull/always", tag, keepLocal: true);
            var newId = (await docker.Images.InspectImageAsync(present)).ID;
            Assert.NotEqual(oldId, newId);
            await docker.Images.TagImageAsync(oldId, new Docker.DotNet.Models.ImageTagParameters { RepositoryName = $"{_registry.Server}/dd-pull/always", Tag = tag });
            try
            {
                var newer = await RollOutAsync(admin, alwaysPlan);
                Assert.True(newer.GetProperty("state").GetString() == "Succeeded", $"{newer}\n--- worker ---\n{App.WorkerLog}");
                Assert.Contains("was to be kept, but the pull brought a newer", newer.ToString(), StringComparison.Ordinal);
                var api = Assert.Single(await App.ContainersAsync(), c => c.Labels["deploydeck.service"] == "api" && c.Labels["deploydeck.plan"] == alwaysPlan.ToString());
                Assert.Equal(newId, api.ImageID);
                Assert.Equal("running", api.State);
            }
            finally
            {
                foreach (var c in await App.ContainersAsync())
                    await docker.Containers.RemoveContainerAsync(c.ID, new Docker.DotNet.Models.ContainerRemoveParameters { Force = true });
                foreach (var id in new[] { newId, oldId })
                {
                    try
                    {
                        await docker.Images.DeleteImageAsync(id, new Docker.DotNet.Models.ImageDeleteParameters { Force = true });
                    }
                    catch (DockerApiException)
                    {
                    }
                }
            }

            // A name the registry does not have is named as not found (with the login: without one the registry says 401 first).
            var missing = $"{_registry.Server}/dd-pull/nothing:{Tag()}";
            var notFound = await RollOutAsync(admin, await App.SeedPlanAsync("pull-missing", Plan(missing)));
            Assert.Equal("Failed", notFound.GetProperty("state").GetString());
            Assert.Contains($"{_registry.Server} has no image {missing} (not found)", notFound.GetProperty("error").GetString(), StringComparison.Ordinal);
            Assert.Empty(await App.ContainersAsync());
        }
        finally
        {
            await admin.DeleteAsync($"/api/registries/{login}");
        }
    }
}
