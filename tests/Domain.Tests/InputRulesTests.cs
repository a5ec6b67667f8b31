using DeployDeck.Domain.Input;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;

namespace DeployDeck.Domain.Tests;

public sealed class TextRulesTests
{
    [Theory]
    [InlineData("db\0x", "NUL")]
    [InlineData("deploy\u202Edorp", "U+202E")]
    [InlineData("a\u2066b", "U+2066")]
    [InlineData("bell\u0007", "U+0007")]
    [InlineData("c1\u0085", "U+0085")]
    public void Nul_control_bidi_and_broken_unicode_are_refused_in_every_kind_of_field(string value, string named)
    {
        foreach (var kind in Enum.GetValues<TextKind>())
            Assert.Contains(named, TextRules.Problem(value, new TextRule(kind, 100)), StringComparison.Ordinal);
    }

    [Fact]
    public void An_unpaired_surrogate_is_refused()
    {
        var value = "half" + (char)0xD800;

        Assert.Contains("unpaired surrogate U+D800", TextRules.Problem(value, new TextRule(TextKind.Text, 100)), StringComparison.Ordinal);
    }

    [Fact]
    public void Line_breaks_are_text_only_tabs_not_in_names_and_invisible_characters_not_in_names()
    {
        Assert.Null(TextRules.Problem("a\nb\tc", new TextRule(TextKind.Text, 100)));
        Assert.Contains("line break", TextRules.Problem("a\nb", new TextRule(TextKind.Line, 100)), StringComparison.Ordinal);
        Assert.Null(TextRules.Problem("a\tb", new TextRule(TextKind.Line, 100)));
        Assert.Contains("tab", TextRules.Problem("a\tb", new TextRule(TextKind.Name, 100)), StringComparison.Ordinal);
        Assert.Contains("U+200B", TextRules.Problem("ad\u200Bmin", new TextRule(TextKind.Name, 100)), StringComparison.Ordinal);
        Assert.Null(TextRules.Problem("emoji 🚀 and ümlauts", new TextRule(TextKind.Name, 100)));
    }

    [Fact]
    public void Lengths_are_capped_by_field()
    {
        Assert.Contains("the limit is 500", TextRules.Problem(new string('a', 501), TextRules.For("image")), StringComparison.Ordinal);
        Assert.Equal(TextKind.Name, TextRules.For("name").Kind);
        Assert.Equal(TextRules.TextLength, TextRules.For("anything-else").MaxLength);
    }

    [Fact]
    public void Check_names_each_problem_by_its_path_and_refuses_null_items()
    {
        var request = new Request("ok", [new File("a\0.yml", "x")], [null], null);

        var problems = TextRules.Check(request);

        Assert.Contains(problems, p => p.Field == "files[0].name" && p.Reason.Contains("NUL", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Field == "profiles[0]" && p.Reason == TextRules.NotNull);
        Assert.DoesNotContain(problems, p => p.Field == "env");
    }

    [Fact]
    public void Dictionary_values_take_the_rule_of_their_dictionary_not_of_their_key()
    {
        // A label named "name" holds free text, not a name.
        var problems = TextRules.Check(new Labelled(new Dictionary<string, string> { ["name"] = "two\nlines", ["bad\u202Ekey"] = "x" }));

        Assert.DoesNotContain(problems, p => p.Field == "labels.name");
        Assert.Contains(problems, p => p.Field == "labels.bad\\u202Ekey" && p.Reason.StartsWith("the key", StringComparison.Ordinal));
    }

    private sealed record File(string? Name, string? Content);

    private sealed record Request(string? Name, IReadOnlyList<File>? Files, IReadOnlyList<string?>? Profiles, string? Env);

    private sealed record Labelled(IReadOnlyDictionary<string, string> Labels);
}

/// <summary>What an import refuses, a PUT must refuse too: the rules are the plan's, not the reader's.</summary>
public sealed class PlanValidationParityTests
{
    private static readonly ServiceSpec Web = new() { Name = "web", Image = "nginx", Resources = new ResourceLimits(MemorySize.Parse("64m"), null, null, CpuShare.Parse("0.5")) };

