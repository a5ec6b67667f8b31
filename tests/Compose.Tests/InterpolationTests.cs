using DeployDeck.Domain.Plans;

namespace DeployDeck.Compose.Tests;

public sealed class InterpolationTests
{
    private static readonly Dictionary<string, string> Variables = new(StringComparer.Ordinal)
    {
        ["HOST"] = "db",
        ["PORT"] = "5432",
        ["SET"] = "x",
        ["EMPTY"] = "",
    };

    private static string Substitute(string text) => new Interpolation(Variables).Substitute(text, "services.web.image");

    private static ComposeModel Read(string yaml, string? env = null) => ComposeImporter.Read(new ComposeImportRequest([new ComposeSource("compose.yaml", yaml)], env));

    private static ImportedService Web(ComposeModel model)
    {
        Assert.False(model.HasErrors, string.Join(" | ", model.Issues));
        return Assert.Single(model.Services, s => s.Spec.Name == "web");
    }

    [Fact]
    public void Dollar_names_and_braced_names_are_replaced()
    {
        Assert.Equal("postgres://db:5432/app", Substitute("postgres://$HOST:${PORT}/app"));
    }

    [Fact]
    public void A_bare_name_ends_at_the_first_character_that_cannot_be_in_a_name()
    {
        Assert.Equal("db-5432.local", Substitute("$HOST-$PORT.local"));
    }

    [Theory]
    [InlineData("${SET:-d}", "x")]
    [InlineData("${SET-d}", "x")]
    [InlineData("${EMPTY:-d}", "d")]
    [InlineData("${EMPTY-d}", "")]
    [InlineData("${UNSET:-d}", "d")]
    [InlineData("${UNSET-d}", "d")]
    public void A_colon_default_also_replaces_an_empty_value_a_plain_default_only_an_unset_one(string text, string expected)
    {
        Assert.Equal(expected, Substitute(text));
    }

    [Theory]
    [InlineData("${SET:?boom}", "x")]
    [InlineData("${SET?boom}", "x")]
    [InlineData("${EMPTY?boom}", "")]
    public void A_required_variable_with_a_value_is_used(string text, string expected)
    {
        Assert.Equal(expected, Substitute(text));
    }

