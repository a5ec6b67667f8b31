using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Live;
using DeployDeck.Web.Live;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Prometheus;

namespace DeployDeck.Web.Monitoring;

/// <summary>Per-phase usage as stored: peak and average memory, max CPU.</summary>
public sealed record PhaseUsageDto(int PhaseIndex, string Phase, string Subject, string? Service, long PeakMemoryBytes, long AverageMemoryBytes, double? MaxCpuPercent, int Samples, DateTimeOffset FirstSampleAt, DateTimeOffset LastSampleAt);

public static class MonitoringEndpoints
{
    public const string MetricsPolicy = "Metrics";

    /// <summary>Live samples in the Web process, the per-phase usage record and /metrics.</summary>
    /// <summary>
    /// .NET meters /metrics does not publish: Npgsql labels its pool with the connection string (host, port, user,
    /// database), and the HTTP client, DNS and Kestrel meters label addresses and ports; any Viewer can read /metrics.
    /// </summary>
    private static readonly HashSet<string> HiddenMeters = new(StringComparer.Ordinal)
    {
        "Npgsql", "System.Net.Http", "System.Net.NameResolution", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Http.Connections", "Microsoft.AspNetCore.SignalR",
    };

    public static IServiceCollection AddLiveMonitoring(this IServiceCollection services, IConfiguration configuration)
    {
        Metrics.ConfigureMeterAdapter(o => o.InstrumentFilterPredicate = instrument => !HiddenMeters.Contains(instrument.Meter.Name));
        services.AddOptions<LiveStatsOptions>().Bind(configuration.GetSection(LiveStatsOptions.Section))
            .Validate(o => o.Window >= TimeSpan.FromMinutes(1) && o.Window <= TimeSpan.FromHours(6), "LiveStats:Window must be from 1 minute to 6 hours")
            .Validate(o => o.MaxRendersPerSecond is > 0 and <= 30, "LiveStats:MaxRendersPerSecond must be above 0 and at most 30")
            .Validate(o => o.MaxChartPoints is >= 10 and <= 2000, "LiveStats:MaxChartPoints must be from 10 to 2000")
            .ValidateOnStart();
        services.AddOptions<MetricsOptions>().Bind(configuration.GetSection(MetricsOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<MetricsOptions>, MetricsOptionsValidation>();
        services.AddSingleton<HostStatsBroadcaster>();
        services.AddSingleton<DeployDeckMetrics>();
        services.AddAuthorizationBuilder().AddPolicy(MetricsPolicy, p => p.RequireAssertion(ctx =>
            (ctx.User.Identity?.IsAuthenticated == true && !ctx.User.IsInRole(LiveHubContract.WorkerRole))
            || (ctx.Resource is HttpContext http && http.RequestServices.GetRequiredService<IOptions<MetricsOptions>>().Value.Allows(http.Connection.RemoteIpAddress))));
        return services;
    }

    public static WebApplication MapLiveMonitoring(this WebApplication app)
    {
        _ = app.Services.GetRequiredService<DeployDeckMetrics>(); // subscribes to the samples before the first scrape
        // Signed-in users and API tokens, or scrapers from Metrics:AllowedNetworks; the fallback policy would refuse the latter.
        app.MapMetrics("/metrics").RequireAuthorization(MetricsPolicy);
        return app;
    }

    public static RouteGroupBuilder MapMonitoringApi(this RouteGroupBuilder api)
    {
        api.MapGet("/hosts/{id:guid}/stats", Results<Ok<HostStatsMessage>, ProblemHttpResult> (Guid id, HostStatsBroadcaster stats) =>
                stats.Latest(id) is { } latest
                    ? TypedResults.Ok(latest)
                    : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No sample yet",
                        detail: $"No sample of host {id} has arrived from the Worker yet (is it running, and is the host registered with the Worker's engine endpoint?)"))
            .WithSummary("The latest sample of the host and its managed containers");
        api.MapGet("/rollouts/{id:guid}/usage", async (Guid id, IDbContextFactory<DeployDeckDbContext> dbFactory, CancellationToken ct) =>
            {
                await using var db = await dbFactory.CreateDbContextAsync(ct);
                var rows = await db.PhaseUsage.AsNoTracking().Where(u => u.RolloutId == id).OrderBy(u => u.PhaseIndex).ThenBy(u => u.Subject).ThenBy(u => u.Service).ToListAsync(ct);
                return TypedResults.Ok(rows.Select(u => new PhaseUsageDto(u.PhaseIndex, u.Phase, u.Subject.ToString(), u.Service.Length == 0 ? null : u.Service,
                    u.PeakMemoryBytes, u.AverageMemoryBytes, u.MaxCpuPercent, u.Samples, u.FirstSampleAt, u.LastSampleAt)).ToList());
            })
            .WithSummary("Peak and average memory and max CPU per phase: host, whole rollout and each service");
        return api;
    }

    private sealed class MetricsOptionsValidation : IValidateOptions<MetricsOptions>
    {
        public ValidateOptionsResult Validate(string? name, MetricsOptions options) =>
            options.Problems().ToList() is { Count: > 0 } problems ? ValidateOptionsResult.Fail(problems) : ValidateOptionsResult.Success;
    }
}
