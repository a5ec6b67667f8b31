using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Engine;
using DeployDeck.Infrastructure.Jobs;
using DeployDeck.Infrastructure.Secrets;
using DeployDeck.Worker.Live;
using DeployDeck.Worker.Monitoring;
using DeployDeck.Worker.Rollouts;
using DeployDeck.Worker.Webhooks;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using DeployDeck.Infrastructure.Logging;
using Serilog;

namespace DeployDeck.Worker.Hosting;

public sealed class WorkerOptions
{
    public const string Section = "Worker";

    /// <summary>Hangfire workers. Hangfire's default (5 × cores) is sized for big servers, not a 2-core droplet.</summary>
    public int HangfireWorkers { get; set; } = 4;

    /// <summary>A file touched every 10 s for container health checks; none when empty.</summary>
    public string? HeartbeatFile { get; set; }
}

public static class WorkerServiceCollectionExtensions
{
    public static void AddWorkerLogging(this HostApplicationBuilder builder) =>
        builder.Services.AddSerilog((services, lc) => lc
            .ReadFrom.Configuration(builder.Configuration)
            .ReadFrom.Services(services)
            .Enrich.FromLogContext()
            .Enrich.WithProperty("App", "worker")
            .WriteTo.ScrubbedConsole());

    public static IServiceCollection AddWorkerServices(this IServiceCollection services, IConfiguration configuration)
    {
        var connectionString = DataServiceCollectionExtensions.RequireConnectionString(configuration);
        services.AddSingleton(TimeProvider.System);
        services.AddDeployDeckData(configuration);
        services.AddDeployDeckDataProtection(configuration);
        services.AddHostEngines(configuration);

        services.AddOptions<LiveOptions>().Bind(configuration.GetSection(LiveOptions.Section))
            .Validate(o => o.WorkerKey.Length >= 32, "Live:WorkerKey must be set to a shared secret of at least 32 characters (the same as Web's)")
            .ValidateOnStart();
        services.AddSingleton<SignalRLivePublisher>();
        services.AddSingleton<ILivePublisher>(sp => sp.GetRequiredService<SignalRLivePublisher>());
        services.AddHostedService(sp => sp.GetRequiredService<SignalRLivePublisher>());

        services.AddOptions<RolloutOptions>().Bind(configuration.GetSection(RolloutOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<WorkerOptions>().Bind(configuration.GetSection(WorkerOptions.Section)).ValidateOnStart();
        services.AddHostedService<Heartbeat>();
        services.AddMonitoring(configuration);
        services.AddSingleton<RolloutRecorder>();
        services.AddSingleton<GateRunner>();
        services.AddSingleton<SampledHosts>();
        services.AddSingleton<ContainerWatch>();
        services.AddHostedService(sp => sp.GetRequiredService<ContainerWatch>());
        services.AddSingleton<RolloutStates>();
        services.AddSingleton<PreviousVersions>();
        services.AddSingleton<ServiceDeployer>();
        services.AddSingleton<SoakRunner>();
        services.AddSingleton<PhaseRunner>();
        services.AddSingleton<ImagePullRunner>();
        services.AddSingleton<RollbackRunner>();
        services.AddScoped<IRolloutJobs, RolloutDriver>();
        services.AddHostedService<RolloutSupervisor>();
        services.AddScoped<IFleetJobs, Fleet.FleetJobs>();
        services.AddSingleton<Fleet.FleetRollback>();
        services.AddWebhooks(configuration);

        services.AddHangfire(c => c.UseDeployDeckStorage(connectionString));
        services.AddHangfireServer((sp, o) =>
        {
            o.WorkerCount = sp.GetRequiredService<IOptions<WorkerOptions>>().Value.HangfireWorkers;
            o.Queues = [JobQueues.Rollouts, JobQueues.Default];
            o.ShutdownTimeout = TimeSpan.FromSeconds(15);
        });
        return services;
    }

    /// <summary>PostgreSQL (with Web's migrations applied) and the Docker engine must answer before the Worker takes jobs.</summary>
    public static async Task VerifyDependenciesAsync(this IServiceProvider services, CancellationToken cancellationToken)
    {
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Startup");
        var dbFactory = services.GetRequiredService<IDbContextFactory<DeployDeckDbContext>>();
        var deadline = DateTimeOffset.UtcNow.AddSeconds(90);
        while (true)
        {
            try
            {
                await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
                var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
                // Web makes the key ring's first key once the schema is there: a Worker that made its own would not read Web's secrets until its ring refreshed.
                var keyed = pending.Count == 0 && KeyRingProtection.HasKey(services);
                if (keyed)
                    break;
                if (DateTimeOffset.UtcNow > deadline)
                {
                    throw new StartupException(pending.Count > 0
                        ? $"the database has {pending.Count} migration(s) not applied; start Web first (it applies them)"
                        : "the Data Protection key ring in the database has no key; start Web first (it makes one)");
                }

                logger.LogInformation("Waiting for Web to apply {Count} migration(s) and make the key ring's key", pending.Count);
            }
            catch (NpgsqlException ex)
            {
                if (DateTimeOffset.UtcNow > deadline)
                    throw new StartupException($"PostgreSQL is not reachable ({ex.Message}); check ConnectionStrings__DeployDeck or start it with ./deploydeck up");
                logger.LogWarning("PostgreSQL not reachable yet: {Reason}", ex.Message);
            }

            await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
        }

        // No engine is needed to start: each host's is reached when its work needs it, and an unreachable one is shown offline.
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            var hosts = await db.Hosts.AsNoTracking().InService().Select(h => h.Name).ToListAsync(cancellationToken);
            logger.LogInformation("{Count} host(s): {Hosts}", hosts.Count, string.Join(", ", hosts));
        }
    }
}
