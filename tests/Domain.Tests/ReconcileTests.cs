using DeployDeck.Domain.Engine;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Rollouts;

namespace DeployDeck.Domain.Tests;

public sealed class ReconcileTests
{
    private static readonly ServiceSpec Db = new() { Name = "db", Image = "postgres:15", Environment = new Dictionary<string, string> { ["POSTGRES_PASSWORD"] = "s3cret" } };
    private static readonly ServiceSpec Api = new() { Name = "api", Image = "api:1", DependsOn = [new ServiceDependency("db")] };
    private static readonly ServiceSpec Web = new() { Name = "web", Image = "web:1" };

    private static PlanSpec Plan(params ServiceSpec[] services) => new([new PhaseSpec { Name = "core", Services = services }]);

    /// <summary>What the engine has when each service of <paramref name="ran"/> runs one container of that plan, healthy.</summary>
    private static List<ExistingContainer> Running(PlanSpec ran, string image = "sha256:1") =>
        ran.AllServices.Select(s => new ExistingContainer($"id-{s.Name}", $"shop-{s.Name}-1", s.Name, 1, true, HealthStatus.Healthy, ProjectLayout.ConfigHash(s, ran), image, true, s)).ToList();

    private static ReconcilePlan Decide(PlanSpec plan, IReadOnlyList<ExistingContainer> existing, bool force = false) =>
        Reconcile.Decide(plan, s => ProjectLayout.ConfigHash(s, plan), plan.AllServices.Select(s => s.Image).Distinct().ToDictionary(i => i, _ => (string?)"sha256:1"), existing, force);

    [Fact]
    public void An_unchanged_plan_keeps_every_running_container()
    {
        var plan = Plan(Db, Api, Web);
        var result = Decide(plan, Running(plan));
        Assert.All(result.Services, s => Assert.Equal(ReconcileAction.Keep, s.Action));
        Assert.Equal(["id-db", "id-api", "id-web"], result.KeptIds);
        Assert.Contains("same config hash and image", result.For("api")!.Reason, StringComparison.Ordinal);
        Assert.Equal("3 kept", result.Summary);
    }

    [Fact]
    public void Nothing_on_the_host_creates_and_a_forced_start_recreates_everything()
    {
        var plan = Plan(Db, Api);
        Assert.All(Decide(plan, []).Services, s => Assert.Equal(ReconcileAction.Create, s.Action));
        var forced = Decide(plan, Running(plan), force: true);
        Assert.All(forced.Services, s => Assert.Equal(ReconcileAction.Recreate, s.Action));
        Assert.True(forced.ForceRecreate);
        Assert.Empty(forced.KeptIds);
    }

    [Fact]
    public void An_environment_change_recreates_that_service_naming_the_key_never_the_value()
    {
        var before = Plan(Db, Api, Web);
        var after = Plan(Db with { Environment = new Dictionary<string, string> { ["POSTGRES_PASSWORD"] = "other" } }, Api, Web);
        var result = Decide(after, Running(before));
        Assert.Equal(ReconcileAction.Recreate, result.For("db")!.Action);
        Assert.Equal("environment key POSTGRES_PASSWORD changed", result.For("db")!.Reason);
        Assert.DoesNotContain("other", result.For("db")!.Reason, StringComparison.Ordinal);
        Assert.Equal(["id-db"], result.For("db")!.Replace);
        Assert.Equal(ReconcileAction.Keep, result.For("api")!.Action); // depends on db without restart: true
        Assert.Equal(ReconcileAction.Keep, result.For("web")!.Action);
    }

    [Fact]
    public void A_recreate_carries_the_update_order_the_worker_will_take_knowing_the_images_volumes()
    {
        var before = Plan(Db, Api, Web);
        var after = Plan(Db with { Image = "postgres:16" }, Api with { Image = "api:2" }, Web);
        var result = Reconcile.Decide(after, s => ProjectLayout.ConfigHash(s, after), after.AllServices.ToDictionary(s => s.Image, _ => (string?)"sha256:1"), Running(before),
            imageVolumes: new Dictionary<string, IReadOnlyList<string>> { ["postgres:16"] = ["/var/lib/postgresql/data"], ["api:2"] = [] });
        Assert.Equal(new UpdateOrders.Choice(UpdateOrder.StopFirst, "its image keeps data in the volume /var/lib/postgresql/data, which the new container takes over"), result.For("db")!.Order);
        Assert.Equal("start-first: nothing the two containers would share", result.For("api")!.Order!.Describe());
        Assert.Null(result.For("web")!.Order); // kept: no container is replaced
        Assert.Null(Decide(after, []).For("db")!.Order); // created: nothing to replace
    }

    [Fact]
    public void A_dependent_with_restart_true_and_a_borrower_are_recreated_with_their_dependency()
    {
        var api = Api with { DependsOn = [new ServiceDependency("db") { Restart = true }] };
        var sidecar = new ServiceSpec { Name = "sidecar", Image = "probe", NetworkMode = "service:api" };
        var before = Plan(Db, api, sidecar, Web);
        var after = Plan(Db with { Image = "postgres:16" }, api, sidecar, Web);
        var result = Decide(after, Running(before));
        Assert.Equal("image changed: postgres:15 → postgres:16", result.For("db")!.Reason);
        Assert.Equal("db is recreated and it depends on it with restart: true", result.For("api")!.Reason);
        Assert.Contains("borrows from api", result.For("sidecar")!.Reason, StringComparison.Ordinal);
        Assert.Equal(ReconcileAction.Keep, result.For("web")!.Action);
    }

