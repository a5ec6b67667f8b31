using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Rollouts;

namespace DeployDeck.Domain.Tests;

public sealed class PhaseDeadlineTests
{
    private static readonly TimeSpan Start = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan Cap = TimeSpan.FromHours(1);

    private static ServiceSpec S(string name, HealthCheck? health = null, IReadOnlyList<GateSpec>? gates = null, params string[] deps) => new()
    {
        Name = name, Image = "x", HealthCheck = health, Gates = gates ?? [],
        DependsOn = deps.Select(d => new ServiceDependency(d)).ToList(),
    };

    [Fact]
    public void A_phase_may_take_its_slowest_service_per_wave_plus_soak_and_a_margin()
    {
        // db: 10 + 5×3 + 5 = 30 s health deadline; api waits for db.
        var health = new HealthCheck(["CMD", "true"], TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5), 3, TimeSpan.FromSeconds(10));
        var phase = new PhaseSpec { Name = "core", Soak = TimeSpan.FromMinutes(2), Services = [S("db", health), S("cache"), S("api", health, null, "db")] };

        var deadline = PhaseDeadline.For(phase, Start, Grace, Start, maxParallelStarts: 4, Cap);

        // wave 1: max(30 + 15, 60 + 15) = 75 s; wave 2: 30 + 15 = 45 s; soak 120 s; margin 60 s.
        Assert.Equal(TimeSpan.FromSeconds(75 + 45 + 120 + 60), deadline);
    }

    [Fact]
    public void Gates_add_their_retry_window_and_a_wave_larger_than_the_start_limit_takes_several_turns()
    {
        var http = new GateSpec { Kind = GateKind.Http, Url = "http://x/", TimeoutSeconds = 5 };
        var chaos = new GateSpec { Kind = GateKind.Chaos, TimeoutSeconds = 30 };
        var phase = new PhaseSpec { Name = "workers", Services = [S("a", null, [http, chaos]), S("b"), S("c")] };

        var deadline = PhaseDeadline.For(phase, Start, Grace, Start, maxParallelStarts: 2, Cap);

        // slowest: 60 + 15 + (60 + 5) + 30 = 170 s, two turns of two; margin 60 s.
        Assert.Equal(TimeSpan.FromSeconds(170 * 2 + 60), deadline);
    }

    [Fact]
    public void No_phase_may_take_longer_than_the_cap()
    {
        var phase = new PhaseSpec { Name = "slow", Soak = TimeSpan.FromHours(5), Services = [S("a")] };
        Assert.Equal(Cap, PhaseDeadline.For(phase, Start, Grace, Start, 4, Cap));
    }

    [Fact]
    public void A_chaos_gate_needs_a_restart_policy_that_brings_the_container_back()
    {
        var chaos = new GateSpec { Kind = GateKind.Chaos, TimeoutSeconds = 30 };
        var never = S("a") with { Gates = [chaos] };
        var always = never with { Restart = new RestartPolicy(RestartMode.OnFailure, 3) };

        Assert.Contains("chaos gate: restart policy 'no'", Assert.Single(chaos.Problems(never)), StringComparison.Ordinal);
        Assert.Empty(chaos.Problems(always));
        Assert.True(chaos.Disturbs);
        Assert.Equal("killed and back (healthy, if it has a health check) within 30 s", chaos.ToString());
    }
}
