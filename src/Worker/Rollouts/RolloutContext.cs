using DeployDeck.Domain.Engine;
using DeployDeck.Domain.Plans;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Engine;
using DeployDeck.Domain.Hosts;

namespace DeployDeck.Worker.Rollouts;

/// <summary>What one drive of a rollout works from. Read once: a rollout's revision and its project never change.</summary>
public sealed class RolloutContext
{
    public required Guid RolloutId { get; init; }

    public required Guid PlanId { get; init; }

    public required Guid RevisionId { get; init; }

    public required Guid HostId { get; init; }

    /// <summary>The rollout's host's own engine client: every call of this drive goes to it.</summary>
    public required HostEngine Host { get; init; }

    public IContainerEngine Engine => Host.Engine;

    /// <summary>A fleet that may roll every host back keeps the previous containers until the fleet ends.</summary>
    public bool KeepPrevious { get; init; }

    public required string StartedBy { get; init; }

    public required PlanSpec Plan { get; init; }

    /// <summary>The Compose project: its networks, volumes and the containers as the engine is to create them.</summary>
    public required ProjectLayout Layout { get; init; }

    public string? ProjectDirectory { get; init; }

    /// <summary>The launcher's host check, which the first phase may go on while it is fresh.</summary>
    public PreflightResult? LaunchCheck { get; init; }

    /// <summary>This drive pulled images: the launch check no longer tells the disk, so the first phase checks again.</summary>
    public bool PulledImages { get; set; }

    /// <summary>What the launcher decided for each service (keep, create, recreate, scale) and the orphans; null: recreate all.</summary>
    public Domain.Rollouts.ReconcilePlan? Reconcile => LaunchCheck?.Reconcile;

    /// <summary>A service's containers that stay as they are (kept or scaled), and are no previous version to stop.</summary>
    public IReadOnlyList<string> Kept(string service) => Reconcile?.For(service) is { Action: Domain.Rollouts.ReconcileAction.Keep or Domain.Rollouts.ReconcileAction.Scale } d
        ? d.Keep.Where(id => !Outdated.Contains(id)).ToList()
        : [];

    /// <summary>
    /// Containers the launcher meant to keep whose image a <c>pull_policy: always</c> pull has since replaced: they are
    /// previous versions like any other, and new containers take their place.
    /// </summary>
    public HashSet<string> Outdated { get; } = new(StringComparer.Ordinal);

    /// <summary>Labels every container of this rollout carries, as the engine's own record of who owns it.</summary>
    public Dictionary<string, string> Filter(string? phase = null)
    {
        var labels = new Dictionary<string, string> { [OwnershipLabels.Rollout] = RolloutId.ToString() };
        if (phase is not null)
            labels[OwnershipLabels.Phase] = phase;
        return labels;
    }

    public Dictionary<string, string> PlanFilter() => new() { [OwnershipLabels.Plan] = PlanId.ToString() };

    /// <summary>Compose's own label of the project: DeployDeck's containers and those <c>docker compose</c> started carry it.</summary>
    public Dictionary<string, string> ProjectFilter() => new() { [ComposeLabels.Project] = Layout.Project };

    public static RolloutContext From(Rollout rollout, Plan plan, PlanSpec spec, HostEngine host) => new()
    {
        RolloutId = rollout.Id,
        Host = host,
        KeepPrevious = rollout.KeepPrevious,
        PlanId = rollout.PlanId,
        RevisionId = rollout.PlanRevisionId,
        HostId = rollout.HostId,
        StartedBy = rollout.StartedBy,
        Plan = spec,
        Layout = new ProjectLayout(plan.ProjectName, spec, plan.ProjectDirectory),
        ProjectDirectory = plan.ProjectDirectory,
        LaunchCheck = rollout.Preflight,
    };
}

/// <summary>One run of a phase. Event keys carry the attempt, so a phase run again after a resume records its steps again.</summary>
public sealed record PhaseRun(int Index, int Attempt, DateTimeOffset Began, Domain.Plans.PhaseSpec Phase)
{
    /// <summary>
    /// The order each service was brought up with: decided by the deployer, which alone knows the volumes a new container
    /// takes over (stop-first), and read when the phase passed to retire what start-first left running.
    /// </summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, Domain.Plans.UpdateOrder> Orders { get; } = new(StringComparer.Ordinal);

    public Domain.Rollouts.StepKey Key(string step) => Domain.Rollouts.StepKey.Phase(Index, Attempt, step);

    public Domain.Rollouts.StepKey ServiceKey(string service, string step, int replica = 1) => Domain.Rollouts.StepKey.Service(service, Attempt, step, replica);
}
