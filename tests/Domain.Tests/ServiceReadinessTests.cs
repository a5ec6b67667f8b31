using DeployDeck.Domain.Engine;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Rollouts;
using DeployDeck.Domain.Units;

namespace DeployDeck.Domain.Tests;

public sealed class ServiceReadinessTests
{
    private static readonly HealthCheck Check = new(["CMD", "true"], TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1), 3, TimeSpan.FromSeconds(10));

    private static ServiceSpec Spec(HealthCheck? hc) => new()
    {
        Name = "api",
        Image = "probe",
        HealthCheck = hc,
        Resources = new ResourceLimits(MemorySize.Parse("64m"), null, null, null),
    };

    private static ContainerObservation Seen(string status = "running", HealthStatus health = HealthStatus.None, bool oom = false, int exit = 0) => new()
    {
        Id = "c1",
        Name = "api",
        ImageId = "sha256:1",
        Status = status,
        Running = status == "running",
        Health = health,
        OomKilled = oom,
        ExitCode = exit,
        RestartPolicy = "no",
    };

    [Fact]
    public void Running_service_without_health_check_is_ready_once_it_stayed_up_for_its_monitor_time()
    {
        Assert.Equal(Readiness.Waiting, ServiceReadiness.Evaluate(Spec(null), Seen(), TimeSpan.FromSeconds(1)).Readiness);
        Assert.Equal(Readiness.Ready, ServiceReadiness.Evaluate(Spec(null), Seen(), TimeSpan.FromSeconds(5)).Readiness);
        var patient = Spec(null) with { Update = new UpdateSpec(Monitor: TimeSpan.FromSeconds(20)) };
        Assert.Equal(Readiness.Waiting, ServiceReadiness.Evaluate(patient, Seen(), TimeSpan.FromSeconds(19)).Readiness);
        Assert.Equal(Readiness.Ready, ServiceReadiness.Evaluate(patient, Seen(), TimeSpan.FromSeconds(20)).Readiness);
    }

    [Fact]
    public void A_healthy_container_that_only_just_started_waits_for_its_monitor_time() =>
        Assert.Equal(Readiness.Waiting, ServiceReadiness.Evaluate(Spec(Check), Seen(health: HealthStatus.Healthy), TimeSpan.FromSeconds(2)).Readiness);

    [Fact]
    public void A_container_that_restarted_before_it_was_ready_fails()
    {
        var verdict = ServiceReadiness.Evaluate(Spec(null), Seen() with { RestartCount = 1, ExitCode = 1 }, TimeSpan.FromSeconds(6));
        Assert.Equal(Readiness.Failed, verdict.Readiness);
        Assert.Contains("restarted 1 time(s)", verdict.Reason, StringComparison.Ordinal);
        Assert.Equal(Readiness.Ready, ServiceReadiness.Evaluate(Spec(null), Seen() with { RestartCount = 3 }, TimeSpan.FromSeconds(6), restartsBefore: 3).Readiness);
    }

    [Fact]
    public void Running_service_with_health_check_waits_until_healthy()
    {
        Assert.Equal(Readiness.Waiting, ServiceReadiness.Evaluate(Spec(Check), Seen(health: HealthStatus.Starting), TimeSpan.FromSeconds(5)).Readiness);
        Assert.Equal(Readiness.Ready, ServiceReadiness.Evaluate(Spec(Check), Seen(health: HealthStatus.Healthy), TimeSpan.FromSeconds(5)).Readiness);
    }

    [Fact]
    public void Service_still_starting_after_start_period_plus_retries_times_interval_fails()
    {
        // 10 s start period + 3 × 2 s + 1 s timeout = 17 s
        Assert.Equal(Readiness.Waiting, ServiceReadiness.Evaluate(Spec(Check), Seen(health: HealthStatus.Starting), TimeSpan.FromSeconds(16.9)).Readiness);
        var verdict = ServiceReadiness.Evaluate(Spec(Check), Seen(health: HealthStatus.Starting), TimeSpan.FromSeconds(17.1));
        Assert.Equal(Readiness.Failed, verdict.Readiness);
        Assert.Contains("deadline 17s", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Oom_killed_container_fails_naming_its_limit()
    {
        var verdict = ServiceReadiness.Evaluate(Spec(null), Seen("exited", oom: true, exit: 137), TimeSpan.Zero);
        Assert.Equal(Readiness.Failed, verdict.Readiness);
        Assert.Contains("OOM", verdict.Reason, StringComparison.Ordinal);
        Assert.Contains("64 MB", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Exited_container_fails_with_its_exit_code()
    {
        var verdict = ServiceReadiness.Evaluate(Spec(null), Seen("exited", exit: 3), TimeSpan.Zero);
        Assert.Equal(Readiness.Failed, verdict.Readiness);
        Assert.Contains("exit code 3", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Vanished_container_fails() =>
        Assert.Equal(Readiness.Failed, ServiceReadiness.Evaluate(Spec(null), null, TimeSpan.Zero).Readiness);

    [Fact]
    public void Unhealthy_container_fails() =>
        Assert.Equal(Readiness.Failed, ServiceReadiness.Evaluate(Spec(Check), Seen(health: HealthStatus.Unhealthy), TimeSpan.FromSeconds(1)).Readiness);

    [Fact]
    public void One_shot_service_is_ready_when_it_exited_0_and_fails_on_any_other_code()
    {
        var spec = Spec(null);
        Assert.Equal(Readiness.Waiting, ServiceReadiness.Evaluate(spec, Seen(), TimeSpan.FromSeconds(5), oneShot: true).Readiness);
        Assert.Equal(new ReadinessVerdict(Readiness.Ready, "completed successfully (exit 0)"),
            ServiceReadiness.Evaluate(spec, Seen("exited"), TimeSpan.FromSeconds(5), oneShot: true));
        Assert.Equal(new ReadinessVerdict(Readiness.Failed, "exited with code 2; a one-shot service must exit 0"),
            ServiceReadiness.Evaluate(spec, Seen("exited", exit: 2), TimeSpan.FromSeconds(5), oneShot: true));
        Assert.Equal(Readiness.Failed, ServiceReadiness.Evaluate(spec, Seen("exited", oom: true, exit: 137), TimeSpan.FromSeconds(5), oneShot: true).Readiness);
    }

    [Fact]
    public void A_service_is_one_shot_when_another_waits_for_it_to_complete()
    {
        var plan = new PlanSpec([new PhaseSpec
        {
            Name = "core",
            Services =
            [
                new ServiceSpec { Name = "migrate", Image = "x" },
                new ServiceSpec { Name = "api", Image = "x", DependsOn = [new ServiceDependency("migrate", DependencyCondition.ServiceCompletedSuccessfully), new ServiceDependency("db")] },
                new ServiceSpec { Name = "db", Image = "x" },
            ],
        }]);
        Assert.True(plan.IsOneShot("migrate"));
        Assert.False(plan.IsOneShot("db"));
        Assert.False(plan.IsOneShot("api"));
    }
}

public sealed class SoakCheckTests
{
    private static readonly DeployDeck.Domain.Plans.ServiceSpec Service = new() { Name = "api", Image = "x" };

    private static DeployDeck.Domain.Engine.ContainerObservation C(bool running = true, bool oom = false, int restarts = 0, DeployDeck.Domain.Engine.HealthStatus health = DeployDeck.Domain.Engine.HealthStatus.Healthy) => new()
    {
        Id = "c", Name = "c", ImageId = "i", Status = running ? "running" : "exited", Running = running, OomKilled = oom, RestartCount = restarts,
        Health = health, RestartPolicy = "always", ExitCode = running ? 0 : 137,
    };

    [Fact]
    public void A_service_unchanged_since_the_gates_passes_its_soak() => Assert.Null(DeployDeck.Domain.Rollouts.SoakCheck.Evaluate(Service, C(), C()));

    [Fact]
    public void A_restart_an_oom_a_stop_or_unhealthy_during_soak_fails_it()
    {
        Assert.Contains("restarted 1 time", DeployDeck.Domain.Rollouts.SoakCheck.Evaluate(Service, C(restarts: 2), C(restarts: 3)), StringComparison.Ordinal);
        Assert.Contains("OOM-killed", DeployDeck.Domain.Rollouts.SoakCheck.Evaluate(Service, C(), C(running: false, oom: true)), StringComparison.Ordinal);
        Assert.Contains("stopped", DeployDeck.Domain.Rollouts.SoakCheck.Evaluate(Service, C(), C(running: false)), StringComparison.Ordinal);
        Assert.Equal("unhealthy", DeployDeck.Domain.Rollouts.SoakCheck.Evaluate(Service, C(), C(health: DeployDeck.Domain.Engine.HealthStatus.Unhealthy)));
        Assert.Equal("the container is gone", DeployDeck.Domain.Rollouts.SoakCheck.Evaluate(Service, C(), null));
    }

    [Fact]
    public void An_oom_from_before_the_soak_does_not_count_again()
    {
        Assert.Null(DeployDeck.Domain.Rollouts.SoakCheck.Evaluate(Service, C(oom: true, restarts: 1), C(oom: true, restarts: 1)));
    }
}
