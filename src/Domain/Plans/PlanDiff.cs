namespace DeployDeck.Domain.Plans;

/// <summary>One difference between two revisions, secrets masked.</summary>
public sealed record PlanChange(string Where, string What, string? Before, string? After)
{
    public override string ToString() => $"{Where}: {What} {Before ?? "—"} → {After ?? "—"}";
}

/// <summary>What changed from one revision to another: phases, their settings, services moved, added, removed or edited.</summary>
public static class PlanDiff
{
    public static IReadOnlyList<PlanChange> Compare(PlanSpec from, PlanSpec to)
    {
        var changes = new List<PlanChange>();
        Field(changes, "plan", "stack budget", from.StackBudget?.ToString(), to.StackBudget?.ToString());

        var fromPhases = from.Phases.Select(p => p.Name).ToList();
        var toPhases = to.Phases.Select(p => p.Name).ToList();
        if (!fromPhases.SequenceEqual(toPhases))
            changes.Add(new("plan", "phases", string.Join(", ", fromPhases), string.Join(", ", toPhases)));
        foreach (var phase in to.Phases)
        {
            var old = from.Phases.FirstOrDefault(p => p.Name == phase.Name);
            if (old is null)
                continue;
            var where = $"phase {phase.Name}";
            Field(changes, where, "risk", old.Risk.ToString(), phase.Risk.ToString());
            Field(changes, where, "memory budget", old.MemoryBudget?.ToString(), phase.MemoryBudget?.ToString());
            Field(changes, where, "CPU budget", old.CpuBudget?.ToString(), phase.CpuBudget?.ToString());
            Field(changes, where, "soak", old.Soak.ToString(), phase.Soak.ToString());
            Field(changes, where, "promotion", old.Promotion.ToString(), phase.Promotion.ToString());
            Field(changes, where, "on failure", old.OnFailure.ToString(), phase.OnFailure.ToString());
        }

        var fromServices = from.Phases.SelectMany(p => p.Services.Select(s => (Phase: p.Name, Service: s))).ToDictionary(x => x.Service.Name, StringComparer.Ordinal);
        var toServices = to.Phases.SelectMany(p => p.Services.Select(s => (Phase: p.Name, Service: s))).ToDictionary(x => x.Service.Name, StringComparer.Ordinal);
        foreach (var (name, (phase, service)) in toServices)
        {
            var where = $"service {name}";
            if (!fromServices.TryGetValue(name, out var old))
            {
                changes.Add(new(where, "added to phase", null, phase));
                continue;
            }

            Field(changes, where, "phase", old.Phase, phase);
            Compare(changes, where, old.Service, service);
        }

        foreach (var (name, old) in fromServices.Where(s => !toServices.ContainsKey(s.Key)))
            changes.Add(new($"service {name}", "removed from phase", old.Phase, null));
        return changes;
    }

    private static void Compare(List<PlanChange> changes, string where, ServiceSpec a, ServiceSpec b)
    {
        Field(changes, where, "image", a.Image, b.Image);
        Field(changes, where, "command", Join(a.Command), Join(b.Command));
        Field(changes, where, "entrypoint", Join(a.Entrypoint), Join(b.Entrypoint));
        Field(changes, where, "memory limit", a.Resources.MemoryLimit?.ToString(), b.Resources.MemoryLimit?.ToString());
        Field(changes, where, "memory reservation", a.Resources.MemoryReservation?.ToString(), b.Resources.MemoryReservation?.ToString());
        Field(changes, where, "memory+swap", a.Resources.MemorySwapLimit?.ToString(), b.Resources.MemorySwapLimit?.ToString());
        Field(changes, where, "CPUs", a.Resources.Cpus?.ToString(), b.Resources.Cpus?.ToString());
        Field(changes, where, "restart", a.Restart.ToString(), b.Restart.ToString());
        Field(changes, where, "health check", Describe(a.HealthCheck), Describe(b.HealthCheck));
        Field(changes, where, "ports", string.Join(", ", a.Ports), string.Join(", ", b.Ports));
        Field(changes, where, "gates", string.Join("; ", a.Gates), string.Join("; ", b.Gates));
        Field(changes, where, "depends on", string.Join(", ", a.DependsOn.Select(d => d.Service)), string.Join(", ", b.DependsOn.Select(d => d.Service)));
        foreach (var key in a.Environment.Keys.Union(b.Environment.Keys).Order(StringComparer.Ordinal))
        {
            var before = a.Environment.TryGetValue(key, out var x) ? SecretKeys.Show(key, x) : null;
            var after = b.Environment.TryGetValue(key, out var y) ? SecretKeys.Show(key, y) : null;
            if (before != after || x != y)
                changes.Add(new(where, $"environment {key}", before, before == after ? after + " (changed)" : after));
        }
    }

    private static void Field(List<PlanChange> changes, string where, string what, string? before, string? after)
    {
        if (before != after)
            changes.Add(new(where, what, before, after));
    }

    private static string? Join(IReadOnlyList<string>? words) => words is null ? null : string.Join(' ', words);

    private static string? Describe(HealthCheck? hc) => hc is null
        ? null
        : $"{string.Join(' ', hc.Test)} every {hc.Interval.TotalSeconds:0.###}s, timeout {hc.Timeout.TotalSeconds:0.###}s, {hc.Retries} retries, start {hc.StartPeriod.TotalSeconds:0.###}s";
}
