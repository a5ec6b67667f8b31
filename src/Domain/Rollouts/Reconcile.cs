using DeployDeck.Domain.Engine;
using DeployDeck.Domain.Plans;

namespace DeployDeck.Domain.Rollouts;

public enum ReconcileAction
{
    /// <summary>The running container is what the revision asks for: it stays, untouched; the phase still runs its gates.</summary>
    Keep,

    /// <summary>Nothing of the service runs: its containers are created.</summary>
    Create,

    /// <summary>Its containers are replaced, in the service's update order, and the old ones kept for a rollback.</summary>
    Recreate,

    /// <summary>Unchanged, but the number of replicas is not the revision's: containers are added or retired.</summary>
    Scale,

    /// <summary>An orphan: a container of the project whose service is not in the revision.</summary>
    Remove,
}

/// <summary>A container of the project as the engine has it, whoever created it.</summary>
/// <param name="Managed">Created by DeployDeck (it carries DeployDeck's labels); otherwise by <c>docker compose</c>.</param>
/// <param name="Spec">The service as the revision that created it defined it (DeployDeck's containers), for the reason of a recreate.</param>
/// <param name="Restart">The restart policy the engine has for it now.</param>
public sealed record ExistingContainer(
    string Id, string Name, string Service, int Number, bool Running, HealthStatus Health, string? ConfigHash, string ImageId, bool Managed, ServiceSpec? Spec = null,
    RestartPolicy? Restart = null);

/// <summary>What a rollout does with one service, and why.</summary>
/// <param name="Keep">Containers that stay as the service's containers (keep, scale).</param>
/// <param name="Replace">Containers that are replaced or retired: stopped and kept for a rollback until the rollout succeeds.</param>
public sealed record ServiceReconcile(string Phase, string Service, ReconcileAction Action, string Reason, IReadOnlyList<string> Keep, IReadOnlyList<string> Replace)
{
    /// <summary>For a recreate: whether the new container starts beside the old one or after it stopped, and why; null for any other action.</summary>
    public UpdateOrders.Choice? Order { get; init; }
}

public sealed record ReconcileOrphan(string Service, string ContainerId, string ContainerName, string Reason);

/// <summary>
/// A container <c>docker compose</c> started that the rollout replaces, with the restart policy it had: replacing it sets
/// "no", and no revision of DeployDeck's says what Compose gave it, so a rollback gives back what is recorded here.
/// </summary>
public sealed record AdoptedContainer(string Service, string ContainerId, RestartPolicy Restart);

/// <summary>The reconcile plan of a rollout: per service keep, create, recreate or scale; orphans removed. Shown before it acts.</summary>
public sealed record ReconcilePlan(IReadOnlyList<ServiceReconcile> Services, IReadOnlyList<ReconcileOrphan> Orphans, bool ForceRecreate = false)
{
    public ServiceReconcile? For(string service) => Services.FirstOrDefault(s => s.Service == service);

    /// <summary>Compose's containers the rollout replaces; empty in a plan recorded before they were.</summary>
    public IReadOnlyList<AdoptedContainer> Adopted { get; init; } = [];

    /// <summary>The restart policy Compose's container had before the rollout replaced it; null for any other container.</summary>
    public RestartPolicy? AdoptedRestart(string containerId) => Adopted.FirstOrDefault(a => a.ContainerId == containerId)?.Restart;

    /// <summary>Containers of earlier rollouts that are this rollout's own: not a previous version to stop.</summary>
    public IEnumerable<string> KeptIds => Services.SelectMany(s => s.Keep);

    public string Summary
    {
        get
        {
            var counts = Services.GroupBy(s => s.Action).OrderBy(g => g.Key).Select(g => $"{g.Count()} {Word(g.Key)}");
            var text = string.Join(", ", counts);
            return Orphans.Count == 0 ? text : $"{text}, {Orphans.Count} orphan container(s) to remove";
        }
    }

    public static string Word(ReconcileAction action) => action switch
    {
        ReconcileAction.Keep => "kept",
        ReconcileAction.Create => "created",
        ReconcileAction.Recreate => "recreated",
        ReconcileAction.Scale => "scaled",
        _ => "removed",
    };
}

