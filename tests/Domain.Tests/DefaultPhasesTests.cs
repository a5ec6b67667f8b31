using DeployDeck.Domain.Plans;

namespace DeployDeck.Domain.Tests;

public sealed class DefaultPhasesTests
{
    private static PhaseCandidate C(string name, string image, string? phase = null, params string[] deps) =>
        new(new ServiceSpec { Name = name, Image = image, DependsOn = deps.Select(d => new ServiceDependency(d)).ToList() }, phase);

    private static Dictionary<string, string> PhaseOf(PlanSpec plan) =>
        plan.Phases.SelectMany(p => p.Services.Select(s => (p.Name, s.Name))).ToDictionary(x => x.Item2, x => x.Item1);

    [Theory]
    [InlineData("postgres:16-alpine", "core")]
    [InlineData("docker.io/library/redis:7", "core")]
    [InlineData("bitnami/rabbitmq:3.13", "core")]
    [InlineData("traefik:v3.1", "core")]
    [InlineData("mcr.microsoft.com/mssql/server:2022-latest", "core")]
    [InlineData("prom/prometheus:v2.53.0", "observability")]
    [InlineData("docker.elastic.co/elasticsearch/elasticsearch:8.14.1", "observability")]
    [InlineData("prometheuscommunity/postgres-exporter", "observability")]
    [InlineData("jaegertracing/all-in-one:1.57", "observability")]
    [InlineData("grafana/grafana@sha256:0123", "observability")]
    [InlineData("acme/billing:2", null)]
    public void Well_known_images_decide_the_phase(string image, string? phase) =>
        Assert.Equal(phase, DefaultPhases.ByImage(image));

    [Theory]
    [InlineData("api", "core")]
    [InlineData("auth-service", "business")]
    [InlineData("nightly_etl", "analytics")]
    [InlineData("mobile-api", "advanced")]
    [InlineData("worker.reminders", "advanced")]
    [InlineData("checkout", null)]
    public void Words_of_the_service_name_decide_the_phase_the_latest_winning(string name, string? phase) =>
        Assert.Equal(phase, DefaultPhases.ByName(name));

    [Fact]
    public void The_rest_goes_one_phase_after_what_it_depends_on_between_business_and_advanced()
    {
        var (plan, issues) = DefaultPhases.Assign([
            C("db", "postgres:16"),
            C("checkout", "acme/checkout", null, "db"),
            C("fulfilment", "acme/fulfilment", null, "checkout"),
            C("invoicing", "acme/invoicing", null, "fulfilment"),
            C("archiving", "acme/archiving", null, "invoicing"),
            C("lonely", "acme/lonely"),
            C("grafana", "grafana/grafana", null, "db"),
        ]);

        var phase = PhaseOf(plan);
        Assert.Equal("core", phase["db"]);
        Assert.Equal("business", phase["checkout"]);
        Assert.Equal("analytics", phase["fulfilment"]);
        Assert.Equal("advanced", phase["invoicing"]);
        Assert.Equal("advanced", phase["archiving"]);
        Assert.Equal("business", phase["lonely"]);
        Assert.Equal("observability", phase["grafana"]);
        Assert.Empty(issues);
        Assert.Equal(["core", "business", "analytics", "advanced", "observability"], plan.Phases.Select(p => p.Name));
    }

    [Fact]
    public void A_label_wins_over_every_rule_and_a_custom_phase_comes_before_observability()
    {
        var (plan, _) = DefaultPhases.Assign([C("db", "postgres:16", "analytics"), C("batch", "acme/batch", "nightly"), C("prometheus", "prom/prometheus")]);
        Assert.Equal("analytics", PhaseOf(plan)["db"]);
        Assert.Equal(["analytics", "nightly", "observability"], plan.Phases.Select(p => p.Name));
    }

