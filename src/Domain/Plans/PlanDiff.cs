using System.Collections;
using System.Reflection;
using System.Text;

namespace DeployDeck.Domain.Plans;

/// <summary>One difference between two revisions, secrets masked.</summary>
public sealed record PlanChange(string Where, string What, string? Before, string? After)
{
    public override string ToString() => $"{Where}: {What} {Before ?? "—"} → {After ?? "—"}";
}

/// <summary>
/// What changed from one revision to another: phases, their settings, services moved, added, removed or edited.
/// Structural: every stored property of <see cref="PlanSpec"/>, <see cref="PhaseSpec"/> and <see cref="ServiceSpec"/>
/// is compared by value (lists and dictionaries deeply), so a field added to them is compared without being listed
/// here, and a PUT that changes only that field makes a revision. Only the labels below are written by hand.
/// </summary>
public static class PlanDiff
{
    private static readonly Dictionary<string, string> Labels = new(StringComparer.Ordinal)
    {
        ["stackBudget"] = "stack budget",
        ["cpuBudget"] = "CPU budget",
        ["resources.memoryLimit"] = "memory limit",
        ["resources.memoryReservation"] = "memory reservation",
        ["resources.memorySwapLimit"] = "memory+swap",
        ["resources.cpus"] = "CPUs",
        ["healthCheck"] = "health check",
        ["dependsOn"] = "depends on",
    };

    /// <summary>Properties that are compared as several changes, one per field, because people read them that way.</summary>
    private static readonly HashSet<Type> SplitRecords = [typeof(ResourceLimits)];

    public static IReadOnlyList<PlanChange> Compare(PlanSpec from, PlanSpec to)
    {
        var changes = new List<PlanChange>();
        Properties(changes, "plan", from, to, typeof(PlanSpec), [nameof(PlanSpec.Phases)], null, null);

        var fromPhases = from.Phases.Select(p => p.Name).ToList();
        var toPhases = to.Phases.Select(p => p.Name).ToList();
        if (!fromPhases.SequenceEqual(toPhases))
            changes.Add(new("plan", "phases", string.Join(", ", fromPhases), string.Join(", ", toPhases)));
        foreach (var phase in to.Phases)
        {
            var old = from.Phases.FirstOrDefault(p => p.Name == phase.Name);
            if (old is not null)
                Properties(changes, $"phase {phase.Name}", old, phase, typeof(PhaseSpec), [nameof(PhaseSpec.Name), nameof(PhaseSpec.Services)], null, null);
        }

        var fromServices = from.Phases.SelectMany(p => p.Services.Select(s => (Phase: p.Name, Service: s))).GroupBy(x => x.Service.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var toServices = to.Phases.SelectMany(p => p.Services.Select(s => (Phase: p.Name, Service: s))).GroupBy(x => x.Service.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        foreach (var (name, (phase, service)) in toServices)
        {
            var where = $"service {name}";
            if (!fromServices.TryGetValue(name, out var old))
            {
                changes.Add(new(where, "added to phase", null, phase));
                continue;
            }

            if (old.Phase != phase)
                changes.Add(new(where, "phase", old.Phase, phase));
            Properties(changes, where, old.Service, service, typeof(ServiceSpec), [nameof(ServiceSpec.Name)], SecretKeys.MaskedService(old.Service), SecretKeys.MaskedService(service));
        }

        foreach (var (name, old) in fromServices.Where(s => !toServices.ContainsKey(s.Key)))
            changes.Add(new($"service {name}", "removed from phase", old.Phase, null));
        return changes;
    }

    /// <param name="shownA">What a person may see of <paramref name="a"/> (secrets masked); null when nothing is secret.</param>
    private static void Properties(List<PlanChange> changes, string where, object a, object b, Type type, string[] skip, object? shownA, object? shownB, string prefix = "")
    {
        foreach (var property in SpecWalk.StoredProperties(type).Where(p => !skip.Contains(p.Name)))
        {
            var path = SpecWalk.Join(prefix, SpecWalk.Name(property));
            var (va, vb) = (property.GetValue(a), property.GetValue(b));
            if (SpecWalk.SameValue(va, vb))
                continue;
            var (sa, sb) = (shownA is null ? va : property.GetValue(shownA), shownB is null ? vb : property.GetValue(shownB));
            if (property.Name == nameof(ServiceSpec.SecretFields))
            {
                changes.Add(new(where, "secret fields", Count(va), Count(vb)));
            }
            else if (va is IDictionary || vb is IDictionary)
            {
                Entries(changes, where, Label(property, path), va as IDictionary, vb as IDictionary, sa as IDictionary, sb as IDictionary);
            }
            else if (va is not null && vb is not null && SplitRecords.Contains(property.PropertyType))
            {
                Properties(changes, where, va, vb, property.PropertyType, [], sa, sb, path);
            }
            else
            {
                Changed(changes, where, Label(property, path), va, vb, sa, sb);
            }
        }
    }

    private static void Entries(List<PlanChange> changes, string where, string what, IDictionary? a, IDictionary? b, IDictionary? shownA, IDictionary? shownB)
    {
        var keys = (a?.Keys.Cast<object>() ?? []).Concat(b?.Keys.Cast<object>() ?? []).Select(k => k.ToString() ?? "").Distinct().Order(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            var va = a is not null && a.Contains(key) ? a[key] : null;
            var vb = b is not null && b.Contains(key) ? b[key] : null;
            var present = (a?.Contains(key) ?? false, b?.Contains(key) ?? false);
            if (present.Item1 == present.Item2 && SpecWalk.SameValue(va, vb))
                continue;
            Changed(changes, where, $"{what} {key}", va, vb,
                shownA is not null && shownA.Contains(key) ? shownA[key] : va, shownB is not null && shownB.Contains(key) ? shownB[key] : vb);
        }
    }

    private static void Changed(List<PlanChange> changes, string where, string what, object? a, object? b, object? shownA, object? shownB)
    {
        var before = Describe(shownA);
        var after = Describe(shownB);
        // Masked on both sides, or shown the same though the values differ (a field ToString leaves out): still a change.
        changes.Add(new(where, what, before, before == after ? (after ?? "—") + " (changed)" : after));
    }

    private static string? Describe(object? value) => value switch
    {
        HealthCheck hc => $"{string.Join(' ', hc.Test)} every {hc.Interval.TotalSeconds:0.###}s, timeout {hc.Timeout.TotalSeconds:0.###}s, {hc.Retries} retries, start {hc.StartPeriod.TotalSeconds:0.###}s",
        IEnumerable items and not string and not IDictionary => string.Join(items.Cast<object?>().Any(i => i is GateSpec) ? "; " : ", ", items.Cast<object?>().Select(Describe)),
        _ => SpecWalk.Describe(value),
    };

    private static string Label(PropertyInfo property, string path) => Labels.TryGetValue(path, out var label) ? label : Humanize(property.Name);

    private static string Count(object? fields) => fields is ICollection c ? $"{c.Count} field(s)" : "none";

    /// <summary>"StopGracePeriod" → "stop grace period".</summary>
    private static string Humanize(string name)
    {
        var text = new StringBuilder();
        foreach (var c in name)
        {
            if (char.IsUpper(c) && text.Length > 0)
                text.Append(' ');
            text.Append(char.ToLowerInvariant(c));
        }

        return text.ToString();
    }
}
