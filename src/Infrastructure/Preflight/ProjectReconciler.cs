using System.Globalization;
using DeployDeck.Domain.Engine;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Rollouts;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Engine;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Infrastructure.Preflight;

/// <summary>
/// Reads what a host's engine has of a Compose project — DeployDeck's containers and those <c>docker compose</c> started,
/// by Compose's own labels — and hands it to <see cref="Reconcile"/>: the dry run, the launcher and the record share it.
/// </summary>
public sealed class ProjectReconciler(EngineConnections engines, IDbContextFactory<DeployDeckDbContext> dbFactory)
{
    public async Task<ReconcilePlan> PlanAsync(DockerHost host, string project, PlanSpec plan, bool forceRecreate, CancellationToken ct)
    {
        var handle = engines.For(host);
        var images = await handle.Inspector.ImagesAsync(plan.AllServices.Select(s => s.Image), ct);
        var existing = await ExistingAsync(handle.Engine, project, ct);
        return Reconcile.Decide(plan, s => ProjectLayout.ConfigHash(s, plan), images.ToDictionary(i => i.Key, i => i.Value.Id, StringComparer.Ordinal), existing, forceRecreate,
            images.ToDictionary(i => i.Key, i => i.Value.Volumes, StringComparer.Ordinal));
    }

    /// <summary>The project's containers (not one-off <c>docker compose run</c> ones), each with the revision's view of its service where DeployDeck made it.</summary>
    public async Task<IReadOnlyList<ExistingContainer>> ExistingAsync(IContainerEngine engine, string project, CancellationToken ct)
    {
        var found = (await engine.ListAsync(new Dictionary<string, string> { [ComposeLabels.Project] = project }, ct))
            .Where(c => !string.Equals(c.Labels.GetValueOrDefault(ComposeLabels.OneOff), "true", StringComparison.OrdinalIgnoreCase))
            .Where(c => c.Labels.ContainsKey(ComposeLabels.Service))
            .ToList();
        var revisions = new Dictionary<Guid, PlanSpec?>();
        var result = new List<ExistingContainer>();
        foreach (var c in found)
        {
            var seen = await engine.InspectAsync(c.Id, ct);
            if (seen is null)
                continue;
            var service = c.Labels[ComposeLabels.Service];
            ServiceSpec? spec = null;
            if (Guid.TryParse(c.Labels.GetValueOrDefault(OwnershipLabels.Revision), out var revisionId))
            {
                if (!revisions.TryGetValue(revisionId, out var revision))
                {
                    await using var db = await dbFactory.CreateDbContextAsync(ct);
                    revision = (await db.PlanRevisions.AsNoTracking().FirstOrDefaultAsync(r => r.Id == revisionId, ct))?.ToSpec();
                    revisions[revisionId] = revision;
                }

                spec = revision?.AllServices.FirstOrDefault(s => s.Name == service);
            }

            var number = int.TryParse(c.Labels.GetValueOrDefault(ComposeLabels.ContainerNumber), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 1;
            result.Add(new ExistingContainer(c.Id, c.Name, service, number, seen.Running, seen.Health, c.Labels.GetValueOrDefault(ComposeLabels.ConfigHash), seen.ImageId,
                c.Labels.ContainsKey(OwnershipLabels.Managed), spec, RestartOf(seen)));
        }

        return result;
    }

    private static RestartPolicy RestartOf(ContainerObservation seen) =>
        RestartPolicy.TryParse(seen.RestartPolicy, out var policy, out _) ? policy with { MaxRetries = seen.RestartMaxRetries } : RestartPolicy.No;
}
