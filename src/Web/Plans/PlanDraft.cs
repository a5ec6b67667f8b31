using System.Globalization;
using DeployDeck.Compose;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;

namespace DeployDeck.Web.Plans;

/// <summary>
/// The editor's working copy of a revision: phase settings and service limits as the text the user types, services
/// as domain records. <see cref="ToSpec"/> turns it back into a plan and names every field that does not parse.
/// </summary>
public sealed class PlanDraft
{
    public int BaseRevision { get; private init; }

    public string StackBudget { get; set; } = "";

    public List<PhaseDraft> Phases { get; } = [];

    /// <summary>
    /// What the page does not edit but the plan is made of: the project's networks, volumes, configs and secrets, and the
    /// revision's allowance. Carried as they are, so an unedited draft is the revision (and its services' volumes resolve).
    /// </summary>
    private PlanSpec Original { get; init; } = new([]);

    public static PlanDraft From(PlanSpec spec, int revision)
    {
        var draft = new PlanDraft { BaseRevision = revision, StackBudget = spec.StackBudget?.ToCompose() ?? "", Original = spec };
        draft.Phases.AddRange(spec.Phases.Select(PhaseDraft.From));
        return draft;
    }

    public PhaseDraft? PhaseOf(string service) => Phases.FirstOrDefault(p => p.Services.Any(s => s.Name == service));

    public void Move(string service, string toPhase)
    {
        var from = PhaseOf(service);
        var to = Phases.FirstOrDefault(p => p.Name == toPhase);
        if (from is null || to is null || from == to)
            return;
        var spec = from.Services.First(s => s.Name == service);
        from.Services.Remove(spec);
        to.Services.Add(spec);
    }

    public void Replace(ServiceSpec service)
    {
        var phase = PhaseOf(service.Name);
        if (phase is not null)
            phase.Services[phase.Services.FindIndex(s => s.Name == service.Name)] = service;
    }

    /// <summary>The plan, or null when a field does not parse; <paramref name="issues"/> gets those and every rule the plan breaks.</summary>
    public PlanSpec? ToSpec(List<PlanIssue> issues)
    {
        var before = issues.Count;
        var phases = Phases.Select(p => p.ToSpec(issues)).ToList();
        var stack = Field.Memory(StackBudget, "stack budget", null, issues);
        if (issues.Count > before)
            return null;
        var spec = Original with { Phases = phases, StackBudget = stack };
        issues.AddRange(PlanValidation.Validate(spec));
        return spec;
    }
}

public sealed class PhaseDraft
{
    public required string Name { get; set; }

    public RiskLevel Risk { get; set; }

    public string MemoryBudget { get; set; } = "";

    public string CpuBudget { get; set; } = "";

    public string Soak { get; set; } = "0s";

    public PromotionMode Promotion { get; set; }

    public FailurePolicy OnFailure { get; set; }

    public List<ServiceSpec> Services { get; } = [];

    public static PhaseDraft From(PhaseSpec p)
    {
        var draft = new PhaseDraft
        {
            Name = p.Name, Risk = p.Risk, MemoryBudget = p.MemoryBudget?.ToCompose() ?? "", CpuBudget = p.CpuBudget?.ToString() ?? "",
            Soak = Durations.Format(p.Soak), Promotion = p.Promotion, OnFailure = p.OnFailure,
        };
        draft.Services.AddRange(p.Services);
        return draft;
    }

    public PhaseSpec ToSpec(List<PlanIssue> issues) => new()
    {
        Name = Name.Trim(),
        Risk = Risk,
        MemoryBudget = Field.Memory(MemoryBudget, "memory budget", Name, issues),
        CpuBudget = Field.Cpus(CpuBudget, "CPU budget", Name, null, issues),
        Soak = Field.Duration(Soak, "soak", Name, null, issues) ?? TimeSpan.Zero,
        Promotion = Promotion,
        OnFailure = OnFailure,
        Services = Services.ToList(),
    };
}

/// <summary>The editable fields of one service, as text.</summary>
public sealed class ServiceDraft
{
    public string MemoryLimit { get; set; } = "";

    public string MemoryReservation { get; set; } = "";

    public string MemorySwap { get; set; } = "";

    public string Cpus { get; set; } = "";

    public string Restart { get; set; } = "no";

    /// <summary>"" (none), "CMD-SHELL", "CMD" or "NONE" (disable the image's check).</summary>
    public string HealthKind { get; set; } = "";

    public string HealthCommand { get; set; } = "";

    public string Interval { get; set; } = "30s";

    public string Timeout { get; set; } = "30s";

    public string Retries { get; set; } = "3";

    public string StartPeriod { get; set; } = "0s";

    public List<GateSpec> Gates { get; } = [];

    public GateKind NewGateKind { get; set; } = GateKind.Http;

    /// <summary>URL, pattern, command or percent, by <see cref="NewGateKind"/>.</summary>
    public string NewGateValue { get; set; } = "";

