using DeployDeck.Domain.Engine;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Rollouts;
using DeployDeck.Infrastructure.Data;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Worker.Rollouts;

/// <summary>
/// The containers of earlier rollouts of a plan, and those <c>docker compose</c> started for the same project (adopted):
/// the version a rollout replaces. Once replaced they are kept — stopped, with the restart policy "no", so that a restart
/// of the engine does not bring them back beside their successor — until the rollout succeeds, for a rollback to start
/// them again with the policy they had. Containers the reconcile plan keeps are this rollout's own, not a previous version.
/// </summary>
public sealed class PreviousVersions(RolloutRecorder recorder, IDbContextFactory<DeployDeckDbContext> dbFactory)
{
    /// <summary>Containers of earlier rollouts of the plan and Compose's of its project: one engine call each.</summary>
    public async Task<List<ContainerSummary>> ListAsync(RolloutContext context, CancellationToken ct)
    {
        var kept = context.Plan.AllServices.SelectMany(s => context.Kept(s.Name)).ToHashSet(StringComparer.Ordinal);
        var all = await context.Engine.ListAsync(context.PlanFilter(), ct);
        var compose = (await context.Engine.ListAsync(context.ProjectFilter(), ct)).Where(IsCompose);
        return all.Where(c => c.Labels.GetValueOrDefault(OwnershipLabels.Rollout) != context.RolloutId.ToString() && c.Labels.ContainsKey(OwnershipLabels.Service))
            .Concat(compose)
            .Where(c => !kept.Contains(c.Id))
            .ToList();
    }

    /// <summary>A container <c>docker compose up</c> started for the project (not a one-off <c>run</c>): DeployDeck adopts it.</summary>
    public static bool IsCompose(ContainerSummary c) =>
        !c.Labels.ContainsKey(OwnershipLabels.Managed) && c.Labels.ContainsKey(ComposeLabels.Service)
        && !string.Equals(c.Labels.GetValueOrDefault(ComposeLabels.OneOff), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The service a container is of, by DeployDeck's label or Compose's.</summary>
    public static string? ServiceOf(ContainerSummary c) => c.Labels.GetValueOrDefault(OwnershipLabels.Service) ?? c.Labels.GetValueOrDefault(ComposeLabels.Service);

    /// <summary>The service's containers of the newest earlier rollout: the version that runs now, or ran last.</summary>
    public static List<ContainerSummary> Latest(IEnumerable<ContainerSummary> previous, string service)
    {
        var mine = previous.Where(c => ServiceOf(c) == service).ToList();
        // Rollout ids are version 7 GUIDs: their text orders them in time.
        var newest = mine.Select(c => c.Labels.GetValueOrDefault(OwnershipLabels.Rollout) ?? "").Max(StringComparer.Ordinal);
        return mine.Where(c => (c.Labels.GetValueOrDefault(OwnershipLabels.Rollout) ?? "") == newest).ToList();
    }

    /// <summary>Stops a replaced container and keeps it for a rollback; a fixed container_name is freed for the successor.</summary>
    public async Task KeepAsync(RolloutContext context, string phase, ContainerSummary container, string why, StepKey key, CancellationToken ct)
    {
        var service = ServiceOf(container) ?? container.Name;
        await context.Engine.SetRestartPolicyAsync(container.Id, RestartPolicy.No, ct);
        if (container.State is "running" or "restarting" or "paused")
            await context.Engine.StopAsync(container.Id, StopGrace(await SpecAsync(container, service, ct) ?? context.Plan.AllServices.FirstOrDefault(s => s.Name == service)), ct);
        // A fixed container_name (the revision's) is given up: the successor needs it.
        if (context.Plan.AllServices.FirstOrDefault(s => s.Name == service)?.Options.ContainerName == container.Name)
            await context.Engine.RenameAsync(container.Id, $"{container.Name}-kept-{KeptMark(container)}", ct);
        var whose = IsCompose(container) ? "docker compose's container" : "previous container";
        await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.ServiceReplaced, $"Stopped {whose} {container.Name} ({why}); kept until the rollout ends, for a rollback", ct,
            phase, service, key);
    }

    /// <summary>Brings a kept container back as it was: its name, its restart policy, running.</summary>
    public async Task ReviveAsync(RolloutContext context, ContainerSummary container, ServiceSpec spec, CancellationToken ct)
    {
        if (spec.Options.ContainerName is { } name && container.Name != name)
            await context.Engine.RenameAsync(container.Id, name, ct);
        await context.Engine.SetRestartPolicyAsync(container.Id, spec.Restart, ct);
        if (container.State is not ("running" or "restarting"))
            await context.Engine.StartAsync(container.Id, ct);
    }

    /// <summary>The service as the revision that created a previous container defined it (its gates, its health check).</summary>
    public async Task<ServiceSpec?> SpecAsync(ContainerSummary container, string service, CancellationToken ct)
    {
        if (!Guid.TryParse(container.Labels.GetValueOrDefault(OwnershipLabels.Revision), out var revisionId))
            return null;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var revision = await db.PlanRevisions.AsNoTracking().FirstOrDefaultAsync(r => r.Id == revisionId, ct);
        return revision?.ToSpec().AllServices.FirstOrDefault(s => s.Name == service);
    }

    private static string KeptMark(ContainerSummary container) =>
        container.Labels.TryGetValue(OwnershipLabels.Rollout, out var rollout) ? rollout.Replace("-", "", StringComparison.Ordinal)[^8..] : "compose";

    public static TimeSpan StopGrace(ServiceSpec? spec) => spec?.Options.StopGracePeriod ?? TimeSpan.FromSeconds(10);
}
