using System.Collections;
using System.Net;
using DeployDeck.Domain.Input;
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

/// <summary>
/// The rules a plan must satisfy before it is saved or run. An import and a PUT are checked by the same rules: the
/// Compose reader finds what a file says wrong, this finds what a plan holds wrong, however it was made.
/// </summary>
public static class PlanValidation
{
    public const int MaxServices = 200;

    /// <summary>Items of any one list or dictionary of a service (environment, labels, command, ports, …).</summary>
    public const int MaxItems = 1000;

    public static IReadOnlyList<PlanIssue> Validate(PlanSpec plan)
    {
        var issues = new List<PlanIssue>();
        ValidateText(plan, issues);
        if (issues.Any(i => i.Message.EndsWith(TextRules.NotNull, StringComparison.Ordinal)))
            return issues; // the rules below read every item: a null one is all there is to say
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

    /// <summary>Every string of the plan, by the one set of text rules; and the plan's text in total.</summary>
    private static void ValidateText(PlanSpec plan, List<PlanIssue> issues)
    {
        long total = 0;
        foreach (var phase in plan.Phases)
        {
            if (phase is null)
            {
                issues.Add(new(Severity.Error, "a phase " + TextRules.NotNull));
                continue;
            }

            foreach (var problem in TextRules.Check(phase with { Services = [] }))
                issues.Add(new(Severity.Error, problem.ToString(), Phase: Printable(phase.Name ?? "")));
            foreach (var service in phase.Services)
            {
                if (service is null)
                {
                    issues.Add(new(Severity.Error, "a service " + TextRules.NotNull, Printable(phase.Name ?? "")));
                    continue;
                }

                foreach (var problem in TextRules.Check(service))
                    issues.Add(new(Severity.Error, problem.ToString(), Printable(phase.Name ?? ""), Printable(service.Name ?? "")));
                foreach (var property in SpecWalk.StoredProperties(typeof(ServiceSpec)))
                {
                    if (property.GetValue(service) is ICollection { Count: > MaxItems } many)
                        issues.Add(new(Severity.Error, $"{SpecWalk.Name(property)} has {many.Count:N0} entries; the limit is {MaxItems:N0}", Printable(phase.Name ?? ""), Printable(service.Name ?? "")));
                }

                SpecWalk.Visit(service, "", (_, value, _) => total += value is string text ? text.Length : 0);
            }
        }

        if (total > TextRules.PlanTextLength)
            issues.Add(new(Severity.Error, $"the plan holds {total:N0} characters of text; the limit is {TextRules.PlanTextLength:N0} (are large values repeated in many services?)"));
    }

    /// <summary>What the engine takes as an image: no spaces, quotes or shell characters ever reach it (nor a shell: the engine API has none).</summary>
    public static bool IsImageReference(string image) =>
        image.Length <= 500 && char.IsAsciiLetterOrDigit(image[0]) && image.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '/' or ':' or '@');

    /// <summary>A name as a message may quote it: a name with a control character is refused, and must not spoof the message that says so.</summary>
    private static string Printable(string name)
    {
        var cut = name.Length > 100 ? name[..100] + "…" : name;
        return TextRules.Problem(cut, new TextRule(TextKind.Name, 200)) is null ? cut : Uri.EscapeDataString(cut);
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
        else if (!IsImageReference(service.Image))
            issues.Add(new(Severity.Error, $"image '{Printable(service.Image)}' is not an image reference ([registry/]name[:tag][@digest]: letters, digits, '.', '_', '-', '/', ':', '@')", phase, service.Name));

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

        foreach (var problem in service.Gates.Where(g => Enum.IsDefined(g.Kind)).SelectMany(g => g.Problems(service)))
            issues.Add(new(Severity.Error, problem, phase, service.Name));

        if (Rollouts.UpdateOrders.Impossible(service) is { } impossible)
            issues.Add(new(Severity.Error, impossible, phase, service.Name));
        if (service.Replicas > 1 && service.Ports.FirstOrDefault(p => p.HostPort is not null) is { } fixedPort)
            issues.Add(new(Severity.Error, $"{service.Replicas} replicas cannot all publish the host port {fixedPort.HostPort}: publish a range, or no host port", phase, service.Name));
        if (service.Replicas is < 0 or > 100)
            issues.Add(new(Severity.Error, $"{service.Replicas} replicas: a service runs 0 to 100 containers", phase, service.Name));

        foreach (var problem in ValueProblems(service))
            issues.Add(new(Severity.Error, problem, phase, service.Name));
    }

