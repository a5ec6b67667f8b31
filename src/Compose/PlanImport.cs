using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;

namespace DeployDeck.Compose;

/// <summary>A plan made from Compose files: null when any finding is an error; warnings the user must see either way.</summary>
public sealed record PlanImportResult(PlanSpec? Plan, IReadOnlyList<PlanIssue> Issues, IReadOnlyList<string> SkippedByProfile)
{
    /// <summary>The Compose project name: the files' <c>name:</c>, else the requested one, normalised.</summary>
    public string ProjectName { get; init; } = "stack";

    public IEnumerable<PlanIssue> Errors => Issues.Where(i => i.Severity == Severity.Error);

    public IEnumerable<PlanIssue> Warnings => Issues.Where(i => i.Severity == Severity.Warning);
}

public static class PlanImport
{
    /// <exception cref="ComposeException">The input cannot be read at all.</exception>
    public static PlanImportResult FromCompose(ComposeImportRequest request, MemorySize? stackBudget = null)
    {
        var model = ComposeImporter.Read(request);
        if (model.HasErrors)
            return new(null, model.Issues, model.SkippedByProfile) { ProjectName = model.ProjectName };

        var (assigned, assignment) = DefaultPhases.Assign(model.Services.Select(s => new PhaseCandidate(s.Spec, s.Phase)).ToList(), stackBudget ?? model.StackBudget);
        var settings = model.Phases.ToDictionary(p => p.Name, StringComparer.Ordinal);
        var plan = SecretOrigins.Mark(assigned with
        {
            Phases = assigned.Phases.Select(p => settings.TryGetValue(p.Name, out var s) ? s.ApplyTo(p) : p).ToList(),
            Resources = model.Resources,
        }, request);
        var unused = model.Phases.Where(p => assigned.Phases.All(a => a.Name != p.Name)).Select(p => p.Name).ToList();
        if (unused.Count > 0)
            assignment = [.. assignment, new PlanIssue(Severity.Warning, $"x-deploydeck.phases: {string.Join(", ", unused)} has no services; its settings are not used")];
        // The reader and the plan's rules may both name a problem (ulimits): once is enough, whichever phase it names.
        var issues = model.Issues.Concat(assignment).Concat(PlanValidation.Validate(plan))
            .DistinctBy(i => (i.Severity, i.Message, i.Service)).ToList();
        return new(issues.Any(i => i.Severity == Severity.Error) ? null : plan, issues, model.SkippedByProfile) { ProjectName = model.ProjectName };
    }
}
