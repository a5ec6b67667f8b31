using DeployDeck.Domain.Engine;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Rollouts;
using DeployDeck.Domain.Units;

namespace DeployDeck.Domain.Tests;

public sealed class FailureCauseTests
{
    private static readonly ServiceSpec Api = new() { Name = "api", Image = "probe", Resources = new ResourceLimits(MemorySize.Parse("64m"), null, null, null) };

    private static ContainerObservation Seen(bool running = true, bool oom = false, int exit = 0) => new()
    {
        Id = "c1",
        Name = "api",
        ImageId = "sha256:1",
        Status = running ? "running" : "exited",
        Running = running,
        OomKilled = oom,
        ExitCode = exit,
        RestartPolicy = "no",
    };

    private static ContainerEvent Oom(int second) => new("c1", "api", "oom", new DateTimeOffset(2026, 12, 1, 10, 0, second, TimeSpan.Zero), new Dictionary<string, string>());

    [Fact]
    public void An_unhealthy_container_the_kernel_killed_for_memory_names_the_oom_kill_first()
    {
        var reason = FailureCause.Explain(Api, "unhealthy", Seen(running: false, oom: true, exit: 137), []);
        Assert.StartsWith("OOM-killed (exit 137) above its limit of 64 MB", reason, StringComparison.Ordinal);
        Assert.EndsWith("; unhealthy", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Oom_events_of_the_phase_name_the_kill_when_inspect_shows_none()
    {
        var reason = FailureCause.Explain(Api, "unhealthy", Seen(), [Oom(5), Oom(7)]);
        Assert.StartsWith("a process in the container was OOM-killed above its limit of 64 MB (2 OOM kill(s) reported by the engine, first at 10:00:05)", reason, StringComparison.Ordinal);

        var stopped = FailureCause.Explain(Api, "not running: exited, exit code 137", Seen(running: false, exit: 137), [Oom(5)]);
        Assert.StartsWith("OOM-killed above its limit", stopped, StringComparison.Ordinal);
    }

    [Fact]
    public void A_sigkill_exit_without_an_oom_report_is_named_as_such()
    {
        var reason = FailureCause.Explain(Api, "not running: exited, exit code 137", Seen(running: false, exit: 137), []);
        Assert.Contains("exit 137 is SIGKILL", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_verdict_with_nothing_more_to_explain_is_kept_as_it_is()
    {
        Assert.Equal("unhealthy", FailureCause.Explain(Api, "unhealthy", Seen(), []));
        Assert.Equal("not running: exited, exit code 3", FailureCause.Explain(Api, "not running: exited, exit code 3", Seen(running: false, exit: 3), []));
        Assert.Equal("unhealthy", FailureCause.Explain(Api, "unhealthy", null, []));
        var oom = "OOM-killed (exit 137) above its limit of 64 MB";
        Assert.Equal(oom, FailureCause.Explain(Api, oom, Seen(running: false, oom: true, exit: 137), [Oom(1)]));
    }
}
