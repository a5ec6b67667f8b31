namespace DeployDeck.Domain.Engine;

/// <summary>
/// The labels by which Compose itself finds a project's containers, networks and volumes: set on what DeployDeck makes,
/// so that <c>docker compose -p &lt;project&gt; ps</c> and <c>logs</c> work on it, and read on what Compose made.
/// </summary>
public static class ComposeLabels
{
    public const string Project = "com.docker.compose.project";
    public const string Service = "com.docker.compose.service";
    public const string ContainerNumber = "com.docker.compose.container-number";
    public const string OneOff = "com.docker.compose.oneoff";
    public const string ConfigHash = "com.docker.compose.config-hash";
    public const string Network = "com.docker.compose.network";
    public const string Volume = "com.docker.compose.volume";
    public const string WorkingDir = "com.docker.compose.project.working_dir";

    public static Dictionary<string, string> ForContainer(string project, string service, int number, string configHash) => new()
    {
        [Project] = project,
        [Service] = service,
        [ContainerNumber] = number.ToString(System.Globalization.CultureInfo.InvariantCulture),
        [OneOff] = "False",
        [ConfigHash] = configHash,
    };

    public static Dictionary<string, string> ForNetwork(string project, string key) => new() { [Project] = project, [Network] = key };

    public static Dictionary<string, string> ForVolume(string project, string key) => new() { [Project] = project, [Volume] = key };
}
