using DeployDeck.Compose.Yaml;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;

namespace DeployDeck.Compose;

/// <summary>A phase's settings as the top-level <c>x-deploydeck.phases</c> of a Compose file gives them; null keeps the default.</summary>
public sealed record PhaseSettings(string Name)
{
    public TimeSpan? Soak { get; init; }

    public PromotionMode? Promotion { get; init; }

    public FailurePolicy? OnFailure { get; init; }

    public RiskLevel? Risk { get; init; }

    public MemorySize? MemoryBudget { get; init; }

    public CpuShare? CpuBudget { get; init; }

    public PhaseSpec ApplyTo(PhaseSpec phase) => phase with
    {
        Soak = Soak ?? phase.Soak,
        Promotion = Promotion ?? phase.Promotion,
        OnFailure = OnFailure ?? phase.OnFailure,
        Risk = Risk ?? phase.Risk,
        MemoryBudget = MemoryBudget ?? phase.MemoryBudget,
        CpuBudget = CpuBudget ?? phase.CpuBudget,
    };
}

/// <summary>
/// The top-level <c>x-deploydeck</c> extension: what the runbook decides per phase, kept in the user's own files —
/// <c>phases: {core: {soak: 2m, promotion: approval, on_failure: rollback-all, risk: high, memory_budget: 1g, cpu_budget: 1.5}}</c>
/// and <c>stack_budget: 3.5g</c>. Compose itself ignores x- keys.
/// </summary>
internal static class DeployDeckExtension
{
    public static (IReadOnlyList<PhaseSettings> Phases, MemorySize? StackBudget) Read(YNode? node, List<PlanIssue> issues)
    {
        if (node is not YMap map)
            return ([], null);
        void Error(string message) => issues.Add(new(Severity.Error, "x-deploydeck: " + message));
        foreach (var key in map.Keys.Where(k => k is not ("phases" or "stack_budget")))
            issues.Add(new(Severity.Warning, $"x-deploydeck: '{key}' is not read (phases, stack_budget)"));

        T? Parse<T>(YNode? value, string where, UnitParser<T> parse)
            where T : struct
        {
            if (value is not YScalar { IsNull: false } s)
                return null;
            if (parse(s.Value, out var parsed, out var error))
                return parsed;
            Error($"{where}: {error}");
            return null;
        }

        TEnum? Enum<TEnum>(YNode? value, string where, params (string Text, TEnum Value)[] choices)
            where TEnum : struct
        {
            if (value is not YScalar { IsNull: false } s)
                return null;
            foreach (var (text, parsed) in choices)
            {
                if (s.Value == text)
                    return parsed;
            }

            Error($"{where}: '{s.Value}' is not one of {string.Join(", ", choices.Select(c => c.Text))}");
            return null;
        }

        var phases = new List<PhaseSettings>();
        if (map["phases"] is YMap declared)
        {
            foreach (var (name, value) in declared.Entries)
            {
                var settings = value as YMap ?? YMap.Empty();
                var where = $"phases.{name}";
                foreach (var key in settings.Keys.Where(k => k is not ("soak" or "promotion" or "on_failure" or "risk" or "memory_budget" or "cpu_budget")))
                    issues.Add(new(Severity.Warning, $"x-deploydeck: {where}.{key} is not a phase setting (soak, promotion, on_failure, risk, memory_budget, cpu_budget)"));
                phases.Add(new PhaseSettings(name)
                {
                    Soak = Parse<TimeSpan>(settings["soak"], $"{where}.soak", Durations.TryParse),
                    Promotion = Enum(settings["promotion"], $"{where}.promotion", ("automatic", PromotionMode.Automatic), ("approval", PromotionMode.NeedsApproval)),
                    OnFailure = Enum(settings["on_failure"], $"{where}.on_failure",
                        ("rollback-phase", FailurePolicy.RollbackPhase), ("rollback-all", FailurePolicy.RollbackAll), ("pause", FailurePolicy.Pause)),
                    Risk = Enum(settings["risk"], $"{where}.risk", ("low", RiskLevel.Low), ("medium", RiskLevel.Medium), ("high", RiskLevel.High), ("critical", RiskLevel.Critical)),
                    MemoryBudget = Parse<MemorySize>(settings["memory_budget"], $"{where}.memory_budget", MemorySize.TryParse),
                    CpuBudget = Parse<CpuShare>(settings["cpu_budget"], $"{where}.cpu_budget", CpuShare.TryParse),
                });
            }
        }
        else if (map["phases"] is { } other and not YScalar { IsNull: true })
        {
            Error($"phases must be a mapping of phase names, not {other.Kind}");
        }

        return (phases, Parse<MemorySize>(map["stack_budget"], "stack_budget", MemorySize.TryParse));
    }
}