    /// <summary>Adds the gate described by <see cref="NewGateKind"/> and <see cref="NewGateValue"/>, or says why it cannot.</summary>
    public string? AddGate(ServiceSpec service)
    {
        var value = NewGateValue.Trim();
        GateSpec gate;
        try
        {
            gate = NewGateKind switch
            {
                GateKind.Http => new GateSpec { Kind = GateKind.Http, Url = value },
                GateKind.Logs => new GateSpec { Kind = GateKind.Logs, Pattern = value },
                GateKind.Exec => new GateSpec { Kind = GateKind.Exec, Command = ShellWords.Split(value) },
                GateKind.Chaos => new GateSpec
                {
                    Kind = GateKind.Chaos,
                    TimeoutSeconds = Durations.TryParse(value.Length == 0 ? "30s" : value, out var within, out _) ? within.TotalSeconds : -1,
                },
                _ => new GateSpec
                {
                    Kind = GateKind.Memory,
                    MaxMemoryPercent = double.TryParse(value.TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out var p) ? p : null,
                },
            };
        }
        catch (FormatException e)
        {
            return e.Message;
        }

        var problem = gate.Problems(service).FirstOrDefault();
        if (problem is not null)
            return problem;
        Gates.Add(gate);
        NewGateValue = "";
        return null;
    }

    public static ServiceDraft From(ServiceSpec s)
    {
        var r = s.Resources;
        var draft = new ServiceDraft
        {
            MemoryLimit = r.MemoryLimit?.ToCompose() ?? "", MemoryReservation = r.MemoryReservation?.ToCompose() ?? "",
            MemorySwap = r.MemorySwapLimit?.ToCompose() ?? "", Cpus = r.Cpus?.ToString() ?? "", Restart = s.Restart.ToString(),
        };
        draft.Gates.AddRange(s.Gates);
        if (s.HealthCheck is { } hc)
        {
            draft.HealthKind = hc.Test.Count > 0 ? hc.Test[0] : "";
            draft.HealthCommand = hc.Test is ["CMD-SHELL", var shell, ..] ? shell : string.Join(' ', hc.Test.Skip(1).Select(Quote));
            draft.Interval = Durations.Format(hc.Interval);
            draft.Timeout = Durations.Format(hc.Timeout);
            draft.Retries = hc.Retries.ToString(CultureInfo.InvariantCulture);
            draft.StartPeriod = Durations.Format(hc.StartPeriod);
        }

        return draft;
    }

    /// <summary>The service with these fields, or null with the problems in <paramref name="issues"/>.</summary>
    public ServiceSpec? Apply(ServiceSpec service, string phase, List<PlanIssue> issues)
    {
        var before = issues.Count;
        var resources = new ResourceLimits(
            Field.Memory(MemoryLimit, "memory limit", phase, issues, service.Name),
            Field.Memory(MemoryReservation, "memory reservation", phase, issues, service.Name),
            Field.Memory(MemorySwap, "memory+swap limit", phase, issues, service.Name),
            Field.Cpus(Cpus, "CPUs", phase, service.Name, issues));
        if (!RestartPolicy.TryParse(Restart, out var restart, out var restartError))
            issues.Add(new(Severity.Error, restartError, phase, service.Name));

        HealthCheck? health = null;
        if (HealthKind is "CMD" or "CMD-SHELL" or "NONE")
        {
            List<string> test = HealthKind switch
            {
                "NONE" => ["NONE"],
                "CMD-SHELL" => ["CMD-SHELL", HealthCommand.Trim()],
                _ => ["CMD", .. Words(HealthCommand, phase, service.Name, issues)],
            };
            if (HealthKind != "NONE" && string.IsNullOrWhiteSpace(HealthCommand))
                issues.Add(new(Severity.Error, "the health check needs a command", phase, service.Name));
            var retries = int.TryParse(Retries, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 1000 ? n
                : Fail(issues, phase, service.Name, $"retries '{Retries}' must be a whole number from 1 to 1000", 3);
            health = new HealthCheck(test,
                Field.Duration(Interval, "health check interval", phase, service.Name, issues) ?? TimeSpan.FromSeconds(30),
                Field.Duration(Timeout, "health check timeout", phase, service.Name, issues) ?? TimeSpan.FromSeconds(30),
                retries,
                Field.Duration(StartPeriod, "health check start period", phase, service.Name, issues) ?? TimeSpan.Zero);
        }

        return issues.Count > before ? null : service with { Resources = resources, Restart = restart, HealthCheck = health, Gates = Gates.ToList() };
    }

    private static List<string> Words(string text, string phase, string service, List<PlanIssue> issues)
    {
        try
        {
            return ShellWords.Split(text);
        }
        catch (FormatException e)
        {
            return Fail(issues, phase, service, e.Message, new List<string>());
        }
    }

    private static string Quote(string word) => word.Any(char.IsWhiteSpace) ? $"'{word}'" : word;

    private static T Fail<T>(List<PlanIssue> issues, string phase, string service, string message, T fallback)
    {
        issues.Add(new(Severity.Error, message, phase, service));
        return fallback;
    }
}

internal static class Field
{
    public static MemorySize? Memory(string text, string what, string? phase, List<PlanIssue> issues, string? service = null) =>
        Parse<MemorySize>(text, MemorySize.TryParse, what, phase, service, issues);

    public static CpuShare? Cpus(string text, string what, string? phase, string? service, List<PlanIssue> issues) =>
        Parse<CpuShare>(text, CpuShare.TryParse, what, phase, service, issues);

    public static TimeSpan? Duration(string text, string what, string? phase, string? service, List<PlanIssue> issues) =>
        Parse<TimeSpan>(text, Durations.TryParse, what, phase, service, issues);

    /// <summary>Empty text is "not set"; text that does not parse is an issue naming the field.</summary>
    private static T? Parse<T>(string text, UnitParser<T> parse, string what, string? phase, string? service, List<PlanIssue> issues)
        where T : struct
    {
        if (string.IsNullOrWhiteSpace(text))
            return null;
        if (parse(text, out var value, out var error))
            return value;
        issues.Add(new(Severity.Error, $"{what}: {error}", phase, service));
        return null;
    }
}
