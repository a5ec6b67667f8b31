using Docker.DotNet;
using Docker.DotNet.Models;

namespace DeployDeck.Tests.Shared;

/// <summary>A Compose project on the engine by its label, whichever tool made it: for tests and benchmarks that compare or clean up.</summary>
public static class ComposeProjects
{
    public static Dictionary<string, IDictionary<string, bool>> Filter(string project) =>
        new() { ["label"] = new Dictionary<string, bool> { [$"com.docker.compose.project={project}"] = true } };

    /// <summary>The project's containers, networks and volumes: what `docker-compose down -v` leaves behind it.</summary>
    public static async Task RemoveAsync(DockerClient docker, string project)
    {
        foreach (var container in await docker.Containers.ListContainersAsync(new ContainersListParameters { All = true, Filters = Filter(project) }))
            await docker.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true, RemoveVolumes = true });
        foreach (var network in await docker.Networks.ListNetworksAsync(new NetworksListParameters { Filters = Filter(project) }))
            await docker.Networks.DeleteNetworkAsync(network.ID);
        foreach (var volume in (await docker.Volumes.ListAsync(new VolumesListParameters { Filters = Filter(project) })).Volumes ?? [])
            await docker.Volumes.RemoveAsync(volume.Name, force: true);
    }
}
