using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Rollouts;

namespace DeployDeck.Domain.Tests;

public sealed class RolloutStepsTests
{
    private static ServiceSpec Service(string name = "api") => new() { Name = name, Image = "probe" };

    [Fact]
    public void A_service_two_containers_cannot_share_is_stop_first_and_says_why()
    {
        Assert.Equal(UpdateOrder.StartFirst, UpdateOrders.Choose(Service()).Order);
        var gateway = Service() with { Ports = [new PortMapping(80, 8080)] };
        Assert.Equal(new UpdateOrders.Choice(UpdateOrder.StopFirst, "it publishes the fixed host port 8080/tcp"), UpdateOrders.Choose(gateway));
        var db = Service() with { Volumes = [new VolumeMount("volume", "pgdata", "/var/lib/postgresql/data")] };
        Assert.Equal("it mounts pgdata read-write at /var/lib/postgresql/data", UpdateOrders.Choose(db).Why);
        var readOnly = Service() with { Volumes = [new VolumeMount("bind", "./conf", "/etc/app", ReadOnly: true)] };
        Assert.Equal(UpdateOrder.StartFirst, UpdateOrders.Choose(readOnly).Order);
        Assert.Equal(UpdateOrder.StopFirst, UpdateOrders.Choose(Service() with { Options = new ContainerOptions { ContainerName = "fixed" } }).Order);
        Assert.Equal(UpdateOrder.StopFirst, UpdateOrders.Choose(Service(), imageVolumes: ["/data"]).Order);
        var anonymous = Service() with { Volumes = [new VolumeMount("volume", null, "/data")] };
        Assert.Equal("it keeps data in the anonymous volume at /data, which the new container takes over", UpdateOrders.Choose(anonymous).Why);
    }

    [Fact]
    public void The_files_order_wins_and_a_start_first_that_cannot_work_is_named()
    {
        var ordered = Service() with { Update = new UpdateSpec(UpdateOrder.StartFirst), Volumes = [new VolumeMount("volume", "data", "/data")] };
        Assert.Equal(UpdateOrder.StartFirst, UpdateOrders.Choose(ordered).Order);
        Assert.Null(UpdateOrders.Impossible(ordered));
        var gateway = ordered with { Ports = [new PortMapping(80, 80, HostIp: "127.0.0.1")] };
        Assert.Contains("host port 127.0.0.1:80/tcp", UpdateOrders.Impossible(gateway), StringComparison.Ordinal);
        var issues = PlanValidation.Validate(new PlanSpec([new PhaseSpec { Name = "core", Services = [gateway] }]));
        Assert.Contains(issues, i => i.Severity == Severity.Error && i.Message.Contains("start-first cannot work", StringComparison.Ordinal));
    }

    [Fact]
    public void Replicas_cannot_share_a_fixed_host_port()
    {
        var scaled = Service() with { Replicas = 3, Ports = [new PortMapping(8080, 80)] };
        var issues = PlanValidation.Validate(new PlanSpec([new PhaseSpec { Name = "core", Services = [scaled] }]));
        Assert.Contains(issues, i => i.Severity == Severity.Error && i.Message.Contains("3 replicas cannot all publish the host port 80", StringComparison.Ordinal));
    }

    [Fact]
    public void Rollback_scope_is_the_failed_phase_or_every_phase_up_to_it_latest_first()
    {
        Assert.Equal([2], RollbackScope.Phases(FailurePolicy.RollbackPhase, 2));
        Assert.Equal([2, 1, 0], RollbackScope.Phases(FailurePolicy.RollbackAll, 2));
        Assert.Equal(FailurePolicy.RollbackPhase, RollbackScope.ForAbort(FailurePolicy.Pause));
        Assert.Equal(FailurePolicy.RollbackAll, RollbackScope.ForAbort(FailurePolicy.RollbackAll));
    }

    [Fact]
    public void Step_keys_carry_attempt_and_replica_and_name_a_gates_kind()
    {
        Assert.Equal("phase:1:started", StepKey.Phase(1, 1, "started").Value);
        Assert.Equal("phase:1#2:started", StepKey.Phase(1, 2, "started").Value);
        Assert.Equal("service:api:ready", StepKey.Service("api", 1, "ready").Value);
        Assert.Equal("service:api/3#2:ready", StepKey.Service("api", 2, "ready", 3).Value);
        Assert.Equal("http", StepKey.GateKindOf(StepKey.Gate("api", 1, 0, GateKind.Http).Value));
        Assert.Equal("gate", StepKey.GateKindOf("phase:0:started"));
    }
}
