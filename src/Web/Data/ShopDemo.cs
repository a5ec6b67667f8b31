using System.Security.Cryptography;
using DeployDeck.Compose;
using DeployDeck.Infrastructure.Data;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Web.Data;

/// <summary>
/// The demo a new user rolls out: a real small stack (PostgreSQL, Redis, an API, a web front, an nginx gateway on a fixed
/// port) read from the Compose file in Data/Demo with the same import a user's files go through. Its database password is
/// made for this install and kept with the plan, masked like every secret.
/// </summary>
public static class ShopDemo
{
    public const string Name = "shop";

    /// <summary>The host port of the demo's gateway (DeployDeck:DemoGatewayPort).</summary>
    public const int DefaultGatewayPort = 8088;

    public static async Task SeedAsync(IDbContextFactory<DeployDeckDbContext> dbFactory, int gatewayPort, ILogger logger, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (await db.Plans.AnyAsync(p => p.Name == Name || p.ProjectName == Name, ct))
            return;
        var env = $"DB_PASSWORD={Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))}\nGATEWAY_PORT={gatewayPort}\n";
        var result = PlanImport.FromCompose(new ComposeImportRequest([new ComposeSource("docker-compose.yml", Read("docker-compose.yml"))], env, [], Name,
            [new ComposeSource("./gateway.conf", Read("gateway.conf"))]));
        if (result.Plan is null)
            throw new InvalidOperationException("the shop demo does not import: " + string.Join("; ", result.Errors));

        var now = DateTimeOffset.UtcNow;
        var plan = new Plan
        {
            Name = Name,
            ProjectName = result.ProjectName,
            Description = "A small shop: PostgreSQL and Redis (core), an API reaching both by name (business), a web front and an nginx gateway on a fixed port (frontend)",
            CreatedAt = now,
        };
        var revision = result.Plan.ToRevision(plan.Id, 1, "seed", now);
        revision.Comment = "the demo stack, imported from Data/Demo/docker-compose.yml";
        revision.ImportNotes = result.Warnings.Select(w => w.ToString()).ToList();
        plan.Revisions.Add(revision);
        db.Plans.Add(plan);
        await db.SaveChangesAsync(ct);
        logger.LogInformation("Seeded demo plan {Plan}: {Services} services, gateway on 127.0.0.1:{Port}", Name, result.Plan.AllServices.Count(), gatewayPort);
    }

    private static string Read(string file)
    {
        using var stream = typeof(ShopDemo).Assembly.GetManifestResourceStream($"DeployDeck.Web.Data.Demo.{file}")
            ?? throw new InvalidOperationException($"the demo's {file} is not embedded in Web");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
