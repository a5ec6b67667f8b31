using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using DeployDeck.Domain.Input;
using DeployDeck.Infrastructure.Logging;
using DeployDeck.Infrastructure.Net;
using DeployDeck.Tests.Shared;
using Npgsql;

namespace DeployDeck.Integration.Tests.Security;

/// <summary>
/// The same-origin rule for cookies (what a page on another port of the host could make a signed-in browser do), error
/// answers and logs that hold no data, /metrics without connection details. Its own app: one test breaks a table.
/// </summary>
public sealed partial class WebDefenceTests(PlainWeb web) : IClassFixture<PlainWeb>
{
    private readonly DeployDeckApp _app = web.App;

    [GeneratedRegex("<input[^>]*name=\"__RequestVerificationToken\"[^>]*value=\"(?<value>[^\"]+)\"")]
    private static partial Regex AntiforgeryField();

    private async Task<HttpClient> CookieClientAsync()
    {
        var client = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = _app.BaseUrl };
        var form = await client.GetStringAsync("/login");
        var response = await client.PostAsync("/account/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["username"] = DeployDeckApp.AdminUser, ["password"] = _app.AdminPassword, ["__RequestVerificationToken"] = AntiforgeryField().Match(form).Groups["value"].Value,
        }));
        Assert.Equal("/", response.Headers.Location!.OriginalString);
        return client;
    }

    /// <summary>A state change that touches nothing outside this app's database (an emergency stop would stop every managed container on the shared engine).</summary>
    private static async Task<HttpResponseMessage> CreateWebhookAsync(HttpClient client, Action<HttpRequestMessage> headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/webhooks")
        {
            Content = JsonContent.Create(new { name = "cross-site", url = "http://127.0.0.1:9/hook", events = new[] { "rollout-finished" } }),
        };
        headers(request);
        return await client.SendAsync(request);
    }

    private Task<long> WebhooksAsync() => _app.QueryScalarAsync<long>("SELECT count(*) FROM webhooks");

    [Fact]
    public async Task A_cookie_request_that_changes_something_from_another_origin_is_refused_and_changes_nothing()
    {
        using var browser = await CookieClientAsync();
        var other = new UriBuilder(_app.BaseUrl) { Port = _app.BaseUrl.Port + 1 }.Uri.GetLeftPart(UriPartial.Authority);

        var attempts = new (string What, Action<HttpRequestMessage> Headers)[]
        {
            ("another port of the same host", r => r.Headers.Add("Origin", other)),
            ("a sibling subdomain", r => r.Headers.Add("Origin", "http://evil.127.0.0.1.nip.io:" + _app.BaseUrl.Port)),
            ("the browser saying same-site", r => r.Headers.Add("Sec-Fetch-Site", "same-site")),
            ("an opaque origin", r => r.Headers.Add("Origin", "null")),
            ("no Origin at all", _ => { }),
        };
        var before = await WebhooksAsync();
        foreach (var (what, headers) in attempts)
        {
            var refused = await CreateWebhookAsync(browser, headers);
            Assert.True(refused.StatusCode == HttpStatusCode.Forbidden, $"{what}: {(int)refused.StatusCode}");
            Assert.Contains("Cross-site request refused", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(before, await WebhooksAsync());
        // Reading with the cookie from anywhere is not the rule's business (CORS keeps the answer from the other page).
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/api/hosts")).StatusCode);
    }

    [Fact]
    public async Task The_same_request_from_deploydecks_own_pages_or_with_a_token_goes_through()
    {
        using var browser = await CookieClientAsync();
        var origin = _app.BaseUrl.GetLeftPart(UriPartial.Authority);
        var before = await WebhooksAsync();

        Assert.Equal(HttpStatusCode.Created, (await CreateWebhookAsync(browser, r => r.Headers.Add("Origin", origin))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await CreateWebhookAsync(browser, r => r.Headers.Add("Sec-Fetch-Site", "same-origin"))).StatusCode);
        using var script = _app.CreateClient(await web.AdminTokenAsync());
        Assert.Equal(HttpStatusCode.Created, (await CreateWebhookAsync(script, _ => { })).StatusCode);

        Assert.Equal(before + 3, await WebhooksAsync());
    }

    [Fact]
    public async Task A_database_error_answers_500_with_the_security_headers_and_logs_none_of_the_data()
    {
        const string secret = "zebra-sekrit-98765";
        // PostgreSQL quotes the failing row in DETAIL, HINT and WHERE; the trigger makes it do so on purpose.
        await using (var connection = new NpgsqlConnection(_app.ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("""
                CREATE FUNCTION dd_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION USING ERRCODE = '22P05', MESSAGE = 'unsupported Unicode escape sequence', DETAIL = NEW."Description", HINT = NEW."Description"; END $$;
                CREATE TRIGGER dd_refuse BEFORE INSERT ON plans FOR EACH ROW EXECUTE FUNCTION dd_refuse();
                """, connection);
            await command.ExecuteNonQueryAsync();
        }

        using var admin = _app.CreateClient(await web.AdminTokenAsync());
        var response = await admin.PostAsJsonAsync("/api/plans/import", new
        {
            name = "breaks", description = secret, files = new[] { new { name = "docker-compose.yml", content = "services:\n  a:\n    image: nginx\n" } },
        });
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Contains("default-src 'self'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, body, StringComparison.Ordinal);
        Assert.Contains("logged as", JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!_app.WebLog.Contains("22P05", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        Assert.Contains("22P05", _app.WebLog, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, _app.WebLog, StringComparison.Ordinal);
    }

    [Fact]
    public void A_logged_database_exception_keeps_its_code_and_place_and_drops_the_data_it_quotes()
    {
        var error = new PostgresException("unsupported Unicode escape sequence", "ERROR", "ERROR", "22P05",
            detail: "\\u0000 cannot be converted to text.", hint: "DB_PASSWORD hunter2", where: "JSON data, line 1: {\"DB_PASSWORD\":\"hunter2-in-where\",\"X\":\"a\\u0000",
            internalQuery: "SELECT 'hunter2-internal'", tableName: "service_specs", columnName: "Environment");
        var wrapped = new InvalidOperationException("An error occurred while saving the entity changes.", error);

        var text = ScrubbingSink.Render(wrapped);

        Assert.Contains("22P05", text, StringComparison.Ordinal);
        Assert.Contains("service_specs", text, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_show_a_viewer_no_database_connection_details()
    {
        var password = await _app.CreateUserAsync("metrics-viewer", "Viewer");
        using var viewer = _app.CreateClient(await _app.TokenAsync("metrics-viewer", password));
        await viewer.GetAsync("/api/plans"); // some database work first, so pool metrics would exist

        var metrics = await viewer.GetStringAsync("/metrics");

        Assert.Contains("deploydeck_", metrics, StringComparison.Ordinal);
        var pg = new NpgsqlConnectionStringBuilder(_app.ConnectionString);
        foreach (var detail in new[] { _app.Database, "Host=", "Username=", $"Port={pg.Port}", "db.client", "server.address" })
            Assert.DoesNotContain(detail, metrics, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://169.254.169.254/latest/meta-data/")]
    [InlineData("http://[fe80::1]/")]
    [InlineData("http://100.100.100.200/")]
    public async Task Webhooks_and_http_gates_never_connect_to_link_local_or_metadata_addresses(string url)
    {
        using var http = new HttpClient(GuardedHttp.Handler(allowLinkLocal: false)) { Timeout = TimeSpan.FromSeconds(5) };

        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync(url));

        Assert.Contains("link-local and cloud metadata addresses are refused", refused.Message, StringComparison.Ordinal);
        Assert.NotNull(OutboundAddresses.Problem(new Uri(url)));
    }

    [Fact]
    public async Task Loopback_and_private_receivers_stay_reachable()
    {
        using var http = new HttpClient(GuardedHttp.Handler(allowLinkLocal: false)) { Timeout = TimeSpan.FromSeconds(10) };

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(_app.BaseUrl, "/health/live"))).StatusCode);
        Assert.Null(OutboundAddresses.Problem(new Uri("http://10.0.0.5/hook")));
    }
}