    [Fact]
    public void A_gateway_in_core_pulls_the_api_it_depends_on_into_core_and_says_so()
    {
        var (plan, issues) = DefaultPhases.Assign([C("db", "postgres:16"), C("orders", "acme/orders", null, "db"), C("edge", "nginx:1.27", null, "orders")]);
        Assert.Equal("core", PhaseOf(plan)["orders"]);
        var moved = Assert.Single(issues);
        Assert.Equal(Severity.Warning, moved.Severity);
        Assert.Contains("moved 'orders' from business to core: 'edge' (core) depends on it", moved.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(PlanValidation.Validate(plan), i => i.Severity == Severity.Error);
    }

    [Fact]
    public void A_labelled_dependency_pushes_an_unlabelled_dependent_later()
    {
        var (plan, issues) = DefaultPhases.Assign([C("search", "acme/search", "advanced"), C("api", "acme/api", null, "search")]);
        Assert.Equal("advanced", PhaseOf(plan)["api"]);
        Assert.Contains(issues, i => i.Message.Contains("moved 'api' from core to advanced", StringComparison.Ordinal));
    }

    [Fact]
    public void Two_labels_that_make_a_dependency_point_forward_are_refused_naming_the_edge()
    {
        var (_, issues) = DefaultPhases.Assign([C("api", "acme/api", "core", "search"), C("search", "acme/search", "analytics")]);
        var error = Assert.Single(issues, i => i.Severity == Severity.Error);
        Assert.Equal("api", error.Service);
        Assert.Contains("depends on 'search' in the later phase analytics", error.Message, StringComparison.Ordinal);
    }
}

public sealed class PlanRulesTests
{
    private static ServiceSpec S(string name, string limit, params string[] deps) => new()
    {
        Name = name,
        Image = "probe",
        Resources = new ResourceLimits(Units.MemorySize.Parse(limit), Units.MemorySize.Parse(limit) - Units.MemorySize.FromMebibytes(1), null, Units.CpuShare.Parse("0.5")),
        DependsOn = deps.Select(d => new ServiceDependency(d)).ToList(),
        Environment = new Dictionary<string, string> { ["DB_PASSWORD"] = "hunter2", ["LOG_LEVEL"] = "info" },
    };

    [Fact]
    public void Budgets_sum_each_phase_and_carry_the_running_total()
    {
        var plan = new PlanSpec([
            new PhaseSpec { Name = "core", MemoryBudget = Units.MemorySize.Parse("1g"), Services = [S("db", "512m"), S("api", "256m")] },
            new PhaseSpec { Name = "business", Services = [S("auth", "128m")] },
        ], Units.MemorySize.Parse("3g"));

        var budgets = PlanBudgets.Of(plan);
        Assert.Equal(Units.MemorySize.Parse("768m"), budgets.Phases[0].Limits);
        Assert.Equal(0.75, budgets.Phases[0].Use);
        Assert.Equal(Units.MemorySize.Parse("896m"), budgets.Phases[1].CumulativeLimits);
        Assert.Null(budgets.Phases[1].Use);
        Assert.Equal(1.0, budgets.Phases[0].Cpus.Cores);
        Assert.Equal(Units.MemorySize.Parse("896m"), budgets.Limits);
    }

    [Fact]
    public void Limits_over_a_phase_budget_or_the_stack_budget_are_errors_with_the_figures()
    {
        var issues = PlanValidation.Validate(new PlanSpec(
            [new PhaseSpec { Name = "core", MemoryBudget = Units.MemorySize.Parse("512m"), Services = [S("db", "512m"), S("api", "256m")] }],
            Units.MemorySize.Parse("600m")));
        Assert.Contains(issues, i => i.Severity == Severity.Error && i.Phase == "core" && i.Message.Contains("768 MB, over the phase budget of 512 MB", StringComparison.Ordinal));
        Assert.Contains(issues, i => i.Severity == Severity.Error && i.Message.Contains("over the stack budget of 600 MB", StringComparison.Ordinal));
    }

    [Fact]
    public void A_dependency_cycle_is_found_and_listed_in_order()
    {
        var cycle = PlanValidation.FindCycle([S("a", "64m", "b"), S("b", "64m", "c"), S("c", "64m", "a"), S("d", "64m", "a")]);
        Assert.Equal(["a", "b", "c", "a"], cycle);
        Assert.Null(PlanValidation.FindCycle([S("a", "64m", "b"), S("b", "64m")]));
    }

