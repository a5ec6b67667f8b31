using DeployDeck.Domain.Units;

namespace DeployDeck.Domain.Plans;

public enum RiskLevel
{
    Low,
    Medium,
    High,
    Critical,
}

public enum PromotionMode
{
    Automatic,
    NeedsApproval,
}

public enum FailurePolicy
{
    RollbackPhase,
    RollbackAll,
    Pause,
}

/// <summary>An ordered stage of a rollout: its services start together and must pass its gates before the next.</summary>
public sealed record PhaseSpec
{
    public required string Name { get; init; }

    public RiskLevel Risk { get; init; } = RiskLevel.Low;

    public MemorySize? MemoryBudget { get; init; }

    public CpuShare? CpuBudget { get; init; }

    public TimeSpan Soak { get; init; }

    public PromotionMode Promotion { get; init; } = PromotionMode.Automatic;

    public FailurePolicy OnFailure { get; init; } = FailurePolicy.RollbackPhase;

    public IReadOnlyList<ServiceSpec> Services { get; init; } = [];
}

/// <summary>What one plan revision says: phases in order, and the memory budget of the whole stack.</summary>
public sealed record PlanSpec(IReadOnlyList<PhaseSpec> Phases, MemorySize? StackBudget = null)
{
    /// <summary>Networks, volumes, configs and secrets the Compose files declare beside their services.</summary>
    public ProjectResources Resources { get; init; } = ProjectResources.None;

    /// <summary>An Admin's allowance of the keys that hand a container the host, for this revision; null when none was given.</summary>
    public HostAccessAllowance? HostAccess { get; init; }

    public ServiceSpec? Service(string name) => AllServices.FirstOrDefault(s => s.Name == name);

    /// <summary>The phase a service runs in, or -1.</summary>
    public int PhaseOf(string service)
    {
        for (var i = 0; i < Phases.Count; i++)
        {
            if (Phases[i].Services.Any(s => s.Name == service))
                return i;
        }

        return -1;
    }

    /// <summary>Whether another service waits for this one to exit 0 (service_completed_successfully): a migration, a seed job.</summary>
    public bool IsOneShot(string service) =>
        AllServices.Any(s => s.DependsOn.Any(d => d.Service == service && d.Condition == DependencyCondition.ServiceCompletedSuccessfully));

    public IEnumerable<ServiceSpec> AllServices => Phases.SelectMany(p => p.Services);
}
