using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeployDeck.Tests.Shared;

namespace DeployDeck.Integration.Tests.Api;

/// <summary>Its own app: the failures it causes must not throttle the other tests' sign-ins.</summary>
public sealed class LoginThrottleTests : IAsyncLifetime
{
    private DeployDeckApp _app = null!;

    public async Task InitializeAsync() =>
        _app = await DeployDeckApp.StartAsync(startWorker: false, new Dictionary<string, string>
        {
            ["Auth__FailedLoginsPerWindow"] = "7",
            ["Auth__FailedLoginsPerUser"] = "3",
        });

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private static Task<HttpResponseMessage> SignInAsync(HttpClient client, string username, string password, string? forwardedFor = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/tokens") { Content = JsonContent.Create(new { username, password, name = "t" }) };
        if (forwardedFor is not null)
            request.Headers.Add("X-Forwarded-For", forwardedFor);
        return client.SendAsync(request);
    }

    [Fact]
    public async Task Failed_sign_ins_are_throttled_per_user_name_and_per_client_with_retry_after_and_a_header_cannot_escape_it()
    {
        using var client = _app.CreateClient();

        // Per user name: three failures, known user or not, and the name waits — the same answer for both.
        var password = await _app.CreateUserAsync("guessed-at", "Viewer");
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await SignInAsync(client, "guessed-at", "wrong-password-123")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await SignInAsync(client, "never-existed", "wrong-password-123")).StatusCode);
        }

        var known = await SignInAsync(client, "guessed-at", password);
        var unknown = await SignInAsync(client, "never-existed", password);
        foreach (var throttled in new[] { known, unknown })
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, throttled.StatusCode);
            Assert.True(throttled.Headers.RetryAfter?.Delta is { TotalSeconds: > 0 and <= 300 }, $"Retry-After {throttled.Headers.RetryAfter}");
        }

        static string Said(JsonElement problem) => System.Text.RegularExpressions.Regex.Replace(problem.GetProperty("detail").GetString()!, "[0-9]+ s", "N s");
        Assert.Equal(Said(await known.Content.ReadFromJsonAsync<JsonElement>()), Said(await unknown.Content.ReadFromJsonAsync<JsonElement>()));

        // Per client: a seventh failure from this address (six above, 429s do not count) and even the right password of
        // another user waits. X-Forwarded-For is only believed from a configured proxy: a new value per request changes nothing.
        Assert.Equal(HttpStatusCode.Unauthorized, (await SignInAsync(client, "a-fresh-name", "wrong-password-123", forwardedFor: "203.0.113.76")).StatusCode);
        var admin = await SignInAsync(client, DeployDeckApp.AdminUser, _app.AdminPassword, forwardedFor: "203.0.113.77");
        Assert.Equal(HttpStatusCode.TooManyRequests, admin.StatusCode);
        Assert.Contains("Too many failed sign-ins", (await admin.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