    [Fact]
    public void Diff_names_moves_and_edits_and_never_shows_a_secret()
    {
        var before = new PlanSpec([new PhaseSpec { Name = "core", Services = [S("db", "512m"), S("api", "256m")] }, new PhaseSpec { Name = "business", Services = [] }]);
        var api = before.Phases[0].Services[1];
        var after = new PlanSpec([
            new PhaseSpec { Name = "core", Services = [before.Phases[0].Services[0]] },
            new PhaseSpec
            {
                Name = "business",
                Services = [api with { Environment = new Dictionary<string, string> { ["DB_PASSWORD"] = "correct-horse", ["LOG_LEVEL"] = "debug" } }],
            },
        ]);

        var changes = PlanDiff.Compare(before, after).Select(c => c.ToString()).ToList();
        Assert.Contains("service api: phase core → business", changes);
        Assert.Contains("service api: environment LOG_LEVEL info → debug", changes);
        Assert.Contains($"service api: environment DB_PASSWORD {SecretKeys.Mask} → {SecretKeys.Mask} (changed)", changes);
        Assert.DoesNotContain(changes, c => c.Contains("hunter2", StringComparison.Ordinal) || c.Contains("correct-horse", StringComparison.Ordinal));
        Assert.Empty(PlanDiff.Compare(before, before));
    }

    [Theory]
    [InlineData("POSTGRES_PASSWORD", "x", true)]
    [InlineData("DB_PASS", "x", true)]
    [InlineData("STRIPE_API_KEY", "x", true)]
    [InlineData("ConnectionStrings__Main", "Host=db;Username=app;Password=s3cret", true)]
    [InlineData("DATABASE_URL", "postgres://app:s3cret@db:5432/app", true)]
    [InlineData("DATABASE_URL", "postgres://db:5432/app", false)]
    [InlineData("LOG_LEVEL", "info", false)]
    public void Secrets_are_known_by_key_or_by_a_credential_in_the_value(string key, string value, bool secret) =>
        Assert.Equal(secret, SecretKeys.IsSecret(key, value));

    [Fact]
    public void A_masked_value_sent_back_keeps_the_stored_secret()
    {
        var stored = new Dictionary<string, string> { ["DB_PASSWORD"] = "hunter2" };
        Assert.Equal("hunter2", SecretKeys.Unmask(new Dictionary<string, string> { ["DB_PASSWORD"] = SecretKeys.Mask }, stored)["DB_PASSWORD"]);
        Assert.Equal("new", SecretKeys.Unmask(new Dictionary<string, string> { ["DB_PASSWORD"] = "new" }, stored)["DB_PASSWORD"]);
    }
}

public sealed class GateRulesTests
{
    private static readonly ServiceSpec Service = new() { Name = "api", Image = "x", Resources = new ResourceLimits(Units.MemorySize.Parse("64m"), null, null, null) };

    [Fact]
    public void Valid_gates_have_no_problems_and_describe_themselves()
    {
        GateSpec[] gates =
        [
            new() { Kind = GateKind.Http, Url = "http://127.0.0.1:8080/health" },
            new() { Kind = GateKind.Logs, Pattern = "ERROR|FATAL" },
            new() { Kind = GateKind.Exec, Command = ["pg_isready"] },
            new() { Kind = GateKind.Memory, MaxMemoryPercent = 90 },
        ];
        Assert.All(gates, g => Assert.Empty(g.Problems(Service)));
        Assert.Equal("no log line matching /ERROR|FATAL/ in the last 60 s", gates[1].ToString());
    }

    [Fact]
    public void A_log_pattern_cannot_hang_the_worker()
    {
        var regex = new GateSpec { Kind = GateKind.Logs, Pattern = "(a+)+$" }.Regex();
        Assert.Throws<System.Text.RegularExpressions.RegexMatchTimeoutException>(() => regex.IsMatch(new string('a', 5000) + "!"));
    }

    [Fact]
    public void Gate_problems_are_plan_errors_on_the_service()
    {
        var plan = new PlanSpec([new PhaseSpec { Name = "core", Services = [Service with { Gates = [new GateSpec { Kind = GateKind.Http, Url = "localhost:8080" }] }] }]);
        Assert.Contains(PlanValidation.Validate(plan), i => i.Severity == Severity.Error && i.Service == "api" && i.Message.Contains("not an http://", StringComparison.Ordinal));
    }
}
