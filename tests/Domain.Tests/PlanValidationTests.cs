using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;

namespace DeployDeck.Domain.Tests;

public sealed class PlanValidationTests
{
    private static ServiceSpec S(string name, string? limit = "64m", string? reservation = null, params string[] deps) => new()
    {
        Name = name,
        Image = "probe",
        Resources = new ResourceLimits(limit is null ? null : MemorySize.Parse(limit), reservation is null ? null : MemorySize.Parse(reservation), null, CpuShare.Parse("0.5")),
        DependsOn = deps.Select(d => new ServiceDependency(d)).ToList(),
    };

    private static IReadOnlyList<PlanIssue> Validate(params PhaseSpec[] phases) => PlanValidation.Validate(new PlanSpec(phases));

    [Fact]
    public void Reservation_larger_than_limit_is_an_error_naming_the_service()
    {
        var issue = Assert.Single(Validate(new PhaseSpec { Name = "core", Services = [S("db", "256m", "512m")] }), i => i.Severity == Severity.Error);
        Assert.Equal("db", issue.Service);
        Assert.Contains("larger than its limit", issue.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Service_without_memory_limit_is_a_warning_the_user_sees()
    {
        var issues = Validate(new PhaseSpec { Name = "core", Services = [S("db", limit: null)] });
        Assert.Contains(issues, i => i.Severity == Severity.Warning && i.Service == "db" && i.Message.Contains("no memory limit", StringComparison.Ordinal));
        Assert.DoesNotContain(issues, i => i.Severity == Severity.Error);
    }

    [Fact]
    public void Dependency_on_a_later_phase_is_an_error_naming_the_edge()
    {
        var issues = Validate(
            new PhaseSpec { Name = "core", Services = [S("api", "64m", null, "auth")] },
            new PhaseSpec { Name = "business", Services = [S("auth")] });
        Assert.Contains(issues, i => i.Severity == Severity.Error && i.Service == "api" && i.Message.Contains("'auth' in the later phase 'business'", StringComparison.Ordinal));
    }

    [Fact]
    public void Unknown_dependency_and_duplicate_names_are_errors()
    {
        var issues = Validate(new PhaseSpec { Name = "core", Services = [S("api", "64m", null, "ghost"), S("api")] });
        Assert.Contains(issues, i => i.Message.Contains("unknown service 'ghost'", StringComparison.Ordinal));
        Assert.Contains(issues, i => i.Message.Contains("used twice", StringComparison.Ordinal));
    }

    [Fact]
    public void Limit_under_the_engines_minimum_is_an_error() =>
        Assert.Contains(Validate(new PhaseSpec { Name = "core", Services = [S("tiny", "1m")] }), i => i.Severity == Severity.Error && i.Message.Contains("minimum", StringComparison.Ordinal));

    [Fact]
    public void Plan_without_phases_is_an_error() => Assert.Contains(Validate(), i => i.Severity == Severity.Error);
}
