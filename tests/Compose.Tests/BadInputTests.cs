using System.Text;
using DeployDeck.Domain.Plans;

namespace DeployDeck.Compose.Tests;

public sealed class BadInputTests
{
    private const string FileName = "compose.yaml";

    private static ComposeImportRequest Request(string yaml, string? env = null, IReadOnlyList<string>? profiles = null) =>
        new([new ComposeSource(FileName, yaml)], env, profiles);

    private static string Refused(ComposeImportRequest request)
    {
        var exception = Assert.Throws<ComposeException>(() => ComposeImporter.Read(request));
        Assert.Throws<ComposeException>(() => PlanImport.FromCompose(request));
        return exception.Message;
    }

    private static PlanIssue RefusedWithError(ComposeImportRequest request, params string[] named)
    {
        var result = PlanImport.FromCompose(request);
        Assert.Null(result.Plan);
        var errors = result.Errors.ToList();
        var error = errors.FirstOrDefault(e => named.All(n => e.ToString().Contains(n, StringComparison.Ordinal)));
        Assert.True(error is not null, $"no error names {string.Join(", ", named)}; errors: {string.Join(" | ", errors)}");
        return error;
    }

    private static string Services(params string[] names)
    {
        var yaml = new StringBuilder("services:\n");
        foreach (var name in names)
            yaml.Append($"  {name}:\n    image: busybox\n");
        return yaml.ToString();
    }

    [Fact]
    public void A_valid_minimal_file_imports_without_errors()
    {
        var request = Request("services:\n  web:\n    image: nginx:1.27\n    mem_limit: 256m\n    cpus: 0.5\n");

        var model = ComposeImporter.Read(request);
        var result = PlanImport.FromCompose(request);

        Assert.False(model.HasErrors, string.Join(" | ", model.Issues));
        Assert.Empty(result.Errors);
        Assert.NotNull(result.Plan);
        var web = Assert.Single(result.Plan.AllServices);
        Assert.Equal("nginx:1.27", web.Image);
    }

