using DeployDeck.Tests.Shared;

namespace DeployDeck.Integration.Tests.Api;

/// <summary>One running DeployDeck (Web + Worker + its own database) shared by the tests of a collection.</summary>
public sealed class AppFixture : IAsyncLifetime
{
    private DeployDeckApp? _app;

    public DeployDeckApp App => _app ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync() => _app = await DeployDeckApp.StartAsync();

    public async Task DisposeAsync()
    {
        if (_app is not null)
            await _app.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class AppCollection : ICollectionFixture<AppFixture>
{
    public const string Name = "app";
}
