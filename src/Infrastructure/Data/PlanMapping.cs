using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;

namespace DeployDeck.Infrastructure.Data;

/// <summary>Between the stored rows of a revision and the domain's <see cref="PlanSpec"/>.</summary>
public static class PlanMapping
{
    public static PlanSpec ToSpec(this PlanRevision revision) => new(
        revision.Phases.OrderBy(p => p.Order).Select(ToSpec).ToList(),
        revision.StackBudgetBytes is { } b ? new MemorySize(b) : null)
    {
        Resources = new ProjectResources
        {
            Networks = revision.Declarations.Networks,
            Volumes = revision.Declarations.Volumes,
            Files = revision.Files.OrderBy(f => f.Kind).ThenBy(f => f.Key, StringComparer.Ordinal).Select(f => new ProjectFile(f.Kind, f.Key, f.Content, f.Origin)).ToList(),
        },
        HostAccess = revision.HostAccess,
    };

    public static PlanRevision ToRevision(this PlanSpec spec, Guid planId, int number, string createdBy, DateTimeOffset at) => new()
    {
        PlanId = planId,
        Number = number,
        CreatedBy = createdBy,
        CreatedAt = at,
        StackBudgetBytes = spec.StackBudget?.Bytes,
        Phases = spec.Phases.Select((p, i) => ToRow(p, i)).ToList(),
        Declarations = new ProjectDeclarations(spec.Resources.Networks.ToList(), spec.Resources.Volumes.ToList()),
        Files = spec.Resources.Files.Select(f => new RevisionFile { Kind = f.Kind, Key = f.Key, Origin = f.Origin, Content = f.Content }).ToList(),
        HostAccess = spec.HostAccess,
    };

    /// <summary>Whether two plans say exactly the same, every stored field of every service included; the allowance aside.</summary>
    /// <remarks>By value, not by the rows they would make: every row gets an id of its own.</remarks>
    public static bool SameContent(PlanSpec a, PlanSpec b) => SpecWalk.SameValue(a with { HostAccess = null }, b with { HostAccess = null });

    private static PhaseSpec ToSpec(PlanPhase p) => new()
    {
        Name = p.Name,
        Risk = p.Risk,
        MemoryBudget = p.MemoryBudgetBytes is { } m ? new MemorySize(m) : null,
        CpuBudget = p.CpuBudgetNanos is { } c ? new CpuShare(c) : null,
        Soak = TimeSpan.FromSeconds(p.SoakSeconds),
        Promotion = p.Promotion,
        OnFailure = p.OnFailure,
        Services = p.Services.OrderBy(s => s.Order).Select(ToSpec).ToList(),
    };

    private static ServiceSpec ToSpec(PlanService s) => new()
    {
        Name = s.Name,
        Image = s.Image,
        Command = s.Command,
        Entrypoint = s.Entrypoint,
        Environment = s.Environment,
        Ports = s.Ports,
        Labels = s.Labels,
        Resources = new ResourceLimits(
            s.MemoryLimitBytes is { } l ? new MemorySize(l) : null,
            s.MemoryReservationBytes is { } r ? new MemorySize(r) : null,
            s.MemorySwapBytes is { } w ? new MemorySize(w) : null,
            s.NanoCpus is { } n ? new CpuShare(n) : null),
        Restart = new RestartPolicy(s.RestartMode, s.RestartMaxRetries),
        HealthCheck = s.HealthCheck is { } h
            ? new HealthCheck(h.Test, TimeSpan.FromSeconds(h.IntervalSeconds), TimeSpan.FromSeconds(h.TimeoutSeconds), h.Retries, TimeSpan.FromSeconds(h.StartPeriodSeconds))
            : null,
        DependsOn = s.DependsOn,
        Build = s.Build,
        Volumes = s.Volumes,
        Networks = s.Networks,
        NetworkMode = s.NetworkMode,
        Ulimits = s.Ulimits,
        Files = s.Files,
        Replicas = s.Replicas,
        Update = s.Update,
        Options = s.Options,
        Gates = s.Gates,
        SecretFields = s.SecretFields,
    };

    private static PlanPhase ToRow(PhaseSpec p, int order) => new()
    {
        Order = order,
        Name = p.Name,
        Risk = p.Risk,
        MemoryBudgetBytes = p.MemoryBudget?.Bytes,
        CpuBudgetNanos = p.CpuBudget?.NanoCpus,
        SoakSeconds = (int)p.Soak.TotalSeconds,
        Promotion = p.Promotion,
        OnFailure = p.OnFailure,
        Services = p.Services.Select((s, i) => ToRow(s, i)).ToList(),
    };

    private static PlanService ToRow(ServiceSpec s, int order) => new()
    {
        Order = order,
        Name = s.Name,
        Image = s.Image,
        Command = s.Command?.ToList(),
        Entrypoint = s.Entrypoint?.ToList(),
        Environment = new Dictionary<string, string>(s.Environment),
        Ports = s.Ports.ToList(),
        Labels = new Dictionary<string, string>(s.Labels),
        MemoryLimitBytes = s.Resources.MemoryLimit?.Bytes,
        MemoryReservationBytes = s.Resources.MemoryReservation?.Bytes,
        MemorySwapBytes = s.Resources.MemorySwapLimit?.Bytes,
        NanoCpus = s.Resources.Cpus?.NanoCpus,
        RestartMode = s.Restart.Mode,
        RestartMaxRetries = s.Restart.MaxRetries,
        HealthCheck = s.HealthCheck is { } h
            ? new HealthCheckDocument(h.Test.ToList(), h.Interval.TotalSeconds, h.Timeout.TotalSeconds, h.Retries, h.StartPeriod.TotalSeconds)
            : null,
        DependsOn = s.DependsOn.ToList(),
        Build = s.Build,
        Volumes = s.Volumes.ToList(),
        Networks = s.Networks.ToList(),
        NetworkMode = s.NetworkMode,
        Ulimits = new Dictionary<string, Ulimit>(s.Ulimits),
        Files = s.Files.ToList(),
        Replicas = s.Replicas,
        Update = s.Update,
        Options = s.Options,
        Gates = s.Gates.ToList(),
        SecretFields = s.SecretFields.ToList(),
    };
}
