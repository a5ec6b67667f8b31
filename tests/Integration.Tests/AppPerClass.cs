using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;
using DeployDeck.Tests.Shared;

namespace DeployDeck.Integration.Tests;

/// <summary>A DeployDeck of its own (database, Web, Worker) for a test class whose tests change shared state.</summary>
public abstract class AppPerClass(IReadOnlyDictionary<string, string>? webSettings = null, IReadOnlyDictionary<string, string>? workerSettings = null) : IAsyncLifetime
{
    protected DeployDeckApp App { get; private set; } = null!;

    public async Task InitializeAsync() => App = await DeployDeckApp.StartAsync(webSettings: webSettings, workerSettings: workerSettings);

    public async Task DisposeAsync() => await App.DisposeAsync();

    /// <summary>A probe service with a memory and CPU limit, nothing else.</summary>
    protected static ServiceSpec Probe(string name, string memory = "32m") => new()
    {
        Name = name,
        Image = "deploydeck/probe:latest",
        Resources = new ResourceLimits(MemorySize.Parse(memory), null, null, CpuShare.Parse("0.25")),
    };
}