/// <summary>
/// Decides, as <c>docker compose up</c> does, what each service needs from what the engine already has: a service whose
/// container runs with the same config hash and image id (and is healthy where it has a check) is kept; one whose
/// definition, image or files changed is recreated with the reason; a service removed from the plan is an orphan.
/// Containers <c>docker compose</c> started are the previous version of their service: they are replaced (adopted).
/// </summary>
public static class Reconcile
{
    /// <param name="hash">The config hash the revision gives a service (<see cref="ProjectLayout.ConfigHash"/>).</param>
    /// <param name="imageIds">The id each image reference of the plan has on the host now; null where it is absent.</param>
    /// <param name="imageVolumes">The directories each image declares as volumes, where known: a recreate that carries them over is stop-first.</param>
    public static ReconcilePlan Decide(PlanSpec plan, Func<ServiceSpec, string> hash, IReadOnlyDictionary<string, string?> imageIds,
        IReadOnlyList<ExistingContainer> existing, bool forceRecreate = false, IReadOnlyDictionary<string, IReadOnlyList<string>>? imageVolumes = null)
    {
        var byService = existing.ToLookup(c => c.Service, StringComparer.Ordinal);
        var decisions = new Dictionary<string, ServiceReconcile>(StringComparer.Ordinal);
        foreach (var phase in plan.Phases)
        {
            foreach (var service in phase.Services)
                decisions[service.Name] = Decide(plan, phase.Name, service, hash(service), imageIds.GetValueOrDefault(service.Image), byService[service.Name].ToList(), forceRecreate);
        }

        // depends_on: {x: {restart: true}}: a service is restarted when x is recreated — here, recreated with it.
        bool changed;
        do
        {
            changed = false;
            foreach (var service in plan.AllServices)
            {
                var mine = decisions[service.Name];
                if (mine.Action is not (ReconcileAction.Keep or ReconcileAction.Scale))
                    continue;
                bool Recreated(string other) => decisions.TryGetValue(other, out var theirs) && theirs.Action is ReconcileAction.Recreate or ReconcileAction.Create;
                var why = service.DependsOn.FirstOrDefault(d => d.Restart && Recreated(d.Service)) is { } cause
                    ? $"{cause.Service} is recreated and it depends on it with restart: true"
                    // A namespace, volumes or a link it borrows from a container that is replaced would point at a removed one.
                    : ProjectLayout.BorrowsFrom(service).FirstOrDefault(Recreated) is { } lender ? $"it borrows from {lender} (network_mode, pid, ipc, volumes_from or links), which is recreated" : null;
                if (why is null)
                    continue;
                var all = byService[service.Name].Select(c => c.Id).ToList();
                decisions[service.Name] = mine with { Action = ReconcileAction.Recreate, Reason = why, Keep = [], Replace = all };
                changed = true;
            }
        }
        while (changed);

        var names = plan.AllServices.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        var orphans = existing.Where(c => !names.Contains(c.Service))
            .Select(c => new ReconcileOrphan(c.Service, c.Id, c.Name, $"service {c.Service} is not in the plan any more; its volumes stay"))
            .ToList();
        var adopted = existing.Where(c => !c.Managed && names.Contains(c.Service))
            .Select(c => new AdoptedContainer(c.Service, c.Id, c.Restart ?? RestartPolicy.No))
            .ToList();
        return new ReconcilePlan(plan.Phases.SelectMany(p => p.Services).Select(s => WithOrder(decisions[s.Name], s, imageVolumes)).ToList(), orphans, forceRecreate) { Adopted = adopted };
    }

    // The order the Worker will choose: it carries the same volumes over from the container it replaces.
    private static ServiceReconcile WithOrder(ServiceReconcile decision, ServiceSpec service, IReadOnlyDictionary<string, IReadOnlyList<string>>? imageVolumes)
    {
        if (decision.Action != ReconcileAction.Recreate)
            return decision;
        return decision with { Order = UpdateOrders.Choose(service, imageVolumes?.GetValueOrDefault(service.Image)) };
    }

