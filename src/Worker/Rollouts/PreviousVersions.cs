using DeployDeck.Domain.Engine;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Rollouts;
using DeployDeck.Infrastructure.Data;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Worker.Rollouts;

/// <summary>
/// The containers of earlier rollouts of a plan: the version a rollout replaces. Once replaced they are kept — stopped,
/// with the restart policy "no", so that a restart of the engine does not bring them back beside their successor — until
/// the rollout succeeds, for a rollback to start them again with the policy they had.
/// </summary>
public sealed class PreviousVersions(RolloutRecorder recorder, IDbContextFactory<DeployDeckDbContext> dbFactory)
{
    /// <summary>Containers of earlier rollouts of the plan: one engine call for the whole plan.</summary>
    public async Task<List<ContainerSummary>> ListAsync(RolloutContext context, CancellationToken ct)
    {
        var all = await context.Engine.ListAsync(context.PlanFilter(), ct);
        return all.Where(c => c.Labels.GetValueOrDefault(OwnershipLabels.Rollout) != context.RolloutId.ToString() && c.Labels.ContainsKey(OwnershipLabels.Service)).ToList();
    }

    /// <summary>The service's containers of the newest earlier rollout: the version that runs now, or ran last.</summary>
    public static List<ContainerSummary> Latest(IEnumerable<ContainerSummary> previous, string service)
    {
        var mine = previous.Where(c => c.Labels.GetValueOrDefault(OwnershipLabels.Service) == service).ToList();
        // Rollout ids are version 7 GUIDs: their text orders them in time.
        var newest = mine.Select(c => c.Labels.GetValueOrDefault(OwnershipLabels.Rollout) ?? "").Max(StringComparer.Ordinal);
        return mine.Where(c => (c.Labels.GetValueOrDefault(OwnershipLabels.Rollout) ?? "") == newest).ToList();
    }

    /// <summary>Stops a replaced container and keeps it for a rollback; a fixed container_name is freed for the successor.</summary>
    public async Task KeepAsync(RolloutContext context, string phase, ContainerSummary container, string why, StepKey key, CancellationToken ct)
    {
        var service = container.Labels.GetValueOrDefault(OwnershipLabels.Service) ?? container.Name;
        await context.Engine.SetRestartPolicyAsync(container.Id, RestartPolicy.No, ct);
        if (container.State is "running" or "restarting" or "paused")
            await context.Engine.StopAsync(container.Id, StopGrace(await SpecAsync(container, service, ct)), ct);
        if (KeptName(container) is { } kept && kept != container.Name)
            await context.Engine.RenameAsync(container.Id, kept, ct);
        await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.ServiceReplaced, $"Stopped previous container {container.Name} ({why}); kept until the rollout ends, for a rollback", ct,
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

    /// <summary>A kept container whose name the service fixes (container_name) gives it up: the successor needs it.</summary>
    private static string? KeptName(ContainerSummary container) =>
        container.Labels.TryGetValue(OwnershipLabels.Rollout, out var rollout) && container.Labels.TryGetValue(ComposeLabels.ContainerNumber, out _)
            && !container.Name.Contains(rollout.Replace("-", "", StringComparison.Ordinal)[^8..], StringComparison.Ordinal)
            ? $"{container.Name}-kept-{rollout.Replace("-", "", StringComparison.Ordinal)[^8..]}"
            : null;

    public static TimeSpan StopGrace(ServiceSpec? spec) => spec?.Options.StopGracePeriod ?? TimeSpan.FromSeconds(10);
}
