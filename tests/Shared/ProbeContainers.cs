using Docker.DotNet;
using Docker.DotNet.Models;

namespace DeployDeck.Tests.Shared;

/// <summary>Probe containers a test starts itself, marked managed so the sampler watches them, and labelled as this test run's.</summary>
public static class ProbeContainers
{
    private static readonly string TestRun = Environment.GetEnvironmentVariable("DEPLOYDECK_TEST_RUN") ?? "local";

    /// <summary>
    /// A probe that fills <paramref name="megabytes"/> MB the way the probe's hog does, then holds it without forking. The
    /// probe's own loop forks a `sleep 1 &amp;` every second, and the child's copy-on-write pages make its memory swing
    /// between ~40 and ~81 MiB for a 40 MB hog (measured with the cgroup files): no figure to compare two tools by.
    /// </summary>
    public static Task<string> StartHoldingAsync(DockerClient docker, string name, int megabytes, long memoryLimit = 256L << 20) =>
        StartAsync(docker, name, memoryLimit: memoryLimit, entrypoint:
        [
            "/bin/sh", "-c",
            $"HOG=$(head -c {megabytes * 1048576} /dev/zero | tr '\\0' x); echo \"INFO holding ${{#HOG}} bytes\"; mkfifo /tmp/hold; exec 3<>/tmp/hold; read -r _ <&3",
        ]);

    public static async Task<string> StartAsync(
        DockerClient docker, string name, IDictionary<string, string>? env = null, long memoryLimit = 256L << 20, IList<string>? entrypoint = null)
    {
        var created = await docker.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Name = $"{name}-{Guid.NewGuid().ToString("N")[..8]}",
            Image = "deploydeck/probe:latest",
            Entrypoint = entrypoint!, // null: the image's own
            Env = (env ?? new Dictionary<string, string>()).Select(kv => $"{kv.Key}={kv.Value}").ToList(),
            Labels = new Dictionary<string, string>
            {
                ["deploydeck.managed"] = "true",
                ["deploydeck.service"] = name,
                ["deploydeck.test"] = "true",
                ["deploydeck.test.run"] = TestRun,
            },
            HostConfig = new HostConfig { Memory = memoryLimit, MemorySwap = memoryLimit, NetworkMode = "none" },
        });
        await docker.Containers.StartContainerAsync(created.ID, new ContainerStartParameters());
        return created.ID;
    }

    public static async Task<string> NameAsync(DockerClient docker, string id) =>
        (await docker.Containers.InspectContainerAsync(id)).Name.TrimStart('/');

    public static async Task RemoveAsync(DockerClient docker, IEnumerable<string> ids)
    {
        foreach (var id in ids)
        {
            try
            {
                await docker.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true });
            }
            catch (DockerContainerNotFoundException)
            {
            }
        }
    }
}
