using DeployDeck.Domain.Hosts;
using DeployDeck.Domain.Images;
using DeployDeck.Domain.Plans;

namespace DeployDeck.Domain.Tests;

public sealed class ImagePullsTests
{
    [Theory]
    [InlineData("postgres", "docker.io", "library/postgres", null, null)]
    [InlineData("postgres:15", "docker.io", "library/postgres", "15", null)]
    [InlineData("bitnami/redis:7.2", "docker.io", "bitnami/redis", "7.2", null)]
    [InlineData("127.0.0.1:5000/team/api:1", "127.0.0.1:5000", "team/api", "1", null)]
    [InlineData("localhost/api", "localhost", "api", null, null)]
    [InlineData("ghcr.io/acme/web@sha256:abc", "ghcr.io", "acme/web", null, "sha256:abc")]
    [InlineData("Registry.Example.com:443/x:y@sha256:1", "registry.example.com:443", "x", "y", "sha256:1")]
    public void References_are_read_as_the_engine_reads_them(string image, string registry, string repository, string? tag, string? digest)
    {
        var reference = ImageReference.Parse(image)!;
        Assert.Equal((registry, repository, tag, digest), (reference.Registry, reference.Repository, reference.Tag, reference.Digest));
    }

    [Theory]
    [InlineData("")]
    [InlineData("a b")]
    [InlineData("api:")]
    [InlineData("ghcr.io//web")]
    [InlineData("api@nodigest")]
    public void Non_references_are_refused(string image) => Assert.Null(ImageReference.Parse(image));

    [Theory]
    [InlineData("https://index.docker.io/v1/", "docker.io")]
    [InlineData("registry-1.docker.io", "docker.io")]
    [InlineData("HTTP://127.0.0.1:5000/v2/", "127.0.0.1:5000")]
    [InlineData("ghcr.io", "ghcr.io")]
    public void Login_servers_are_named_as_images_name_their_registry(string server, string expected)
    {
        Assert.Equal(expected, ImageReference.NormalizeServer(server).Server);
        Assert.True(ImageReference.Parse($"{(expected == "docker.io" ? "" : expected + "/")}team/app:1")!.IsOn(server));
    }

    [Theory]
    [InlineData("", "needs the server")]
    [InlineData("bad host", "not a registry server")]
    [InlineData("reg.example.com:99999", "no valid port")]
    [InlineData("reg_example;rm", "not a registry server")]
    public void Bad_servers_are_named(string server, string problem) =>
        Assert.Contains(problem, ImageReference.NormalizeServer(server).Problem, StringComparison.Ordinal);

    [Fact]
    public void A_login_for_one_registry_is_not_used_for_another()
    {
        Assert.False(ImageReference.Parse("127.0.0.1:5001/api")!.IsOn("127.0.0.1:5000"));
        Assert.False(ImageReference.Parse("api")!.IsOn("ghcr.io"));
        Assert.True(ImageReference.Parse("127.0.0.1:5000/api")!.IsLoopback);
        Assert.False(ImageReference.Parse("ghcr.io/api")!.IsLoopback);
    }

    private static ServiceSpec Service(string name, string image, PullPolicy policy = PullPolicy.Missing, BuildSpec? build = null) =>
        new() { Name = name, Image = image, Build = build, Options = ContainerOptions.None with { PullPolicy = policy } };

    private static readonly IReadOnlyDictionary<string, ImageFacts> OnlyDb = new Dictionary<string, ImageFacts> { ["db:15"] = new(true, 100) };

    [Fact]
    public void Missing_images_are_pulled_once_for_every_service_that_runs_them()
    {
        var plan = ImagePulls.Decide([Service("db", "db:15"), Service("api", "reg.io/api:1"), Service("worker", "reg.io/api:1")], OnlyDb);
        Assert.Empty(plan.Refusals);
        var pull = Assert.Single(plan.Pulls);
        Assert.Equal(("reg.io/api:1", PullReason.Missing), (pull.Image, pull.Reason));
        Assert.Equal(["api", "worker"], pull.Services);
    }

    [Fact]
    public void Pull_policy_always_pulls_what_the_host_has_and_never_refuses_what_it_lacks()
    {
        var always = ImagePulls.Decide([Service("db", "db:15", PullPolicy.Always)], OnlyDb);
        Assert.Equal(PullReason.Always, Assert.Single(always.Pulls).Reason);

        var never = ImagePulls.Decide([Service("db", "db:15", PullPolicy.Never), Service("api", "api:1", PullPolicy.Never)], OnlyDb);
        Assert.Empty(never.Pulls);
        Assert.Equal("service api: the image api:1 is not on the host and pull_policy is never: load it onto the host first (docker load)", Assert.Single(never.Refusals));
    }

    [Fact]
    public void An_image_to_be_built_is_not_pulled_and_says_that_DeployDeck_does_not_build()
    {
        var plan = ImagePulls.Decide([Service("api", "api:1", build: new BuildSpec(".")), Service("web", "web:1", PullPolicy.Build)], OnlyDb);
        Assert.Empty(plan.Pulls);
        Assert.Equal(2, plan.Refusals.Count);
        Assert.All(plan.Refusals, r => Assert.Contains("DeployDeck does not build images yet", r, StringComparison.Ordinal));
    }

    private const long Mb = 1024 * 1024;

    [Fact]
    public void Pulls_that_fit_below_the_red_band_are_admitted()
    {
        // 1000 MB disk, 500 used: 40 MB compressed needs ~160 MB at its height (download + 3× unpacked) → 66 %.
        Assert.Null(ImagePulls.DiskRefusal([new PullSize("api:1", 40 * Mb, null)], 500 * Mb, 500 * Mb, 85));
        Assert.Equal(160 * Mb, ImagePulls.Footprint(new PullSize("api:1", 40 * Mb, null)));
        Assert.Equal(140 * Mb, ImagePulls.Footprint(new PullSize("api:1", 40 * Mb, 100 * Mb)));
    }

    [Fact]
    public void Pulls_that_would_cross_the_red_band_or_do_not_fit_are_refused_with_the_numbers()
    {
        var red = ImagePulls.DiskRefusal([new PullSize("api:1", 100 * Mb, null), new PullSize("web:1", null, null)], 500 * Mb, 500 * Mb, 85);
        Assert.Equal("the images to pull need about 400 MB on the engine's data root (api:1 ~400 MB); it has 500 MB free of 1000 MB (50 % used): "
            + "it would be 90 % full, above the RED band (85 %). Free disk (docker image prune, the host's Reclaim) or pull onto a larger disk", red);

        var none = ImagePulls.DiskRefusal([new PullSize("ml:1", 2048 * Mb, null)], 500 * Mb, 500 * Mb, 100);
        Assert.Contains("there is no room", none, StringComparison.Ordinal);
        Assert.Contains("8 GB", none, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_disk_or_unknown_sizes_refuse_nothing()
    {
        Assert.Null(ImagePulls.DiskRefusal([new PullSize("api:1", 100 * Mb, null)], null, null, 85));
        Assert.Null(ImagePulls.DiskRefusal([new PullSize("api:1", null, null)], 999 * Mb, 1 * Mb, 85));
    }
}
