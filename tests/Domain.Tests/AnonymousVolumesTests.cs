using DeployDeck.Domain.Engine;
using DeployDeck.Domain.Plans;

namespace DeployDeck.Domain.Tests;

public sealed class AnonymousVolumesTests
{
    private static ContainerRequest Request(ServiceSpec? service = null, params MountRequest[] mounts) =>
        new("shop-db-1", service ?? new ServiceSpec { Name = "db", Image = "postgres" }, new Dictionary<string, string>()) { Mounts = mounts };

    private static ContainerObservation Previous(IReadOnlyList<string> declared, params ObservedMount[] mounts) => new()
    {
        Id = "old",
        Name = "shop-db-1",
        ImageId = "sha256:1",
        Status = "exited",
        RestartPolicy = "no",
        DeclaredVolumes = declared,
        Mounts = mounts,
    };

    [Fact]
    public void The_new_container_takes_over_the_volumes_at_the_images_and_the_files_anonymous_directories()
    {
        var previous = Previous(["/var/lib/postgresql/data", "/cache"],
            new ObservedMount("volume", "4f1c", "/var/lib/postgresql/data"), new ObservedMount("volume", "9a2b", "/cache"));
        var carried = AnonymousVolumes.Carry(Request(null, new MountRequest("volume", null, "/cache", false)), previous);

        Assert.Equal(["/cache", "/var/lib/postgresql/data"], carried.Targets);
        Assert.Equal(new MountRequest("volume", "9a2b", "/cache", false), carried.Mounts.Single(m => m.Target == "/cache"));
        Assert.Equal(new MountRequest("volume", "4f1c", "/var/lib/postgresql/data", false), carried.Mounts.Single(m => m.Target == "/var/lib/postgresql/data"));
    }

    [Fact]
    public void A_directory_the_new_definition_mounts_otherwise_or_that_held_no_volume_is_not_carried()
    {
        var service = new ServiceSpec { Name = "db", Image = "postgres", Options = new ContainerOptions { Tmpfs = ["/scratch:size=1m"] } };
        var previous = Previous(["/data", "/scratch", "/conf", "/fresh"],
            new ObservedMount("volume", "old-anon", "/data"), new ObservedMount("volume", "old-scratch", "/scratch"), new ObservedMount("bind", null, "/conf"));
        var named = new MountRequest("volume", "shop_data", "/data", false);
        var carried = AnonymousVolumes.Carry(Request(service, named, new MountRequest("volume", null, "/fresh", false)), previous);

        Assert.Empty(carried.Targets);
        Assert.Equal([named, new MountRequest("volume", null, "/fresh", false)], carried.Mounts);
    }
}