    [Fact]
    public void Limits_a_file_content_and_a_newer_image_id_recreate_and_gates_or_replicas_do_not()
    {
        var before = Plan(Db, Web with { Files = [new FileMount(ProjectFileKind.Config, "nginx", "/etc/nginx.conf")] }) with
        {
            Resources = ProjectResources.None with { Files = [new ProjectFile(ProjectFileKind.Config, "nginx", "worker_processes 1;", "nginx.conf")] },
        };
        var limits = before with { Phases = [before.Phases[0] with { Services = [Db with { Resources = new ResourceLimits(Units.MemorySize.Parse("256m"), null, null, null) }, before.Phases[0].Services[1]] }] };
        Assert.Equal("limits changed (memoryLimit)", Decide(limits, Running(before)).For("db")!.Reason);

        var file = before with { Resources = ProjectResources.None with { Files = [new ProjectFile(ProjectFileKind.Config, "nginx", "worker_processes 2;", "nginx.conf")] } };
        Assert.Equal("the content of a config or secret it mounts changed", Decide(file, Running(before)).For("web")!.Reason);

        var rebuilt = Reconcile.Decide(before, s => ProjectLayout.ConfigHash(s, before), new Dictionary<string, string?> { ["postgres:15"] = "sha256:2" }, Running(before));
        Assert.StartsWith("image postgres:15 changed", rebuilt.For("db")!.Reason, StringComparison.Ordinal);

        var gated = Plan(Db with { Gates = [new GateSpec { Kind = GateKind.Http, Url = "http://localhost/" }] }, before.Phases[0].Services[1]) with { Resources = before.Resources };
        Assert.Equal(ReconcileAction.Keep, Decide(gated, Running(before)).For("db")!.Action);
    }

    [Fact]
    public void Replicas_scale_keeping_the_containers_that_run_and_retiring_the_rest()
    {
        var plan = Plan(Web with { Replicas = 2 });
        var one = Running(Plan(Web));
        var up = Decide(plan, one).For("web")!;
        Assert.Equal(ReconcileAction.Scale, up.Action);
        Assert.Equal(["id-web"], up.Keep);
        Assert.Equal("unchanged; replicas 1 → 2", up.Reason);

        var three = Running(Plan(Web)).Concat([one[0] with { Id = "id-web-2", Number = 2 }, one[0] with { Id = "id-web-3", Number = 3 }]).ToList();
        var down = Decide(plan, three).For("web")!;
        Assert.Equal(["id-web", "id-web-2"], down.Keep);
        Assert.Equal(["id-web-3"], down.Replace);
    }

    [Fact]
    public void Compose_started_containers_are_adopted_and_stopped_or_unhealthy_ones_recreated()
    {
        var plan = Plan(Db, Api, Web);
        var existing = Running(plan);
        existing[0] = existing[0] with { Managed = false, ConfigHash = "compose's own", Spec = null, Name = "shop-db-1", Restart = new RestartPolicy(RestartMode.OnFailure, 3) };
        existing[1] = existing[1] with { Running = false, Restart = new RestartPolicy(RestartMode.Always) };
        existing[2] = existing[2] with { Health = HealthStatus.Unhealthy };
        var result = Decide(plan, existing);
        Assert.Contains("was started by docker compose", result.For("db")!.Reason, StringComparison.Ordinal);
        Assert.Equal(["id-db"], result.For("db")!.Replace);
        // What Compose gave its container is what a rollback gives back; DeployDeck's own containers have their revision for that.
        Assert.Equal(new AdoptedContainer("db", "id-db", new RestartPolicy(RestartMode.OnFailure, 3)), Assert.Single(result.Adopted));
        Assert.Null(result.AdoptedRestart("id-api"));
        Assert.Equal("its container shop-api-1 is not running", result.For("api")!.Reason);
        Assert.Equal("its container shop-web-1 is unhealthy", result.For("web")!.Reason);
    }

    [Fact]
    public void A_service_removed_from_the_plan_is_an_orphan_and_a_one_shot_runs_again()
    {
        var migrate = new ServiceSpec { Name = "migrate", Image = "api:1" };
        var api = Api with { DependsOn = [new ServiceDependency("migrate", DependencyCondition.ServiceCompletedSuccessfully)] };
        var before = Plan(Db, migrate, api, Web);
        var after = Plan(Db, migrate, api);
        var result = Decide(after, Running(before));
        var orphan = Assert.Single(result.Orphans);
        Assert.Equal(("web", "id-web"), (orphan.Service, orphan.ContainerId));
        Assert.Contains("its volumes stay", orphan.Reason, StringComparison.Ordinal);
        Assert.Equal(ReconcileAction.Recreate, result.For("migrate")!.Action);
        Assert.Equal("2 kept, 1 recreated, 1 orphan container(s) to remove", result.Summary);
    }
}
