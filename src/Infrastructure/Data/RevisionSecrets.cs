using System.Collections.Concurrent;
using DeployDeck.Domain.Plans;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Infrastructure.Data;

/// <summary>
/// The raw secret values of a plan revision (<see cref="SecretKeys.ValuesOf(PlanSpec)"/>): what a rollout's events, errors
/// and gate output are scrubbed of before they are stored, logged, shown or sent. Revisions never change, so the values
/// are kept in memory by revision; only this process's memory holds them, as it holds the plan while running it.
/// </summary>
public static class RevisionSecrets
{
    private const int Kept = 256;
    private static readonly ConcurrentDictionary<Guid, IReadOnlyCollection<string>> ByRevision = new();

    public static async Task<IReadOnlyCollection<string>> OfRevisionAsync(DeployDeckDbContext db, Guid revisionId, CancellationToken ct)
    {
        if (ByRevision.TryGetValue(revisionId, out var known))
            return known;
        var revision = await db.PlanRevisions.AsNoTracking().FirstOrDefaultAsync(r => r.Id == revisionId, ct);
        var values = revision is null ? [] : SecretKeys.ValuesOf(revision.ToSpec());
        if (ByRevision.Count >= Kept)
            ByRevision.Clear();
        ByRevision[revisionId] = values;
        return values;
    }

    public static async Task<IReadOnlyCollection<string>> OfRolloutAsync(DeployDeckDbContext db, Guid rolloutId, CancellationToken ct)
    {
        var revisionId = await db.Rollouts.AsNoTracking().Where(r => r.Id == rolloutId).Select(r => (Guid?)r.PlanRevisionId).FirstOrDefaultAsync(ct);
        return revisionId is { } id ? await OfRevisionAsync(db, id, ct) : [];
    }

    /// <summary>Free text with credentials (by pattern) and the revision's secret values masked.</summary>
    public static string Scrub(string? text, IReadOnlyCollection<string> values) => SecretKeys.Scrub(text, values);
}
