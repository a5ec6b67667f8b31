using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Rollouts;

namespace DeployDeck.Domain.Tests;

public sealed class StartOrderTests
{
    private static ServiceSpec S(string name, params string[] deps) =>
        new() { Name = name, Image = "x", DependsOn = deps.Select(d => new ServiceDependency(d)).ToList() };

    [Fact]
    public void Services_start_after_what_they_depend_on_and_independent_ones_together()
    {
        var phase = new PhaseSpec { Name = "core", Services = [S("web", "api"), S("api", "db", "cache"), S("db"), S("cache")] };

        var waves = StartOrder.Waves(phase).Select(w => w.Select(s => s.Name).Order().ToArray()).ToList();

        Assert.Equal([["cache", "db"], ["api"], ["web"]], waves);
    }

    [Fact]
    public void Dependency_on_an_earlier_phase_does_not_delay_a_service()
    {
        var phase = new PhaseSpec { Name = "business", Services = [S("auth", "db")] };
        Assert.Single(StartOrder.Waves(phase));
    }

    [Fact]
    public void Dependency_cycle_is_refused_naming_the_services()
    {
        var phase = new PhaseSpec { Name = "core", Services = [S("a", "b"), S("b", "a"), S("c")] };
        var ex = Assert.Throws<InvalidOperationException>(() => StartOrder.Waves(phase));
        Assert.Contains("a, b", ex.Message, StringComparison.Ordinal);
    }
}

public sealed class EmergencyStopTests
{
    private static DeployDeck.Domain.Engine.ContainerSummary C(string name, string state = "running") => new(name, name, state, new Dictionary<string, string>());

    [Fact]
    public void Non_essential_phases_stop_latest_first_and_core_keeps_running()
    {
        var phase = new Dictionary<string, int?> { ["db"] = 0, ["auth"] = 1, ["etl"] = 2, ["grafana"] = 4, ["stray"] = null, ["old"] = 3 };
        var order = DeployDeck.Domain.Rollouts.EmergencyStop.Order([C("db"), C("auth"), C("etl"), C("grafana"), C("stray"), C("old", "exited")], c => phase[c.Name]);
        Assert.Equal(["grafana", "etl", "auth"], order.Select(c => c.Name));
    }
}
