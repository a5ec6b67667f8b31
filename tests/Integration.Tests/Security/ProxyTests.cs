using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using DeployDeck.Tests.Shared;

namespace DeployDeck.Integration.Tests.Security;

/// <summary>Behind a configured TLS proxy (127.0.0.1 here): forwarded headers are read, the cookie is Secure, clients are told apart.</summary>
public sealed partial class ProxyTests(ProxiedWeb web) : IClassFixture<ProxiedWeb>
{
    private readonly DeployDeckApp _app = web.App;

    [GeneratedRegex("<input[^>]*name=\"__RequestVerificationToken\"[^>]*value=\"(?<value>[^\"]+)\"")]
    private static partial Regex AntiforgeryField();

    private static HttpRequestMessage Forwarded(HttpMethod method, string path, string client, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Add("X-Forwarded-For", client);
        request.Headers.Add("X-Forwarded-Proto", "https");
        request.Headers.Add("X-Forwarded-Host", "deploy.example.com");
        return request;
    }

    [Fact]
    public async Task The_sign_in_cookie_is_secure_when_the_proxy_says_https()
    {
        var jar = new CookieContainer();
        using var client = new HttpClient(new HttpClientHandler { CookieContainer = jar, UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = _app.BaseUrl };
        var page = await client.SendAsync(Forwarded(HttpMethod.Get, "/login", "198.51.100.1"));
        var form = await page.Content.ReadAsStringAsync();
        var cookies = page.Headers.GetValues("Set-Cookie").Select(c => c.Split(';')[0]).ToList();
        var login = Forwarded(HttpMethod.Post, "/account/login", "198.51.100.1", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["username"] = DeployDeckApp.AdminUser, ["password"] = _app.AdminPassword, ["__RequestVerificationToken"] = AntiforgeryField().Match(form).Groups["value"].Value,
        }));
        login.Headers.Add("Cookie", string.Join("; ", cookies));
        login.Headers.Add("Origin", "https://deploy.example.com");

        var response = await client.SendAsync(login);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var session = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("deploydeck=", StringComparison.Ordinal));
        Assert.Contains("secure", session, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", session, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("httponly", session, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("max-age=31536000", response.Headers.GetValues("Strict-Transport-Security").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Failed_sign_ins_are_counted_per_forwarded_client_not_per_proxy()
    {
        using var client = _app.CreateClient();
        for (var i = 0; i < 3; i++)
        {
            var failed = await client.SendAsync(Forwarded(HttpMethod.Post, "/api/tokens", "198.51.100.7", JsonContent.Create(new { username = $"nobody-{i}", password = "wrong-password-1" })));
            Assert.Equal(HttpStatusCode.Unauthorized, failed.StatusCode);
        }

        var throttled = await client.SendAsync(Forwarded(HttpMethod.Post, "/api/tokens", "198.51.100.7", JsonContent.Create(new { username = "nobody-x", password = "wrong-password-1" })));
        Assert.Equal(HttpStatusCode.TooManyRequests, throttled.StatusCode);
        var other = await client.SendAsync(Forwarded(HttpMethod.Post, "/api/tokens", "198.51.100.8", JsonContent.Create(new { username = DeployDeckApp.AdminUser, password = _app.AdminPassword })));
        Assert.Equal(HttpStatusCode.Created, other.StatusCode);
    }
}

public sealed class ProxiedWeb() : WebOnly(new Dictionary<string, string>
{
    ["Proxy__KnownProxies__0"] = "127.0.0.1",
    ["Auth__FailedLoginsPerWindow"] = "3",
});
