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
        _app = await DeployDeckApp.StartAsync(startWorker: false, new Dictionary<string, string> { ["Auth__FailedLoginsPerWindow"] = "4" });

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task Failed_sign_ins_from_one_address_are_refused_with_429_once_over_the_limit()
    {
        using var client = _app.CreateClient();
        for (var i = 0; i < 4; i++)
        {
            var failed = await client.PostAsJsonAsync("/api/tokens", new { username = $"nobody{i}", password = "wrong-password-123" });
            Assert.Equal(HttpStatusCode.Unauthorized, failed.StatusCode);
        }

        // Even the right password is refused while the address is throttled.
        var throttled = await client.PostAsJsonAsync("/api/tokens", new { username = DeployDeckApp.AdminUser, password = _app.AdminPassword });
        Assert.Equal(HttpStatusCode.TooManyRequests, throttled.StatusCode);
        Assert.Contains("Too many failed sign-ins", (await throttled.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
