using DeployDeck.Infrastructure.Data;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Web.Api;

public sealed record HostDto(Guid Id, string Name, string Endpoint, string? Description, DateTimeOffset CreatedAt);

public static class HostsApi
{
    public static RouteGroupBuilder MapHostsApi(this RouteGroupBuilder api)
    {
        var hosts = api.MapGroup("/hosts").WithTags("Hosts");
        hosts.MapGet("/", async (IDbContextFactory<DeployDeckDbContext> dbFactory, CancellationToken ct) =>
        {
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            return TypedResults.Ok(await db.Hosts.AsNoTracking().OrderBy(h => h.Name)
                .Select(h => new HostDto(h.Id, h.Name, h.Endpoint, h.Description, h.CreatedAt)).ToListAsync(ct));
        });
        return api;
    }
}
