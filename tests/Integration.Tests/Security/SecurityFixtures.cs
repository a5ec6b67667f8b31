using DeployDeck.Tests.Shared;

namespace DeployDeck.Integration.Tests.Security;

/// <summary>One Web (no Worker) shared by the tests of a class, with its own database and settings.</summary>
public abstract class WebOnly(IReadOnlyDictionary<string, string>? settings = null) : IAsyncLifetime
{
    private string? _adminToken;

    public DeployDeckApp App { get; private set; } = null!;

    public async Task InitializeAsync() => App = await DeployDeckApp.StartAsync(startWorker: false, settings);

    /// <summary>One token for the class's Admin calls: a user has at most 20.</summary>
    public async Task<string> AdminTokenAsync() => _adminToken ??= await App.AdminTokenAsync();

    public async Task DisposeAsync()
    {
        if (App is not null)
            await App.DisposeAsync();
    }
}

/// <summary>Generous sign-in limits: these tests fail sign-ins on purpose and time them; the throttle has tests of its own.</summary>
public sealed class UnthrottledWeb() : WebOnly(new Dictionary<string, string>
{
    ["Auth__FailedLoginsPerWindow"] = "10000",
    ["Auth__FailedLoginsPerUser"] = "10000",
});

public sealed class PlainWeb() : WebOnly;
