using DeployDeck.Domain.Units;

namespace DeployDeck.Domain.Plans;

public enum Severity
{
    Warning,
    Error,
}

/// <summary>One finding about a plan, naming where it is (phase, service) and what is wrong.</summary>
public sealed record PlanIssue(Severity Severity, string Message, string? Phase = null, string? Service = null)
{
    public override string ToString() => (Service is not null ? $"service '{Service}': " : Phase is not null ? $"phase '{Phase}': " : "") + Message;
}

/// <summary>The rules a plan must satisfy before it is saved or run.</summary>
public static class PlanValidation
{
    public const int MaxServices = 200;

    public static IReadOnlyList<PlanIssue> Validate(PlanSpec plan)
    {
        var issues = new List<PlanIssue>();
        if (plan.Phases.Count == 0)
        {
            issues.Add(new(Severity.Error, "the plan has no phases"));
        }

        var phaseNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var phase in plan.Phases)
        {
            if (string.IsNullOrWhiteSpace(phase.Name))
                issues.Add(new(Severity.Error, "a phase has no name"));
            else if (!phaseNames.Add(phase.Name))
                issues.Add(new(Severity.Error, "the name is used by two phases", phase.Name));
            if (phase.Services.Count == 0)
                issues.Add(new(Severity.Warning, "has no services: the rollout passes through it without starting anything", phase.Name));
        }

        var all = plan.AllServices.ToList();
        if (all.Count > MaxServices)
        {
            issues.Add(new(Severity.Error, $"the plan has {all.Count} services; the limit is {MaxServices}"));
        }

        var phaseOf = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < plan.Phases.Count; i++)
        {
            foreach (var service in plan.Phases[i].Services)
            {
                if (!ServiceNames.IsValid(service.Name))
                    issues.Add(new(Severity.Error, $"'{service.Name}' is not a valid service name (letters, digits, '.', '_', '-')", plan.Phases[i].Name, service.Name));
                else if (!phaseOf.TryAdd(service.Name, i))
                    issues.Add(new(Severity.Error, "the service name is used twice", plan.Phases[i].Name, service.Name));
                ValidateService(plan.Phases[i].Name, service, issues);
            }
        }

        for (var i = 0; i < plan.Phases.Count; i++)
        {
            foreach (var service in plan.Phases[i].Services)
            {
                foreach (var dep in service.DependsOn)
                {
                    if (!phaseOf.TryGetValue(dep.Service, out var depPhase))
                        issues.Add(new(Severity.Error, $"depends on unknown service '{dep.Service}'", plan.Phases[i].Name, service.Name));
                    else if (depPhase > i)
                        issues.Add(new(Severity.Error, $"depends on '{dep.Service}' in the later phase '{plan.Phases[depPhase].Name}'", plan.Phases[i].Name, service.Name));
                }
            }
        }

        if (FindCycle(all) is { } cycle)
            issues.Add(new(Severity.Error, $"dependency cycle: {string.Join(" → ", cycle)}", Service: cycle[0]));

        foreach (var budget in PlanBudgets.Of(plan).Phases)
        {
            if (budget.Budget is { } b && budget.Limits > b)
                issues.Add(new(Severity.Error, $"memory limits total {budget.Limits}, over the phase budget of {b}", budget.Phase));
            if (budget.CpuBudget is { } cb && budget.Cpus.CompareTo(cb) > 0)
                issues.Add(new(Severity.Error, $"CPU limits total {budget.Cpus} cores, over the phase budget of {cb}", budget.Phase));
        }

        if (plan.StackBudget is { } stack && PlanBudgets.Of(plan).Limits > stack)
            issues.Add(new(Severity.Error, $"memory limits of all phases total {PlanBudgets.Of(plan).Limits}, over the stack budget of {stack}"));

        return issues;
    }

    /// <summary>The services of one dependency cycle, first repeated at the end, or null.</summary>
    public static IReadOnlyList<string>? FindCycle(IReadOnlyList<ServiceSpec> services)
    {
        var byName = services.GroupBy(s => s.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var state = new Dictionary<string, int>(StringComparer.Ordinal);
        var path = new List<string>();

        List<string>? Visit(string name)
        {
            state[name] = 1;
            path.Add(name);
            foreach (var dep in byName[name].DependsOn.Where(d => byName.ContainsKey(d.Service)))
            {
                var seen = state.GetValueOrDefault(dep.Service);
                if (seen == 1)
                    return [.. path[path.IndexOf(dep.Service)..], dep.Service];
                if (seen == 0 && Visit(dep.Service) is { } cycle)
                    return cycle;
            }

            path.RemoveAt(path.Count - 1);
            state[name] = 2;
            return null;
        }

        foreach (var name in byName.Keys)
        {
            if (state.GetValueOrDefault(name) == 0 && Visit(name) is { } cycle)
                return cycle;
        }

        return null;
    }

    private static void ValidateService(string phase, ServiceSpec service, List<PlanIssue> issues)
    {
        if (string.IsNullOrWhiteSpace(service.Image))
            issues.Add(new(Severity.Error, "has no image", phase, service.Name));

        var r = service.Resources;
        if (r.MemoryLimit is null)
            issues.Add(new(Severity.Warning, "has no memory limit: it can take the whole host", phase, service.Name));
        else if (r.MemoryLimit < MemorySize.EngineMinimum)
            issues.Add(new(Severity.Error, $"memory limit {r.MemoryLimit} is under the engine's minimum of 6 MB", phase, service.Name));

        if (r.MemoryLimit is { } limit && r.MemoryReservation is { } reservation && reservation > limit)
            issues.Add(new(Severity.Error, $"memory reservation {reservation} is larger than its limit {limit}", phase, service.Name));

        if (r.MemorySwapLimit is { } swap && r.MemoryLimit is { } lim && swap < lim)
            issues.Add(new(Severity.Error, $"memory+swap limit {swap} is smaller than the memory limit {lim}", phase, service.Name));

        if (r.Cpus is null)
            issues.Add(new(Severity.Warning, "has no CPU limit", phase, service.Name));

        foreach (var problem in service.Gates.SelectMany(g => g.Problems(service)))
            issues.Add(new(Severity.Error, problem, phase, service.Name));

        if (Rollouts.UpdateOrders.Impossible(service) is { } impossible)
            issues.Add(new(Severity.Error, impossible, phase, service.Name));
        if (service.Replicas > 1 && service.Ports.FirstOrDefault(p => p.HostPort is not null) is { } fixedPort)
            issues.Add(new(Severity.Error, $"{service.Replicas} replicas cannot all publish the host port {fixedPort.HostPort}: publish a range, or no host port", phase, service.Name));
        if (service.Replicas is < 0 or > 100)
            issues.Add(new(Severity.Error, $"{service.Replicas} replicas: a service runs 0 to 100 containers", phase, service.Name));

        if (service.HealthCheck is { } hc && (hc.Interval <= TimeSpan.Zero || hc.Retries < 1))
            issues.Add(new(Severity.Error, "health check needs an interval above 0 and at least 1 retry", phase, service.Name));
    }
}

public static class ServiceNames
{
    public static bool IsValid(string name) =>
        name.Length is > 0 and <= 63 && char.IsAsciiLetterOrDigit(name[0])
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');
}
