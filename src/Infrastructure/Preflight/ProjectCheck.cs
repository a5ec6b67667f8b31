using DeployDeck.Domain.Engine;
using DeployDeck.Domain.Plans;

namespace DeployDeck.Infrastructure.Preflight;

/// <summary>
/// Before anything starts: what a plan's Compose project needs from the host is there — external networks and volumes,
/// bind mount sources, an allowance for keys that reach the host — and nothing of another project stands in its way.
/// Then the project's own networks and volumes are made, as <c>docker compose up</c> makes them.
/// </summary>
public static class ProjectCheck
{
    /// <returns>Why the rollout must not start, or null.</returns>
    public static async Task<string?> RefusalAsync(IContainerEngine engine, ProjectLayout layout, PlanSpec plan, string? projectDirectory, CancellationToken ct)
    {
        var problems = new List<string>(layout.Problems);
        var unallowed = HostAccess.Find(plan, projectDirectory).Where(f => plan.HostAccess?.Covers([f]) != true).ToList();
        if (unallowed.Count > 0)
            problems.Add($"keys that reach the host are not allowed for this revision ({string.Join("; ", unallowed)}): an Admin must save the plan with a reason");

        foreach (var network in layout.Networks)
        {
            var found = await engine.NetworkAsync(network.Name, ct);
            if (network.Spec.External && found is null)
                problems.Add($"the external network {network.Name} does not exist on the host: create it first (docker network create {network.Name})");
            else if (!network.Spec.External && found is not null && Owner(found) != layout.Project)
                problems.Add($"the network {network.Name} exists but belongs to {Describe(found)}: rename one of them, or declare it external: true to share it");
        }

        foreach (var volume in layout.Volumes)
        {
            var found = await engine.VolumeAsync(volume.Name, ct);
            if (volume.Spec.External && found is null)
                problems.Add($"the external volume {volume.Name} does not exist on the host: create it first (docker volume create {volume.Name})");
            else if (!volume.Spec.External && found is not null && Owner(found) is { } owner && owner != layout.Project)
                problems.Add($"the volume {volume.Name} holds the data of project {owner}: declare it external: true to share it");
        }

        if (layout.BindSources.Count > 0)
        {
            // Compose would create an empty directory where a source is missing: a config directory that silently is not there.
            foreach (var missing in await engine.MissingHostPathsAsync(layout.BindSources, ct))
                problems.Add($"the bind mount source {missing} does not exist on the host");
        }

        problems.AddRange(await ClashesAsync(engine, layout.Project, plan, ct));
        return problems.Count == 0 ? null : string.Join("; ", problems);
    }

    /// <summary>
    /// Containers of another project, or of none, that hold a name or a host port the plan needs: never touched, so the
    /// rollout cannot start. The project's own containers (DeployDeck's or docker compose's) are replaced in order.
    /// </summary>
    private static async Task<IEnumerable<string>> ClashesAsync(IContainerEngine engine, string project, PlanSpec plan, CancellationToken ct)
    {
        var names = plan.AllServices.Where(s => s.Options.ContainerName is not null).ToDictionary(s => s.Options.ContainerName!, s => s.Name, StringComparer.Ordinal);
        var ports = plan.AllServices.SelectMany(s => s.Ports.Where(p => p.HostPort is not null).Select(p => (Port: p.HostPort!.Value, Service: s.Name)))
            .GroupBy(p => p.Port).ToDictionary(g => g.Key, g => g.First().Service);
        if (names.Count == 0 && ports.Count == 0)
            return [];
        var problems = new List<string>();
        foreach (var other in (await engine.ListAsync(new Dictionary<string, string>(), ct)).Where(c => c.Labels.GetValueOrDefault(ComposeLabels.Project) != project))
        {
            var owner = other.Labels.GetValueOrDefault(ComposeLabels.Project) is { } p ? $"project {p}" : "no Compose project";
            if (names.TryGetValue(other.Name, out var service))
                problems.Add($"service '{service}' needs the container name {other.Name}, which container {other.Id[..12]} of {owner} holds: DeployDeck does not touch it");
            if (other.State == "running")
            {
                foreach (var port in other.HostPorts.Where(ports.ContainsKey))
                    problems.Add($"service '{ports[port]}' publishes host port {port}, which container {other.Name} of {owner} holds: DeployDeck does not touch it");
            }
        }

        return problems;
    }

    /// <summary>Creates the project's networks and volumes that are missing; what it created, for the record.</summary>
    /// <param name="extraLabels">DeployDeck's labels for everything it creates (a team, a cost centre; tests mark theirs).</param>
    public static async Task<IReadOnlyList<string>> CreateMissingAsync(IContainerEngine engine, ProjectLayout layout, IReadOnlyDictionary<string, string> extraLabels, CancellationToken ct)
    {
        var created = new List<string>();
        foreach (var network in layout.Networks.Where(n => !n.Spec.External))
        {
            if (await engine.NetworkAsync(network.Name, ct) is null)
            {
                await engine.CreateNetworkAsync(network with { Labels = With(network.Labels, extraLabels) }, ct);
                created.Add($"network {network.Name}");
            }
        }

        foreach (var volume in layout.Volumes.Where(v => !v.Spec.External))
        {
            if (await engine.VolumeAsync(volume.Name, ct) is null)
            {
                await engine.CreateVolumeAsync(volume with { Labels = With(volume.Labels, extraLabels) }, ct);
                created.Add($"volume {volume.Name}");
            }
        }

        return created;
    }

    private static Dictionary<string, string> With(IReadOnlyDictionary<string, string> labels, IReadOnlyDictionary<string, string> extra)
    {
        var result = new Dictionary<string, string>(extra, StringComparer.Ordinal);
        foreach (var (k, v) in labels)
            result[k] = v;
        return result;
    }

    private static string? Owner(ResourceObservation found) => found.Labels.GetValueOrDefault(ComposeLabels.Project);

    private static string Describe(ResourceObservation found) => Owner(found) is { } owner ? $"project {owner}" : "no Compose project (made by hand)";
}
