using DeployDeck.Infrastructure.Jobs;
using Microsoft.Extensions.Options;

namespace DeployDeck.Worker.Webhooks;

public static class WebhookServiceCollectionExtensions
{
    public static IServiceCollection AddWebhooks(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<WebhookOptions>().Bind(configuration.GetSection(WebhookOptions.Section)).ValidateDataAnnotations()
            .Validate(o => string.IsNullOrEmpty(o.PublicUrl) || Uri.TryCreate(o.PublicUrl, UriKind.Absolute, out _), "Webhooks:PublicUrl must be an absolute URL")
            .ValidateOnStart();
        services.AddHttpClient<IWebhookJobs, WebhookJobs>((sp, http) =>
        {
            http.Timeout = TimeSpan.FromSeconds(sp.GetRequiredService<IOptions<WebhookOptions>>().Value.TimeoutSeconds);
            http.DefaultRequestHeaders.UserAgent.ParseAdd("DeployDeck-Webhooks/1.0");
        }).ConfigurePrimaryHttpMessageHandler(() => Infrastructure.Net.GuardedHttp.Handler(configuration.GetValue<bool>(Domain.Input.OutboundAddresses.AllowSetting)));
        services.AddHostedService<WebhookDispatcher>();
        return services;
    }
}
