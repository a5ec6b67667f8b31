using Microsoft.Extensions.DependencyInjection.Extensions;
using DeployDeck.Domain.Engine;
using Docker.DotNet;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace DeployDeck.Infrastructure.Engine;

public static class EngineServiceCollectionExtensions
{
    /// <summary>One Docker client for the configured engine, and <see cref="IContainerEngine"/> over it.</summary>
    public static IServiceCollection AddContainerEngine(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DockerOptions>().Bind(configuration.GetSection(DockerOptions.Section))
            .Validate(o => DockerOptions.IsSupported(o.Endpoint), "Docker:Endpoint must be a unix://, tcp:// or http(s):// address")
            .Validate(o => o.RequestTimeout > TimeSpan.Zero, "Docker:RequestTimeout must be positive")
            .ValidateOnStart();
        services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<DockerOptions>>().Value;
            return new DockerClientBuilder().WithEndpoint(new Uri(o.Endpoint)).Build();
        });
        services.AddSingleton<IContainerEngine, DockerContainerEngine>();
        services.AddOptions<PreflightOptions>().Bind(configuration.GetSection(PreflightOptions.Section));
        services.AddSingleton<DockerRaw>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<Domain.Hosts.IHostInspector, DockerHostInspector>();
        services.AddSingleton<Preflight.PreflightRunner>();
        services.AddSingleton<Preflight.ProjectCheck>();
        return services;
    }
}

/// <summary>Ready only when the engine answers a ping.</summary>
public sealed class DockerEngineHealthCheck(DockerClient client) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            await client.System.PingAsync(cts.Token);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy("The Docker engine does not answer", ex);
        }
    }
}
