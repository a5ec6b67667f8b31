using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Engine;
using DeployDeck.Infrastructure.Secrets;
using DeployDeck.Web.Auth;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace DeployDeck.Web.Data;

/// <summary>The one place migrations are applied: Web at start-up, before it serves anything.</summary>
public static class DatabaseStartup
{
    public static async Task PrepareDatabaseAsync(this WebApplication app, CancellationToken cancellationToken)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var services = scope.ServiceProvider;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("DeployDeck.Web.Startup");
        var dbFactory = services.GetRequiredService<IDbContextFactory<DeployDeckDbContext>>();

        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            // PostgreSQL may still be starting (compose, systemd): wait a while before giving up with one clear line.
            var giveUpAt = DateTimeOffset.UtcNow + app.Configuration.GetValue("DeployDeck:DatabaseStartupTimeout", TimeSpan.FromSeconds(30));
            while (true)
            {
                try
                {
                    var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
                    if (pending.Count > 0)
                    {
                        logger.LogInformation("Applying {Count} migration(s): {Migrations}", pending.Count, pending);
                        await db.Database.MigrateAsync(cancellationToken);
                    }

                    break;
                }
                catch (NpgsqlException ex) when (DateTimeOffset.UtcNow < giveUpAt)
                {
                    logger.LogWarning("PostgreSQL not reachable yet ({Reason}); retrying", ex.Message);
                    await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
                }
                catch (NpgsqlException ex)
                {
                    throw new StartupException($"PostgreSQL is not reachable ({ex.Message}); check ConnectionStrings__DeployDeck, or run ./deploydeck up to start a private cluster");
                }
            }
        }

        KeyRingProtection.EnsureKey(services);
        await services.GetRequiredService<AdminBootstrap>().EnsureAsync(cancellationToken);

        if (app.Configuration.GetValue<bool>("DeployDeck:SeedDemo"))
        {
            await SeedDemoAsync(dbFactory, services.GetRequiredService<IOptions<DockerOptions>>().Value.Endpoint,
                app.Configuration["DeployDeck:DemoProject"] ?? DemoPlan.Name, logger, cancellationToken);
            await ShopDemo.SeedAsync(dbFactory, app.Configuration.GetValue("DeployDeck:DemoGatewayPort", ShopDemo.DefaultGatewayPort), logger, cancellationToken);
        }
    }

    /// <summary>A demo host (the local engine) and a demo plan on the probe image, once.</summary>
    /// <param name="project">The demo's Compose project name; DeployDecks that share an engine (tests) each give theirs.</param>
    private static async Task SeedDemoAsync(IDbContextFactory<DeployDeckDbContext> dbFactory, string endpoint, string project, ILogger logger, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var now = DateTimeOffset.UtcNow;
        if (!await db.Hosts.AnyAsync(h => h.Name == DemoPlan.HostName, ct))
        {
            db.Hosts.Add(new DockerHost { Name = DemoPlan.HostName, Endpoint = endpoint, Description = "The Docker engine on this machine", CreatedAt = now });
            logger.LogInformation("Seeded demo host {Host} at {Endpoint}", DemoPlan.HostName, endpoint);
        }

        if (!await db.Plans.AnyAsync(p => p.Name == DemoPlan.Name, ct))
        {
            var plan = new Plan { Name = DemoPlan.Name, ProjectName = project, Description = "Three probe services in three phases: a cache (core), an API with a health check (business), a web front (frontend)", CreatedAt = now };
            plan.Revisions.Add(DemoPlan.Spec().ToRevision(plan.Id, 1, "seed", now));
            db.Plans.Add(plan);
            logger.LogInformation("Seeded demo plan {Plan}", DemoPlan.Name);
        }

        await db.SaveChangesAsync(ct);
    }
}

/// <summary>The plan the demo and the browser tests roll out: realistic services made of the probe image.</summary>
public static class DemoPlan
{
    public const string Name = "demo";
    public const string HostName = "local";
    public const string ProbeImage = "deploydeck/probe:latest";

    public static PlanSpec Spec()
    {
        var health = new HealthCheck(["CMD", "/bin/wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"],
            TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), 5, TimeSpan.FromSeconds(10));
        return new PlanSpec(
        [
            new PhaseSpec
            {
                Name = "core",
                Risk = RiskLevel.Low,
                MemoryBudget = MemorySize.FromMebibytes(128),
                CpuBudget = CpuShare.FromCores(0.5),
                Services = [Service("cache", MemorySize.FromMebibytes(64), MemorySize.FromMebibytes(32), 0.25, null, [])],
            },
            new PhaseSpec
            {
                Name = "business",
                Risk = RiskLevel.Medium,
                MemoryBudget = MemorySize.FromMebibytes(256),
                CpuBudget = CpuShare.FromCores(0.5),
                Services =
                [
                    Service("api", MemorySize.FromMebibytes(128), MemorySize.FromMebibytes(64), 0.5, health, [new ServiceDependency("cache")],
                        ("PROBE_START_DELAY", "3")),
                ],
            },
            new PhaseSpec
            {
                Name = "frontend",
                Risk = RiskLevel.Low,
                MemoryBudget = MemorySize.FromMebibytes(128),
                CpuBudget = CpuShare.FromCores(0.5),
                Services =
                [
                    Service("web", MemorySize.FromMebibytes(96), MemorySize.FromMebibytes(32), 0.25, health,
                        [new ServiceDependency("api", DependencyCondition.ServiceHealthy)]),
                ],
            },
        ], MemorySize.FromGibibytes(1));
    }

    private static ServiceSpec Service(string name, MemorySize limit, MemorySize reservation, double cpus, HealthCheck? health,
        IReadOnlyList<ServiceDependency> dependsOn, params (string Key, string Value)[] env) => new()
    {
        Name = name,
        Image = ProbeImage,
        Environment = env.ToDictionary(e => e.Key, e => e.Value),
        Resources = new ResourceLimits(limit, reservation, limit, CpuShare.FromCores(cpus)),
        Restart = new RestartPolicy(RestartMode.UnlessStopped),
        HealthCheck = health,
        DependsOn = dependsOn,
        Labels = new Dictionary<string, string> { ["com.example.demo"] = "true" },
    };
}