    [Fact]
    public void Malformed_yaml_with_an_unclosed_flow_mapping_names_the_file_line_and_column()
    {
        var message = Refused(Request("services:\n  web:\n    image: nginx\n    labels: {a: b\n"));

        Assert.Contains($"{FileName} line 5, column 1", message, StringComparison.Ordinal);
        Assert.Contains("flow mapping", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("services:\n  web:\n    labels: {a: b, c: d\n    image: nginx\n")]
    [InlineData("services:\n  web:\n    ports: [\"80\"\n    image: nginx\n")]
    [InlineData("services:\n  web:\n    image: nginx\n    labels: {a: b\n  db:\n    image: postgres\n")]
    public void Malformed_yaml_with_an_unclosed_flow_collection_before_more_keys_names_the_file_line_and_column(string yaml)
    {
        var message = Refused(Request(yaml));

        Assert.Contains(FileName, message, StringComparison.Ordinal);
        Assert.Matches(@"line \d+, column \d+", message);
    }

    [Fact]
    public void Malformed_yaml_with_bad_indentation_names_the_file_line_and_column()
    {
        var message = Refused(Request("services:\n  web:\n    image: nginx\n   ports:\n      - \"80\"\n"));

        Assert.Contains(FileName, message, StringComparison.Ordinal);
        Assert.Contains("line 4, column", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_duplicate_key_names_the_key_and_its_line()
    {
        var message = Refused(Request("services:\n  web:\n    image: nginx\n    image: redis\n"));

        Assert.Contains("duplicate key 'image'", message, StringComparison.Ordinal);
        Assert.Contains($"{FileName} line 4", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_dependency_on_an_unknown_service_names_both_services()
    {
        var error = RefusedWithError(Request("services:\n  web:\n    image: nginx\n    depends_on: [db]\n"), "db");

        Assert.Equal("web", error.Service);
        Assert.Contains("'db'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_dependency_cycle_is_refused_and_the_message_lists_the_cycle()
    {
        const string yaml = """
            services:
              alpha:
                image: busybox
                depends_on: [beta]
              beta:
                image: busybox
                depends_on: [gamma]
              gamma:
                image: busybox
                depends_on: [alpha]
            """;

        var error = RefusedWithError(Request(yaml), "dependency cycle");

        Assert.Contains("alpha → beta", error.Message, StringComparison.Ordinal);
        Assert.Contains("beta → gamma", error.Message, StringComparison.Ordinal);
        Assert.Contains("gamma → alpha", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_same_service_in_two_phases_is_refused_by_plan_validation()
    {
        var web = new ServiceSpec { Name = "web", Image = "nginx" };
        var plan = new PlanSpec([new PhaseSpec { Name = "core", Services = [web] }, new PhaseSpec { Name = "business", Services = [web] }]);

        var issues = PlanValidation.Validate(plan);

        var error = Assert.Single(issues, i => i.Severity == Severity.Error);
        Assert.Equal("web", error.Service);
        Assert.Equal("business", error.Phase);
        Assert.Contains("used twice", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-5g")]
    [InlineData("12XB")]
    [InlineData("1e400")]
    public void An_impossible_memory_size_names_mem_limit_and_the_value(string size)
    {
        RefusedWithError(Request($"services:\n  web:\n    image: nginx\n    mem_limit: {size}\n"), "mem_limit", $"'{size}'");
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    public void A_cpu_count_of_zero_or_less_names_cpus(string cpus)
    {
        RefusedWithError(Request($"services:\n  web:\n    image: nginx\n    cpus: {cpus}\n"), "cpus", $"'{cpus}'");
    }

    [Fact]
    public void A_healthcheck_interval_that_is_not_a_duration_names_the_key_and_the_value()
    {
        const string yaml = """
            services:
              web:
                image: nginx
                healthcheck:
                  test: ["CMD", "true"]
                  interval: 5 parsecs
            """;

        RefusedWithError(Request(yaml), "healthcheck.interval", "5 parsecs");
    }

    [Fact]
    public void A_missing_required_variable_names_the_variable_and_its_message()
    {
        var message = Refused(Request("services:\n  web:\n    image: \"nginx:${X:?must be set}\"\n"));

        Assert.Contains("variable X", message, StringComparison.Ordinal);
        Assert.Contains("must be set", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_over_the_size_limit_is_refused_naming_the_limit()
    {
        var yaml = "services:\n  web:\n    image: nginx\n" + new string('#', ComposeImporter.MaxFileBytes) + "\n";

        var message = Refused(Request(yaml));

        Assert.Contains(FileName, message, StringComparison.Ordinal);
        Assert.Contains($"the limit is {ComposeImporter.MaxFileBytes / 1024:N0} KiB", message, StringComparison.Ordinal);
    }

    [Fact]
    public void More_services_than_the_plan_limit_are_refused()
    {
        var names = Enumerable.Range(1, PlanValidation.MaxServices + 1).Select(i => $"svc{i}").ToArray();

        var message = Refused(Request(Services(names)));

        Assert.Contains($"{PlanValidation.MaxServices + 1} services", message, StringComparison.Ordinal);
        Assert.Contains($"the limit is {PlanValidation.MaxServices}", message, StringComparison.Ordinal);
    }

    [Fact]
    public void More_files_than_the_limit_are_refused()
    {
        var files = Enumerable.Range(1, ComposeImporter.MaxFiles + 1).Select(i => new ComposeSource($"compose.{i}.yaml", Services("web"))).ToList();

        var message = Refused(new ComposeImportRequest(files));

        Assert.Contains($"{ComposeImporter.MaxFiles + 1} files", message, StringComparison.Ordinal);
        Assert.Contains($"the limit is {ComposeImporter.MaxFiles}", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_yaml_bomb_is_refused_without_expanding_it()
    {
        var yaml = new StringBuilder("services:\n  web:\n    image: nginx\n");
        yaml.Append("l0: &l0 [").Append(string.Join(", ", Enumerable.Repeat("\"lol\"", 9))).Append("]\n");
        for (var level = 1; level <= 9; level++)
            yaml.Append($"l{level}: &l{level} [").Append(string.Join(", ", Enumerable.Repeat($"*l{level - 1}", 9))).Append("]\n");

        var message = Refused(Request(yaml.ToString()));

        Assert.Contains("YAML bomb", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_memory_reservation_above_the_limit_is_refused()
    {
        RefusedWithError(Request("services:\n  web:\n    image: nginx\n    mem_limit: 512m\n    mem_reservation: 1g\n"), "web", "reservation", "limit");
    }

    [Fact]
    public void A_service_with_neither_image_nor_build_is_refused()
    {
        RefusedWithError(Request("services:\n  worker:\n    command: echo hi\n"), "worker", "neither image nor build");
    }

    [Fact]
    public void Services_written_as_a_list_are_refused()
    {
        var message = Refused(Request("services:\n  - web\n  - db\n"));

        Assert.Contains("'services' must be a mapping", message, StringComparison.Ordinal);
        Assert.Contains($"{FileName} line 2", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_service_written_as_a_string_is_refused()
    {
        var message = Refused(Request("services:\n  web: nginx\n"));

        Assert.Contains("service 'web' must be a mapping", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("99999:80", "99999")]
    [InlineData("abc", "abc")]
    public void An_invalid_port_names_the_port(string port, string culprit)
    {
        RefusedWithError(Request($"services:\n  web:\n    image: nginx\n    ports:\n      - \"{port}\"\n"), "ports", $"'{port}'", $"'{culprit}'");
    }

    [Fact]
    public void A_dependency_on_a_service_of_a_profile_not_chosen_names_the_profile()
    {
        const string yaml = """
            services:
              web:
                image: nginx
                depends_on: [debugger]
              debugger:
                image: busybox
                profiles: [troubleshooting]
            """;

        var error = RefusedWithError(Request(yaml), "'debugger'", "troubleshooting");

        Assert.Equal("web", error.Service);
    }

    [Fact]
    public void An_unknown_restart_policy_names_the_value()
    {
        RefusedWithError(Request("services:\n  web:\n    image: nginx\n    restart: sometimes\n"), "restart", "'sometimes'");
    }

    [Fact]
    public void An_env_line_without_equals_names_the_line_number()
    {
        var message = Refused(Request("services:\n  web:\n    image: nginx\n", env: "A=1\n\nJUST_A_KEY\n"));

        Assert.Contains(".env line 3", message, StringComparison.Ordinal);
        Assert.Contains("JUST_A_KEY", message, StringComparison.Ordinal);
    }
}
