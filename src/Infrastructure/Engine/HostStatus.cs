using DeployDeck.Infrastructure.Data;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Infrastructure.Engine;

/// <summary>
/// Whether a host's engine answers, as the host cards show it: written by the Worker's sampler every tick that changes
/// it (and at most every half minute while it answers), and by a connection test or an engine call from Web.
/// </summary>
public static class HostStatus
{
    public static async Task SeenAsync(IDbContextFactory<DeployDeckDbContext> dbFactory, Guid hostId, DateTimeOffset now, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        await db.Hosts.Where(h => h.Id == hostId).ExecuteUpdateAsync(u => u
            .SetProperty(h => h.LastSeenAt, now).SetProperty(h => h.OfflineSince, (DateTimeOffset?)null).SetProperty(h => h.LastError, (string?)null), ct);
    }

    /// <summary>Offline since the first failure in a row; the reason is the latest one's (credentials masked).</summary>
    public static async Task UnreachableAsync(IDbContextFactory<DeployDeckDbContext> dbFactory, Guid hostId, DateTimeOffset now, string reason, CancellationToken ct)
    {
        var masked = Domain.Plans.SecretKeys.Scrub(reason);
        masked = masked.Length > 1000 ? masked[..1000] : masked;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        await db.Hosts.Where(h => h.Id == hostId).ExecuteUpdateAsync(u => u
            .SetProperty(h => h.OfflineSince, h => h.OfflineSince ?? now).SetProperty(h => h.LastError, masked), ct);
    }
}
