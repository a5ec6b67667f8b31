using System.Text;
using DeployDeck.Compose.Yaml;

namespace DeployDeck.Compose.Tests;

/// <summary>
/// Inputs that once took Web down or filled its memory: deep nesting overflowed the reader's recursion, and aliases
/// or variables multiplied large strings. Each runs on a thread with a 256 KiB stack (Web's request threads have
/// 1.5 MB), so a recursion that is not bounded fails the test by crashing it, and measures what the import allocated.
/// </summary>
public sealed class HostileYamlTests
{
    private const string FileName = "compose.yaml";

    /// <summary>A refused import allocates at most this much: proof that nothing was expanded before the refusal.</summary>
    private const long AllocationBound = 64L * 1024 * 1024;

    internal static (Exception? Error, long Allocated) OnSmallStack(Action action, int stackBytes = 256 * 1024)
    {
        Exception? error = null;
        long allocated = 0;
        var thread = new Thread(() =>
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                action();
            }
            catch (Exception e)
            {
                error = e;
            }

            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }, stackBytes);
        thread.Start();
        thread.Join();
        return (error, allocated);
    }

    private static string Refused(string yaml, string? env = null)
    {
        var request = new ComposeImportRequest([new ComposeSource(FileName, yaml)], env);
        var (error, allocated) = OnSmallStack(() => PlanImport.FromCompose(request));
        var refusal = Assert.IsType<ComposeException>(error);
        Assert.True(allocated < AllocationBound, $"the refused import allocated {allocated / 1024 / 1024} MB");
        return refusal.Message;
    }

    private static string Service(string extra) => $"services:\n  web:\n    image: nginx\n{extra}";

    [Fact]
    public void A_thousand_nested_mappings_are_refused_naming_the_depth_limit()
    {
        var deep = new StringBuilder("    x-deep: ");
        for (var i = 0; i < 1000; i++)
            deep.Append("{a: ");
        deep.Append('1').Append('}', 1000).Append('\n');
        Assert.True(deep.Length < 6 * 1024, "the case is a 5 KB file");

        var message = Refused(Service(deep.ToString()));

        Assert.Contains($"nested more than {YamlReader.MaxDepth} levels", message, StringComparison.Ordinal);
        Assert.Contains($"{FileName} line 4", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Three_thousand_nested_sequences_are_refused_naming_the_depth_limit()
    {
        var message = Refused(Service("    command: " + new string('[', 3000) + new string(']', 3000) + "\n"));

        Assert.Contains($"nested more than {YamlReader.MaxDepth} levels", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_hundred_thousand_nested_sequences_in_a_large_file_are_refused_as_fast()
    {
        var message = Refused(Service("    command: " + new string('[', 100_000) + new string(']', 100_000) + "\n"));

        Assert.Contains("nested more than", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Nesting_just_under_the_limit_is_read()
    {
        // services(1) web(2) x-deep(3) and the value's own levels: the file's deepest scalar is at MaxDepth.
        var levels = YamlReader.MaxDepth - 4;
        var deep = "    x-deep: " + string.Concat(Enumerable.Repeat("{a: ", levels)) + "1" + new string('}', levels) + "\n";

        var (error, _) = OnSmallStack(() => ComposeImporter.Read(new ComposeImportRequest([new ComposeSource(FileName, Service(deep))])));

        Assert.Null(error);
    }

    [Fact]
    public void Aliases_that_graft_deep_anchors_into_deep_places_are_refused_by_their_expanded_depth()
    {
        // Each anchor is 40 levels deep and aliases the previous one at its bottom: 5 × 40 levels once expanded.
        var yaml = new StringBuilder(Service(""));
        yaml.Append("x-l0: &l0 ").Append('[', 40).Append('1').Append(']', 40).Append('\n');
        for (var i = 1; i <= 5; i++)
            yaml.Append($"x-l{i}: &l{i} ").Append('[', 40).Append($"*l{i - 1}").Append(']', 40).Append('\n');

        var message = Refused(yaml.ToString());

        Assert.Contains("nested more than", message, StringComparison.Ordinal);
        Assert.Contains("aliases expanded", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_large_string_multiplied_by_aliases_is_refused_by_its_expanded_size()
    {
        // 114 KB of text: 100 000 characters, aliased 10 × 10 × 10 times = 1 000 000 000 characters once expanded,
        // with only a few hundred nodes (the node limit alone let it through: 488 MB of spec, 2 GB peak).
        var yaml = new StringBuilder(Service(""));
        yaml.Append("x-big: &big \"").Append('A', 100_000).Append("\"\n");
        yaml.Append("x-l1: &l1 [").Append(string.Join(", ", Enumerable.Repeat("*big", 10))).Append("]\n");
        yaml.Append("x-l2: &l2 [").Append(string.Join(", ", Enumerable.Repeat("*l1", 10))).Append("]\n");
        yaml.Append("x-l3: &l3 [").Append(string.Join(", ", Enumerable.Repeat("*l2", 10))).Append("]\n");

        var message = Refused(yaml.ToString());

        Assert.Contains("Mi characters", message, StringComparison.Ordinal);
        Assert.Contains("YAML bomb", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_large_variable_used_through_aliases_is_refused_by_the_interpolation_budget()
    {
        // 60 KB of .env and a 1 KB file: one "${BIG}" scalar aliased 200 times in the environment is 12 MB once substituted.
        var env = "BIG=" + new string('B', 60_000) + "\n";
        var yaml = new StringBuilder("x-v: &v \"${BIG}\"\nservices:\n  web:\n    image: nginx\n    environment:\n");
        for (var i = 0; i < 200; i++)
            yaml.Append($"      V{i}: *v\n");

        var message = Refused(yaml.ToString(), env);

        Assert.Contains("interpolation in services.web.environment", message, StringComparison.Ordinal);
        Assert.Contains("Mi characters", message, StringComparison.Ordinal);
    }

    [Fact]
    public void One_scalar_of_many_large_variables_is_refused_while_it_grows()
    {
        var env = "BIG=" + new string('B', 60_000) + "\n";
        var yaml = Service("    command: \"" + string.Concat(Enumerable.Repeat("${BIG}", 5000)) + "\"\n");

        var message = Refused(yaml, env);

        Assert.Contains("interpolation in services.web.command", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Defaults_nested_past_the_limit_are_refused()
    {
        var nested = string.Concat(Enumerable.Repeat("${A:-", Interpolation.MaxNesting + 2)) + "x" + new string('}', Interpolation.MaxNesting + 2);

        var message = Refused(Service($"    command: \"{nested}\"\n"));

        Assert.Contains($"nests defaults more than {Interpolation.MaxNesting} levels", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Seventeen_nested_defaults_in_a_command_are_refused()
    {
        var nested = string.Concat(Enumerable.Repeat("${A:-", 17)) + "x" + new string('}', 17);

        var message = Refused(Service($"    command: \"{nested}\"\n"));

        Assert.Contains("nests defaults", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Eighty_thousand_nested_defaults_are_refused_without_overflowing_the_stack()
    {
        var nested = string.Concat(Enumerable.Repeat("${A:-", 80_000)) + "x" + new string('}', 80_000);

        var message = Refused(Service($"    command: \"{nested}\"\n"));

        Assert.Contains("nests defaults", message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_invalid_interpolation_message_quotes_only_the_start_of_a_long_value()
    {
        var message = Refused(Service("    command: \"${" + new string('x', 10_000) + "\"\n"));

        Assert.True(message.Length < 400, message);
    }

    [Fact]
    public void Nested_defaults_within_the_limit_still_work()
    {
        var interpolation = new Interpolation(new Dictionary<string, string>());
        var nested = string.Concat(Enumerable.Repeat("${A:-", Interpolation.MaxNesting)) + "x" + new string('}', Interpolation.MaxNesting);

        Assert.Equal("x", interpolation.Substitute(nested, "services.web.command"));
    }
}
