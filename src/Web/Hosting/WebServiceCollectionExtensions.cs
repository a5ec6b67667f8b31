using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Engine;
using DeployDeck.Infrastructure.Jobs;
using DeployDeck.Infrastructure.Live;
using DeployDeck.Infrastructure.Secrets;
using DeployDeck.Web.Api;
using DeployDeck.Web.Auth;
using DeployDeck.Web.Components;
using Microsoft.EntityFrameworkCore;
using DeployDeck.Web.Live;
using DeployDeck.Web.Monitoring;
using DeployDeck.Web.Rollouts;
using Hangfire;
using Hangfire.Dashboard;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using MudBlazor.Services;
using DeployDeck.Infrastructure.Logging;
using Serilog;

namespace DeployDeck.Web.Hosting;

public static class WebServiceCollectionExtensions
{
    public static void AddWebLogging(this WebApplicationBuilder builder) =>
        builder.Services.AddSerilog((services, lc) => lc
            .ReadFrom.Configuration(builder.Configuration)
            .ReadFrom.Services(services)
            .Enrich.FromLogContext()
            .Enrich.WithProperty("App", "web")
            .WriteTo.ScrubbedConsole());

    public static IServiceCollection AddWebServices(this IServiceCollection services, IConfiguration configuration)
    {
        var connectionString = DataServiceCollectionExtensions.RequireConnectionString(configuration);
        services.AddSingleton(TimeProvider.System);
        services.AddDeployDeckData(configuration);
        services.AddDeployDeckDataProtection(configuration);
        services.AddHostEngines(configuration);
        services.AddDeployDeckAuth(configuration);

        // Web is a Hangfire client only: it enqueues, the Worker runs.
        services.AddHangfire(c => c.UseDeployDeckStorage(connectionString));

        // A host's batched sample is one message per tick: ~0.4 KB per container, so more than SignalR's 32 KB default.
        services.AddSignalR().AddHubOptions<LiveHub>(o => o.MaximumReceiveMessageSize = 1024 * 1024);
        services.AddSingleton<RolloutBroadcaster>();
        services.AddLiveMonitoring(configuration);
        services.AddScoped<RolloutLauncher>();
        services.AddScoped<RolloutApprovals>();
        services.AddScoped<RolloutAborts>();
        services.AddScoped<RolloutResumes>();
        services.AddOptions<ApprovalOptions>().Bind(configuration.GetSection(ApprovalOptions.Section));
        services.AddScoped<Plans.PlanStore>();
        services.AddScoped<Hosts.HostOperations>();
        services.AddScoped<Hosts.HostAdministration>();
        services.AddScoped<Registries.RegistryAdministration>();
        services.AddScoped<Fleet.FleetLauncher>();
        services.AddScoped<TokenIssuer>();
        services.AddScoped<UserAdministration>();
        services.AddScoped<WebhookAdministration>();

        services.AddRazorComponents().AddInteractiveServerComponents();
        services.AddCascadingAuthenticationState();
        services.AddMudServices();

        services.AddOpenApi();
        services.AddInputValidation();
        services.AddWebSecurity(configuration);
        services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(o => o.Limits.MaxRequestBodySize = InputValidation.MaxBodyBytes);
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter()));
        services.AddHealthChecks()
            .AddCheck("live", () => HealthCheckResult.Healthy(), tags: ["live"])
            // Engines are per host, and one host's outage must not take Web out of service: their state is on the host cards.
            .AddCheck<PostgresHealthCheck>("postgresql", tags: ["ready"]);
        return services;
    }

    public static WebApplication MapWebEndpoints(this WebApplication app)
    {
        app.UseForwardedHeadersWhenBehindAProxy();
        app.Use(WebSecurity.SecurityHeaders); // before the exception handler: its answers carry them too
        app.UseExceptionHandler();
        app.Use(InputValidation.CheckUrl);
        app.UseStatusCodePages();
        app.UseSerilogRequestLogging();
        app.UseAuthentication();
        app.Use(WebSecurity.SameOriginForCookies);
        app.UseAuthorization();
        app.UseAntiforgery();

        // Probes carry no data: up or not, so load balancers and `docker-compose` can ask without a login.
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = c => c.Tags.Contains("live") }).AllowAnonymous();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") }).AllowAnonymous();

        app.MapOpenApi("/openapi/{documentName}.json");
        var api = app.MapGroup("/api");
        api.AddEndpointFilterFactory(InputValidation.Filter);
        api.MapHostsApi().MapPlansApi().MapDryRunApi().MapRolloutsApi().MapTokensApi().MapUsersApi().MapMonitoringApi();
        api.MapRolloutHistoryApi().MapAuditApi().MapWebhooksApi().MapFleetRolloutsApi().MapRegistriesApi();
        app.MapAccountEndpoints();
        app.MapHub<LiveHub>(LiveHubContract.Path).RequireAuthorization(Policies.LiveHub);
        app.MapLiveMonitoring();
        app.MapHangfireDashboard("/hangfire", new DashboardOptions
        {
            Authorization = [new AuthenticatedDashboardFilter()],
            DisplayStorageConnectionString = false,
            DashboardTitle = "DeployDeck jobs",
        }).RequireAuthorization(Policies.Admin);

        app.MapStaticAssets().AllowAnonymous(); // the login page needs its CSS and scripts
        // Render batches go uncompressed: deflating every live update costs the small host CPU to save a few KB/s.
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode(o => o.DisableWebSocketCompression = true);
        return app;
    }

    /// <summary>The endpoint policy does the real check (Admin); this replaces Hangfire's local-requests-only default.</summary>
    private sealed class AuthenticatedDashboardFilter : IDashboardAuthorizationFilter
    {
        public bool Authorize(DashboardContext context) =>
            context.GetHttpContext().User.IsInRole(Roles.Admin);
    }

    private sealed class PostgresHealthCheck(IDbContextFactory<DeployDeckDbContext> dbFactory) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
            return await db.Database.CanConnectAsync(cancellationToken) ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("PostgreSQL does not answer");
        }
    }
}
