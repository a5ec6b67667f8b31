using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace DeployDeck.Integration.Tests.Api;

[Collection(AppCollection.Name)]
public sealed class AuthenticationTests(AppFixture fixture)
{
    [Theory]
    [InlineData("/api/hosts")]
    [InlineData("/api/plans")]
    [InlineData("/api/rollouts")]
    [InlineData("/api/me")]
    [InlineData("/api/registries")]
    [InlineData("/openapi/v1.json")]
    public async Task Anonymous_api_request_is_refused_with_401(string path)
    {
        using var client = fixture.App.CreateClient();
        var response = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/plans")]
    [InlineData("/rollouts")]
    [InlineData("/users")]
    [InlineData("/registries")]
    [InlineData("/hangfire")]
    public async Task Anonymous_page_request_is_sent_to_the_login_page(string path)
    {
        using var client = fixture.App.CreateClient();
        var response = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("/login", response.Headers.Location!.PathAndQuery, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Anonymous_hub_negotiation_is_refused()
    {
        using var client = fixture.App.CreateClient();
        var response = await client.PostAsync("/hubs/live/negotiate?negotiateVersion=1", null);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Login_page_and_health_probes_are_open_without_login()
    {
        using var client = fixture.App.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/login")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
    }

    [Fact]
    public async Task Pages_and_api_answers_may_not_be_framed_or_sniffed()
    {
        using var client = fixture.App.CreateClient();
        foreach (var path in new[] { "/login", "/api/hosts" })
        {
            using var response = await client.GetAsync(path);
            var csp = response.Headers.GetValues("Content-Security-Policy").Single();
            Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
            Assert.Contains("default-src 'self'", csp, StringComparison.Ordinal);
            Assert.Contains("script-src 'self';", csp, StringComparison.Ordinal);
            Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        }
    }

    [Fact]
    public async Task Worker_key_opens_the_hub_but_not_the_api()
    {
        using var worker = fixture.App.CreateClient(fixture.App.WorkerKey);
        Assert.Equal(HttpStatusCode.Forbidden, (await worker.GetAsync("/api/hosts")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await worker.PostAsync("/hubs/live/negotiate?negotiateVersion=1", null)).StatusCode);
    }

    [Fact]
    public async Task Api_token_carries_the_users_roles_and_stops_working_when_revoked()
    {
        var password = await fixture.App.CreateUserAsync("token-viewer", "Viewer");
        var token = await fixture.App.TokenAsync("token-viewer", password);
        using var client = fixture.App.CreateClient(token);

        var me = await client.GetFromJsonAsync<JsonElement>("/api/me");
        Assert.Equal("token-viewer", me.GetProperty("username").GetString());
        Assert.Equal(["Viewer"], me.GetProperty("roles").EnumerateArray().Select(r => r.GetString()!).ToArray());

        var tokens = await client.GetFromJsonAsync<JsonElement>("/api/tokens");
        var id = tokens.EnumerateArray().Single().GetProperty("id").GetString();
        Assert.DoesNotContain(token, tokens.ToString(), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/api/tokens/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/me")).StatusCode);
    }

    [Fact]
    public async Task Only_a_hash_of_a_token_is_stored()
    {
        var token = await fixture.App.AdminTokenAsync();
        var stored = await fixture.App.QueryScalarAsync<long>($"SELECT count(*) FROM api_tokens WHERE \"Hash\" = '{token}' OR \"Prefix\" = '{token}'");
        Assert.Equal(0, stored);
    }

    [Fact]
    public async Task Wrong_passwords_answer_401_then_429_with_retry_after_and_never_stop_the_users_tokens()
    {
        var password = await fixture.App.CreateUserAsync("lock-me", "Viewer");
        var token = await fixture.App.TokenAsync("lock-me", password);
        using var client = fixture.App.CreateClient();
        for (var i = 0; i < 5; i++)
        {
            var failed = await client.PostAsJsonAsync("/api/tokens", new { username = "lock-me", password = "wrong-password-123", name = "x" });
            Assert.Equal(HttpStatusCode.Unauthorized, failed.StatusCode);
            Assert.Equal("Unknown user or wrong password.", (await failed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
        }

        // Even the right password waits now: the name is throttled, whoever tries it.
        var throttled = await client.PostAsJsonAsync("/api/tokens", new { username = "lock-me", password, name = "x" });
        Assert.Equal(HttpStatusCode.TooManyRequests, throttled.StatusCode);
        Assert.True(throttled.Headers.RetryAfter?.Delta > TimeSpan.Zero, "429 without Retry-After");

        // The account's CI keeps going: failed sign-ins never disable its tokens.
        using var ci = fixture.App.CreateClient(token);
        Assert.Equal(HttpStatusCode.OK, (await ci.GetAsync("/api/me")).StatusCode);
    }

    [Fact]
    public async Task Users_api_is_for_admins_only()
    {
        var password = await fixture.App.CreateUserAsync("operator-not-admin", "Operator");
        using var client = fixture.App.CreateClient(await fixture.App.TokenAsync("operator-not-admin", password));
        var response = await client.PostAsJsonAsync("/api/users", new { username = "sneaky", password = "long-enough-password", roles = new[] { "Admin" } });
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task Hangfire_dashboard_is_for_admins_only()
    {
        var password = await fixture.App.CreateUserAsync("viewer-no-jobs", "Viewer");
        using var viewer = fixture.App.CreateClient(await fixture.App.TokenAsync("viewer-no-jobs", password));
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.GetAsync("/hangfire")).StatusCode);

        using var admin = fixture.App.CreateClient(await fixture.App.AdminTokenAsync());
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/hangfire")).StatusCode);
    }

    [Fact]
    public async Task Openapi_document_lists_the_rollouts_api()
    {
        using var client = fixture.App.CreateClient(await fixture.App.AdminTokenAsync());
        var doc = await client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var paths = doc.GetProperty("paths");
        Assert.True(paths.TryGetProperty("/api/rollouts", out _));
        Assert.True(paths.TryGetProperty("/api/rollouts/{id}", out _));
        Assert.True(paths.TryGetProperty("/api/tokens", out _));
    }
}