    [Theory]
    [InlineData("${EMPTY:?boom}", "EMPTY")]
    [InlineData("${UNSET:?boom}", "UNSET")]
    [InlineData("${UNSET?boom}", "UNSET")]
    public void A_required_variable_without_a_value_is_refused_with_its_name_and_message(string text, string name)
    {
        var e = Assert.Throws<ComposeException>(() => Substitute(text));

        Assert.Contains($"variable {name}", e.Message, StringComparison.Ordinal);
        Assert.Contains("boom", e.Message, StringComparison.Ordinal);
        Assert.Contains("services.web.image", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("${SET:+alt}", "alt")]
    [InlineData("${EMPTY:+alt}", "")]
    [InlineData("${UNSET:+alt}", "")]
    [InlineData("${SET+alt}", "alt")]
    [InlineData("${EMPTY+alt}", "alt")]
    [InlineData("${UNSET+alt}", "")]
    public void An_alternative_replaces_a_value_that_is_there(string text, string expected)
    {
        Assert.Equal(expected, Substitute(text));
    }

    [Fact]
    public void A_default_may_itself_hold_a_variable()
    {
        Assert.Equal("db", Substitute("${UNSET:-$HOST}"));
    }

    [Fact]
    public void A_default_may_itself_hold_a_braced_variable()
    {
        Assert.Equal("db", Substitute("${UNSET:-${HOST}}"));
    }

    [Fact]
    public void A_double_dollar_is_a_literal_dollar_and_is_not_interpolated()
    {
        var interpolation = new Interpolation(Variables);

        Assert.Equal("echo $HOST ${PORT} costs 5$", interpolation.Substitute("echo $$HOST $${PORT} costs 5$$", "services.web.command"));
        Assert.Empty(interpolation.Unset);
    }

    [Theory]
    [InlineData("price: $ 5")]
    [InlineData("${")]
    [InlineData("${HOST")]
    [InlineData("${}")]
    [InlineData("5$")]
    [InlineData("$1")]
    public void A_dollar_that_starts_no_variable_is_refused_telling_to_write_two(string text)
    {
        var e = Assert.Throws<ComposeException>(() => Substitute(text));

        Assert.Contains("$$", e.Message, StringComparison.Ordinal);
        Assert.Contains("services.web.image", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unset_variable_becomes_empty_with_a_warning_naming_it()
    {
        var model = Read("services:\n  web:\n    image: \"nginx:${TAG}\"\n    command: echo $GREETING\n");

        Assert.Equal("nginx:", Web(model).Spec.Image);
        Assert.Contains(model.Issues, i => i.Severity == Severity.Warning && i.Message.Contains("variable TAG", StringComparison.Ordinal));
        Assert.Contains(model.Issues, i => i.Severity == Severity.Warning && i.Message.Contains("variable GREETING", StringComparison.Ordinal));
    }

    [Fact]
    public void A_variable_with_a_default_raises_no_warning()
    {
        var model = Read("services:\n  web:\n    image: \"nginx:${TAG:-1.27}\"\n");

        Assert.Equal("nginx:1.27", Web(model).Spec.Image);
        Assert.DoesNotContain(model.Issues, i => i.Message.Contains("TAG", StringComparison.Ordinal));
    }

    [Fact]
    public void Variables_come_from_the_env_content_only_not_the_process_environment()
    {
        Assert.False(string.IsNullOrEmpty(Environment.GetEnvironmentVariable("PATH")));

        var model = Read("services:\n  web:\n    image: nginx\n    environment:\n      SEARCH: \"${PATH}\"\n      TAG: \"$TAG\"\n", env: "TAG=1.27\n");

        var web = Web(model);
        Assert.Equal("", web.Spec.Environment["SEARCH"]);
        Assert.Equal("1.27", web.Spec.Environment["TAG"]);
        Assert.Contains(model.Issues, i => i.Severity == Severity.Warning && i.Message.Contains("variable PATH", StringComparison.Ordinal));
    }

    [Fact]
    public void The_env_file_skips_comments_and_blank_lines_and_reads_export_and_quotes()
    {
        const string env = """
            # database settings

            DB_HOST=db
              export DB_USER=app
            DB_PASS="s3cr3t # not a comment"
            DB_NAME='app db'
            DB_PORT=5432 # the default port
            DB_OPTS=a#b
            EMPTY=
            URL=http://x?a=b
            """;

        var variables = EnvFile.Parse(env);

        Assert.Equal(
            new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["DB_HOST"] = "db",
                ["DB_USER"] = "app",
                ["DB_PASS"] = "s3cr3t # not a comment",
                ["DB_NAME"] = "app db",
                ["DB_PORT"] = "5432",
                ["DB_OPTS"] = "a#b",
                ["EMPTY"] = "",
                ["URL"] = "http://x?a=b",
            },
            variables);
    }

    [Fact]
    public void The_env_file_drops_an_inline_comment_after_a_quoted_value()
    {
        var variables = EnvFile.Parse("GREETING=\"hello world\" # said at start\nNAME='ann' # owner\n");

        Assert.Equal("hello world", variables["GREETING"]);
        Assert.Equal("ann", variables["NAME"]);
    }

    [Fact]
    public void The_env_file_accepts_windows_line_endings()
    {
        var variables = EnvFile.Parse("A=1\r\nB=2\r\n");

        Assert.Equal("1", variables["A"]);
        Assert.Equal("2", variables["B"]);
    }

    [Fact]
    public void An_environment_entry_without_a_value_takes_it_from_the_env_or_is_left_out_with_a_warning()
    {
        var model = Read("services:\n  web:\n    image: nginx\n    environment:\n      - FOO\n      - BAR\n      - BAZ=3\n", env: "FOO=from-env\n");

        var environment = Web(model).Spec.Environment;
        Assert.Equal("from-env", environment["FOO"]);
        Assert.DoesNotContain("BAR", environment);
        Assert.Equal("3", environment["BAZ"]);
        Assert.Contains(model.Issues, i => i.Severity == Severity.Warning && i.Service == "web" && i.Message.Contains("BAR", StringComparison.Ordinal));
        Assert.DoesNotContain(model.Issues, i => i.Message.Contains("FOO", StringComparison.Ordinal));
    }

    [Fact]
    public void An_environment_mapping_key_without_a_value_behaves_like_a_list_entry()
    {
        var model = Read("services:\n  web:\n    image: nginx\n    environment:\n      FOO:\n      BAR:\n", env: "FOO=from-env\n");

        var environment = Web(model).Spec.Environment;
        Assert.Equal("from-env", environment["FOO"]);
        Assert.DoesNotContain("BAR", environment);
        Assert.Contains(model.Issues, i => i.Severity == Severity.Warning && i.Message.Contains("BAR", StringComparison.Ordinal));
    }
}
