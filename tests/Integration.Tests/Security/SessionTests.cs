using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using DeployDeck.Tests.Shared;

namespace DeployDeck.Integration.Tests.Security;

/// <summary>Sign-in that tells nobody who exists, sessions that end when an Admin says so, and users an Admin can disable, reset and delete.</summary>
public sealed partial class SessionTests(UnthrottledWeb web) : IClassFixture<UnthrottledWeb>
{
    private readonly DeployDeckApp _app = web.App;

    private async Task<HttpClient> AdminAsync() => _app.CreateClient(await web.AdminTokenAsync());


    private async Task<string> IdOfAsync(string username)
    {
        using var admin = await AdminAsync();
        var users = await admin.GetFromJsonAsync<JsonElement>("/api/users");
        return users.EnumerateArray().First(u => u.GetProperty("username").GetString() == username).GetProperty("id").GetString()!;
    }

    /// <summary>Signs in through the real form (antiforgery token and all): a client that carries the cookie, and its cookie jar.</summary>
    private async Task<(HttpClient Client, CookieContainer Jar)> SignedInAsync(string username, string password)
    {
        var jar = new CookieContainer();
        var client = new HttpClient(new HttpClientHandler { CookieContainer = jar, UseCookies = true, AllowAutoRedirect = false }) { BaseAddress = _app.BaseUrl };
        var form = await client.GetStringAsync("/login");
        var token = AntiforgeryField().Match(form).Groups["value"].Value;
        var response = await client.PostAsync("/account/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["username"] = username, ["password"] = password, ["returnUrl"] = "/", ["__RequestVerificationToken"] = token,
        }));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/", response.Headers.Location!.OriginalString);
        client.DefaultRequestHeaders.Add("Origin", _app.BaseUrl.GetLeftPart(UriPartial.Authority));
        return (client, jar);
    }

    [GeneratedRegex("<input[^>]*name=\"__RequestVerificationToken\"[^>]*value=\"(?<value>[^\"]+)\"")]
    private static partial Regex AntiforgeryField();

    private async Task<(HttpStatusCode Status, string Body, string? Location)> FormSignInAsync(string username, string password)
    {
        using var client = _app.CreateClient();
        var form = await client.GetStringAsync("/login");
        var response = await client.PostAsync("/account/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["username"] = username, ["password"] = password, ["__RequestVerificationToken"] = AntiforgeryField().Match(form).Groups["value"].Value,
        }));
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response.Headers.Location?.OriginalString);
    }

    private async Task<(HttpStatusCode Status, string Title, string Detail)> TokenSignInAsync(string username, string password)
    {
        using var client = _app.CreateClient();
        var response = await client.PostAsJsonAsync("/api/tokens", new { username, password, name = "probe" });
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (response.StatusCode, problem.TryGetProperty("title", out var t) ? t.GetString()! : "", problem.TryGetProperty("detail", out var d) ? d.GetString()! : "");
    }

    [Fact]
    public async Task Unknown_users_wrong_passwords_and_disabled_accounts_get_the_same_answer()
    {
        var password = await _app.CreateUserAsync("same-answer", "Viewer");
        await _app.CreateUserAsync("same-answer-off", "Viewer");
        using (var admin = await AdminAsync())
            Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/users/{await IdOfAsync("same-answer-off")}/disable", null)).StatusCode);

        var unknown = await TokenSignInAsync("nobody-at-all", "some-password-123");
        var wrong = await TokenSignInAsync("same-answer", "some-password-123");
        var disabled = await TokenSignInAsync("same-answer-off", password);
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.Status);
        Assert.Equal(unknown, wrong);
        Assert.Equal(unknown, disabled);

        var form = new[] { await FormSignInAsync("nobody-at-all", "x-password-123"), await FormSignInAsync("same-answer", "x-password-123"), await FormSignInAsync("same-answer-off", password) };
        Assert.All(form, f => Assert.StartsWith("/login?error=invalid", f.Location, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unknown_user_name_costs_a_password_hash_like_a_known_one()
    {
        await _app.CreateUserAsync("timing-known", "Viewer");
        // Warm both paths, then interleave: the load of a shared 2-core machine hits both alike.
        await TokenSignInAsync("timing-known", "wrong-password-000");
        await TokenSignInAsync("timing-nobody-0", "wrong-password-000");
        var known = new List<double>();
        var unknown = new List<double>();
        for (var i = 0; i < 9; i++)
        {
            var watch = Stopwatch.StartNew();
            await TokenSignInAsync("timing-known", $"wrong-password-{i:000}");
            known.Add(watch.Elapsed.TotalMilliseconds);
            watch.Restart();
            await TokenSignInAsync($"timing-nobody-{i}", $"wrong-password-{i:000}");
            unknown.Add(watch.Elapsed.TotalMilliseconds);
        }

        var (k, u) = (known.Order().ElementAt(4), unknown.Order().ElementAt(4));
        // Before: 190 ms against 12 ms. The same hash on both paths keeps them within noise of each other.
        Assert.True(u > k * 0.6 && k > u * 0.6, $"median {k:0} ms for a known user, {u:0} ms for an unknown one");
    }

    [Fact]
    public async Task A_role_change_ends_the_users_cookie_session_at_once_and_their_token_follows_it()
    {
        var password = await _app.CreateUserAsync("demoted", "Operator");
        var (browser, _) = await SignedInAsync("demoted", password);
        using var owned = browser;
        using var token = _app.CreateClient(await _app.TokenAsync("demoted", password));
        Assert.Contains("Operator", await browser.GetStringAsync("/api/me"), StringComparison.Ordinal);

        using (var admin = await AdminAsync())
            Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/users/{await IdOfAsync("demoted")}/roles", new { roles = Array.Empty<string>() })).StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync("/api/me")).StatusCode);
        var me = await token.GetFromJsonAsync<JsonElement>("/api/me");
        Assert.Empty(me.GetProperty("roles").EnumerateArray());
        // No role is read-only, not nothing: the user reads plans and may not import one.
        Assert.Equal(HttpStatusCode.OK, (await token.GetAsync("/api/plans")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await token.PostAsJsonAsync("/api/plans/import", new { name = "x" })).StatusCode);
    }

    [Fact]
    public async Task A_cookie_copied_before_logout_no_longer_works()
    {
        var password = await _app.CreateUserAsync("logs-out", "Viewer");
        var (browser, jar) = await SignedInAsync("logs-out", password);
        using var owned = browser;
        var copied = new CookieContainer();
        foreach (Cookie c in jar.GetCookies(_app.BaseUrl))
            copied.Add(_app.BaseUrl, new Cookie(c.Name, c.Value));
        using var thief = new HttpClient(new HttpClientHandler { CookieContainer = copied, AllowAutoRedirect = false }) { BaseAddress = _app.BaseUrl };
        Assert.Equal(HttpStatusCode.OK, (await thief.GetAsync("/api/me")).StatusCode);

        var logout = await browser.PostAsync("/account/logout", null);
        Assert.Equal(HttpStatusCode.Redirect, logout.StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, (await thief.GetAsync("/api/me")).StatusCode);
    }

    [Fact]
    public async Task A_disabled_user_is_signed_out_at_once_their_tokens_refused_and_enabling_gives_it_back()
    {
        var password = await _app.CreateUserAsync("switched-off", "Operator");
        var (browser, _) = await SignedInAsync("switched-off", password);
        using var owned = browser;
        var token = await _app.TokenAsync("switched-off", password);
        using var ci = _app.CreateClient(token);
        var id = await IdOfAsync("switched-off");
        using var admin = await AdminAsync();

        var disabled = await admin.PostAsync($"/api/users/{id}/disable", null);
        Assert.True((await disabled.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("disabled").GetBoolean());
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync("/api/me")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await ci.GetAsync("/api/me")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await TokenSignInAsync("switched-off", password)).Status);

        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/users/{id}/enable", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await ci.GetAsync("/api/me")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await TokenSignInAsync("switched-off", password)).Status);

        var audit = await admin.GetStringAsync("/api/audit?action=user.*");
        Assert.Contains("user.disabled", audit, StringComparison.Ordinal);
        Assert.Contains("user.enabled", audit, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_password_reset_ends_sessions_and_only_the_new_password_signs_in()
    {
        var password = await _app.CreateUserAsync("forgetful", "Viewer");
        var (browser, _) = await SignedInAsync("forgetful", password);
        using var owned = browser;
        using var admin = await AdminAsync();

        var tooShort = await admin.PostAsJsonAsync($"/api/users/{await IdOfAsync("forgetful")}/password", new { newPassword = "short" });
        Assert.Equal(HttpStatusCode.BadRequest, tooShort.StatusCode);
        Assert.True((await tooShort.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("newPassword", out _));

        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync($"/api/users/{await IdOfAsync("forgetful")}/password", new { newPassword = "a-brand-new-password-1" })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync("/api/me")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await TokenSignInAsync("forgetful", password)).Status);
        Assert.Equal(HttpStatusCode.Created, (await TokenSignInAsync("forgetful", "a-brand-new-password-1")).Status);
    }

    [Fact]
    public async Task A_deleted_user_loses_their_tokens_and_cannot_sign_in()
    {
        var password = await _app.CreateUserAsync("leaver", "Operator");
        using var ci = _app.CreateClient(await _app.TokenAsync("leaver", password));
        using var admin = await AdminAsync();

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/users/{await IdOfAsync("leaver")}")).StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, (await ci.GetAsync("/api/me")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await TokenSignInAsync("leaver", password)).Status);
        Assert.Equal(0L, await _app.QueryScalarAsync<long>("SELECT count(*) FROM api_tokens t LEFT JOIN \"AspNetUsers\" u ON u.\"Id\" = t.\"UserId\" WHERE u.\"Id\" IS NULL"));
        Assert.Contains("user.deleted", await admin.GetStringAsync("/api/audit?action=user.deleted"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task There_is_always_an_enabled_admin_left()
    {
        using var admin = await AdminAsync();
        var self = await IdOfAsync(DeployDeckApp.AdminUser);

        foreach (var refused in new[] { await admin.PostAsync($"/api/users/{self}/disable", null), await admin.DeleteAsync($"/api/users/{self}") })
        {
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            Assert.Contains("yourself", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // Another Admin may: the first one's token stops until it is enabled again.
        var password = await _app.CreateUserAsync("second-admin", "Admin");
        using var second = _app.CreateClient(await _app.TokenAsync("second-admin", password));
        Assert.Equal(HttpStatusCode.OK, (await second.PostAsync($"/api/users/{self}/disable", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await admin.GetAsync("/api/me")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await second.PostAsync($"/api/users/{self}/enable", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/me")).StatusCode);
    }

    [Theory]
    [InlineData("/\t/evil")]
    [InlineData("//evil.example")]
    [InlineData("/\\evil.example")]
    [InlineData("https://evil.example/")]
    [InlineData("/%0d%0aSet-Cookie:x=1")]
    public async Task A_return_url_that_is_not_a_local_path_signs_in_to_the_start_page(string returnUrl)
    {
        using var client = _app.CreateClient();
        var form = await client.GetStringAsync("/login");
        var response = await client.PostAsync("/account/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["username"] = DeployDeckApp.AdminUser, ["password"] = _app.AdminPassword, ["returnUrl"] = returnUrl,
            ["__RequestVerificationToken"] = AntiforgeryField().Match(form).Groups["value"].Value,
        }));

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var location = response.Headers.Location!.OriginalString;
        Assert.True(location == "/" || location == returnUrl && returnUrl.StartsWith("/%", StringComparison.Ordinal), location);
    }
}
