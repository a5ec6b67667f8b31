using DeployDeck.Domain.Hosts;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace DeployDeck.Infrastructure.Engine;

public static class EngineServiceCollectionExtensions
{
    /// <summary>
    /// Each host's own engine client (<see cref="EngineConnections"/>, built from the host's row), and the host check over
    /// it. There is no process-wide engine: <c>Docker:Endpoint</c> is only the engine the demo host "local" is seeded with.
    /// </summary>
    public static IServiceCollection AddHostEngines(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DockerOptions>().Bind(configuration.GetSection(DockerOptions.Section))
            .Validate(o => HostEndpoint.Parse(o.Endpoint).Endpoint is not null, "Docker:Endpoint must be a unix://, tcp:// or ssh:// address")
            .Validate(o => o.RequestTimeout > TimeSpan.Zero, "Docker:RequestTimeout must be positive")
            .ValidateOnStart();
        services.AddOptions<EngineOptions>().Bind(configuration.GetSection(EngineOptions.Section))
            .Validate(o => o.ConnectTimeout > TimeSpan.Zero && o.ConnectTimeout <= TimeSpan.FromMinutes(2), "Engines:ConnectTimeout must be from 0 to 2 minutes")
            .Validate(o => o.MaxConnectionsPerHost is >= 2 and <= 64, "Engines:MaxConnectionsPerHost must be from 2 to 64")
            .ValidateOnStart();
        services.AddOptions<PreflightOptions>().Bind(configuration.GetSection(PreflightOptions.Section));
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<EngineConnections>();
        services.AddSingleton<Preflight.PreflightRunner>();
        services.AddSingleton<Preflight.ProjectReconciler>();
        services.AddSingleton<Images.RegistryCredentials>();
        services.AddSingleton<Images.RegistryManifests>(_ => new Images.RegistryManifests());
        return services;
    }
}