    private static ServiceReconcile Decide(PlanSpec plan, string phase, ServiceSpec service, string hash, string? imageId, List<ExistingContainer> mine, bool force)
    {
        var all = mine.Select(c => c.Id).ToList();
        ServiceReconcile Recreate(string why) => new(phase, service.Name, ReconcileAction.Recreate, why, [], all);

        if (mine.Count == 0)
            return new(phase, service.Name, ReconcileAction.Create, "no container of the service on the host", [], []);
        if (force)
            return Recreate("recreate forced at the start");
        if (mine.FirstOrDefault(c => !c.Managed) is { } compose)
            return Recreate($"container {compose.Name} was started by docker compose: DeployDeck replaces it and keeps it for a rollback until the rollout succeeds");
        if (plan.IsOneShot(service.Name))
            return Recreate("it runs to completion: it runs again, as docker compose up runs it");

        var running = mine.Where(c => c.Running).OrderBy(c => c.Number).ToList();
        if (running.Count == 0)
            return Recreate($"its container {mine[0].Name} is not running");
        if (running.FirstOrDefault(c => c.ConfigHash != hash) is { } differs)
            return Recreate(Changes(differs.Spec, service) ?? "its definition changed (config hash)");
        if (imageId is not null && running.FirstOrDefault(c => c.ImageId != imageId) is { } older)
            return Recreate($"image {service.Image} changed: {Short(imageId)} on the host, the container runs {Short(older.ImageId)}");
        if (running.FirstOrDefault(c => c.Health == HealthStatus.Unhealthy) is { } sick)
            return Recreate($"its container {sick.Name} is unhealthy");

        // One container per number; what is beyond the revision's replicas, or stopped, is retired.
        var kept = running.GroupBy(c => c.Number).Select(g => g.First()).Where(c => c.Number >= 1 && c.Number <= service.Replicas).ToList();
        var retired = mine.Where(c => !kept.Contains(c)).Select(c => c.Id).ToList();
        if (kept.Count == service.Replicas && retired.Count == 0)
            return new(phase, service.Name, ReconcileAction.Keep, $"unchanged: same config hash and image, {(running.Count == 1 ? running[0].Name + " runs" : $"{running.Count} containers run")}{(running.All(c => c.Health == HealthStatus.Healthy) ? " healthy" : "")}",
                kept.Select(c => c.Id).ToList(), []);
        return new(phase, service.Name, ReconcileAction.Scale, $"unchanged; replicas {running.Count} → {service.Replicas}", kept.Select(c => c.Id).ToList(), retired);
    }

    /// <summary>Which parts of the service's definition changed, by name — never a value, which may be a secret (images are not).</summary>
    public static string? Changes(ServiceSpec? before, ServiceSpec after)
    {
        if (before is null)
            return null;
        if (before.Image != after.Image)
            return $"image changed: {before.Image} → {after.Image}";
        var old = SpecWalk.Leaves(Definition(before)).ToDictionary(l => l.Path, l => SpecWalk.Describe(l.Value), StringComparer.Ordinal);
        var now = SpecWalk.Leaves(Definition(after)).ToDictionary(l => l.Path, l => SpecWalk.Describe(l.Value), StringComparer.Ordinal);
        var paths = old.Keys.Union(now.Keys, StringComparer.Ordinal)
            .Where(p => old.GetValueOrDefault(p) != now.GetValueOrDefault(p))
            .Select(Describe).Distinct(StringComparer.Ordinal).ToList();
        if (paths.Count == 0)
            return "the content of a config or secret it mounts changed";
        return string.Join("; ", paths.Take(4)) + (paths.Count > 4 ? $"; {paths.Count - 4} more change(s)" : "");
    }

    /// <summary>The part of a service that makes its container: what the config hash covers.</summary>
    /// <remarks>As Compose's hash, it leaves out what changes no container: replicas, depends_on, build; and DeployDeck's gates and update settings.</remarks>
    public static ServiceSpec Definition(ServiceSpec service) =>
        service with { Gates = [], Replicas = 1, Update = UpdateSpec.Default, SecretFields = [], DependsOn = [], Build = null };

    private static string Describe(string path)
    {
        var parts = path.Split('.');
        return parts switch
        {
            ["environment", var key, ..] => $"environment key {key} changed",
            ["resources", var field, ..] => $"limits changed ({field})",
            ["files", ..] => "a config or secret it mounts changed",
            ["labels", var key, ..] => $"label {key} changed",
            _ => $"{string.Join('.', parts.TakeWhile(p => !int.TryParse(p, out _)).Take(2))} changed",
        };
    }

    private static string Short(string id) => id.Length > 19 ? id[..19] : id;
}