    /// <summary>What the Compose reader refuses in a file, checked on the plan itself so that a PUT cannot store it either.</summary>
    private static IEnumerable<string> ValueProblems(ServiceSpec service)
    {
        var r = service.Resources;
        foreach (var (what, size) in new[] { ("memory limit", r.MemoryLimit), ("memory reservation", r.MemoryReservation), ("memory+swap limit", r.MemorySwapLimit) })
        {
            if (size is { } m && (m.Bytes <= 0 || m > MemorySize.Absurd))
                yield return $"{what} of {m.Bytes} bytes must be above 0 and at most {MemorySize.Absurd}";
        }

        if (r.Cpus is { } cpus && (cpus.NanoCpus <= 0 || cpus.Cores > 1024))
            yield return $"CPUs {cpus} must be above 0 and at most 1024";

        if (service.Restart.MaxRetries is < 0 or > 1000)
            yield return $"restart: on-failure retries {service.Restart.MaxRetries} must be from 0 to 1000";

        if (service.HealthCheck is { } hc)
        {
            if (hc.Test is not [("CMD" or "CMD-SHELL"), _, ..] and not ["NONE", ..])
                yield return "health check test must be [\"CMD\", …], [\"CMD-SHELL\", \"…\"] or [\"NONE\"]";
            else if (hc.Test[0] != "NONE" && string.IsNullOrWhiteSpace(hc.Test[1]))
                yield return $"health check test {hc.Test[0]} has no command";
            if (hc.Interval <= TimeSpan.Zero || hc.Retries < 1)
                yield return "health check needs an interval above 0 and at least 1 retry";
            foreach (var (what, span) in new[] { ("interval", hc.Interval), ("timeout", hc.Timeout), ("start period", hc.StartPeriod) })
            {
                if (span < TimeSpan.Zero || span > TimeSpan.FromDays(1))
                    yield return $"health check {what} {Durations.Format(span)} must be from 0 to a day";
            }

            if (hc.Retries > 1000)
                yield return $"health check retries {hc.Retries} must be at most 1000";
        }

        foreach (var port in service.Ports)
        {
            if (port.ContainerPort is < 1 or > 65535 || port.HostPort is < 0 or > 65535)
                yield return $"port {port}: ports are from 1 to 65535";
            if (port.Protocol is not ("tcp" or "udp" or "sctp"))
                yield return $"port {port}: protocol '{port.Protocol}' is not tcp, udp or sctp";
            if (port.HostIp is { } ip && !IPAddress.TryParse(ip, out _))
                yield return $"port {port}: '{ip}' is not an IP address";
        }

        foreach (var (name, limit) in service.Ulimits)
        {
            if (limit is null)
                continue;
            if (name.Length == 0 || !name.All(char.IsAsciiLetterLower))
                yield return $"ulimits: '{name}' is not a ulimit name (nofile, nproc, memlock, …)";
            if (limit.Soft < -1 || limit.Hard < -1)
                yield return $"ulimits.{name}: {Math.Min(limit.Soft, limit.Hard)} is not a limit (a whole number, or -1 for unlimited)";
            else if (limit.Hard >= 0 && (limit.Soft < 0 || limit.Soft > limit.Hard))
                yield return $"ulimits.{name}: soft {limit.Soft} is above hard {limit.Hard}";
        }

        var dependencies = new HashSet<string>(StringComparer.Ordinal);
        foreach (var dep in service.DependsOn)
        {
            if (dep is null)
                continue;
            if (dep.Service == service.Name)
                yield return "depends on itself";
            else if (!dependencies.Add(dep.Service))
                yield return $"depends on '{dep.Service}' twice";
        }

        foreach (var volume in service.Volumes)
        {
            if (volume is not null && string.IsNullOrWhiteSpace(volume.Target))
                yield return $"a volume ({volume}) has no target";
        }

        if (service.Build is { } build && string.IsNullOrWhiteSpace(build.Context))
            yield return "build has no context";
        if (service.Networks.Any(n => n is null || string.IsNullOrWhiteSpace(n.Network)))
            yield return "a network has no name";
    }
}

public static class ServiceNames
{
    public static bool IsValid(string name) =>
        name.Length is > 0 and <= 63 && char.IsAsciiLetterOrDigit(name[0])
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');
}