    private static List<string> Errors(ServiceSpec service) =>
        PlanValidation.Validate(new PlanSpec([new PhaseSpec { Name = "core", Services = [service] }])).Where(i => i.Severity == Severity.Error).Select(i => i.ToString()).ToList();

    [Fact]
    public void A_negative_ulimit_is_refused() =>
        Assert.Contains(Errors(Web with { Ulimits = new Dictionary<string, Ulimit> { ["nofile"] = new(-5, -5) } }), e => e.Contains("ulimits.nofile", StringComparison.Ordinal));

    [Fact]
    public void A_soft_ulimit_above_its_hard_one_is_refused() =>
        Assert.Contains(Errors(Web with { Ulimits = new Dictionary<string, Ulimit> { ["nofile"] = new(10, 5) } }), e => e.Contains("soft 10 is above hard 5", StringComparison.Ordinal));

    [Fact]
    public void A_gate_kind_that_does_not_exist_is_refused() =>
        Assert.Contains(Errors(Web with { Gates = [new GateSpec { Kind = (GateKind)99 }] }), e => e.Contains("gates[0].kind: 99 is not one of", StringComparison.Ordinal));

    [Fact]
    public void A_null_command_word_is_refused() =>
        Assert.Contains(Errors(Web with { Command = [null!] }), e => e.Contains("command[0]: must not be null", StringComparison.Ordinal));

    [Fact]
    public void A_nul_byte_in_an_environment_value_is_refused_naming_the_variable() =>
        Assert.Contains(Errors(Web with { Environment = new Dictionary<string, string> { ["GREETING"] = "hi\0" } }), e => e.Contains("environment.GREETING: contains a NUL", StringComparison.Ordinal));

    [Fact]
    public void A_bidi_override_in_a_phase_name_is_refused()
    {
        var errors = PlanValidation.Validate(new PlanSpec([new PhaseSpec { Name = "core\u202E", Services = [Web] }])).Where(i => i.Severity == Severity.Error).ToList();

        var error = Assert.Single(errors);
        Assert.Contains("name: contains the bidirectional control U+202E", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\u202E', error.ToString());
    }

    [Theory]
    [InlineData(0, 80)]
    [InlineData(70000, 80)]
    public void A_port_out_of_range_is_refused(int container, int host) =>
        Assert.Contains(Errors(Web with { Ports = [new PortMapping(container, host)] }), e => e.Contains("ports are from 1 to 65535", StringComparison.Ordinal));

    [Fact]
    public void A_health_check_test_of_the_wrong_shape_is_refused() =>
        Assert.Contains(Errors(Web with { HealthCheck = new HealthCheck(["curl", "x"], TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1), 3, TimeSpan.Zero) }), e => e.Contains("health check test", StringComparison.Ordinal));

    [Fact]
    public void An_image_longer_than_its_column_is_refused() =>
        Assert.Contains(Errors(Web with { Image = new string('a', 501) }), e => e.Contains("image: is 501 characters long", StringComparison.Ordinal));

    [Fact]
    public void A_list_of_more_than_a_thousand_items_is_refused() =>
        Assert.Contains(Errors(Web with { Labels = Enumerable.Range(0, 1001).ToDictionary(i => $"l{i}", _ => "") }), e => e.Contains("labels has 1,001 entries", StringComparison.Ordinal));

    [Fact]
    public void A_plan_whose_text_is_over_the_total_limit_is_refused()
    {
        var big = new string('x', 60_000);
        var services = Enumerable.Range(0, 20).Select(i => Web with { Name = $"s{i}", Environment = new Dictionary<string, string> { ["A"] = big } }).ToList();

        var errors = PlanValidation.Validate(new PlanSpec([new PhaseSpec { Name = "core", Services = services }])).Where(i => i.Severity == Severity.Error);

        Assert.Contains(errors, e => e.Message.Contains("characters of text; the limit is", StringComparison.Ordinal));
    }
}
