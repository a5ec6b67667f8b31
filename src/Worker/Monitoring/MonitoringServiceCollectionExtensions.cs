using DeployDeck.Infrastructure.Monitoring;
using Microsoft.Extensions.Options;

namespace DeployDeck.Worker.Monitoring;

public static class MonitoringServiceCollectionExtensions
{
    /// <summary>The stats sampler and the per-phase usage record, unless Monitoring:Enabled is false.</summary>
    public static IServiceCollection AddMonitoring(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<MonitoringOptions>().Bind(configuration.GetSection(MonitoringOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<MonitoringOptions>, MonitoringOptionsValidation>();
        if (!configuration.GetSection(MonitoringOptions.Section).GetValue("Enabled", true))
            return services;

        services.AddSingleton<UsageStore>();
        services.AddHostedService(sp => sp.GetRequiredService<UsageStore>());
        services.AddHostedService<StatsSampler>();
        return services;
    }

    /// <summary>Says which setting is wrong, not only that one is.</summary>
    private sealed class MonitoringOptionsValidation : IValidateOptions<MonitoringOptions>
    {
        public ValidateOptionsResult Validate(string? name, MonitoringOptions options) =>
            options.Problems().ToList() is { Count: > 0 } problems ? ValidateOptionsResult.Fail(problems) : ValidateOptionsResult.Success;
    }
}
