using DeployDeck.Domain.Plans;

namespace DeployDeck.Domain.Engine;

/// <summary>
/// What DeployDeck asks of a container engine, in its own terms. The Docker adapter maps these to
/// and from the Engine API; nothing outside it sees Docker's wire types.
/// </summary>
public interface IContainerEngine
{
    /// <summary>
    /// Creates (not starts) a container for the service, labelled so that the engine itself says who owns it, joined to
    /// every network of the request and holding its files (<see cref="PrepareAsync"/>).
    /// </summary>
    Task<string> CreateAsync(ContainerRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// What a created container needs before it starts: the request's other networks joined and its configs and secrets
    /// in place. Safe to repeat: a run after a crash between create and start calls it again.
    /// </summary>
    Task PrepareAsync(string containerId, ContainerRequest request, CancellationToken cancellationToken);

    /// <summary>The network, or null when the engine has none of that name.</summary>
    Task<ResourceObservation?> NetworkAsync(string name, CancellationToken cancellationToken);

    Task CreateNetworkAsync(NetworkRequest request, CancellationToken cancellationToken);

    Task<ResourceObservation?> VolumeAsync(string name, CancellationToken cancellationToken);

    Task CreateVolumeAsync(VolumeRequest request, CancellationToken cancellationToken);

    /// <summary>The host paths of <paramref name="paths"/> that do not exist on the engine's host, found by the engine itself.</summary>
    Task<IReadOnlyList<string>> MissingHostPathsAsync(IReadOnlyList<string> paths, CancellationToken cancellationToken);

    /// <summary>Changes the restart policy of an existing container (a kept previous version must not come back by itself).</summary>
    Task SetRestartPolicyAsync(string containerId, RestartPolicy policy, CancellationToken cancellationToken);

    Task RenameAsync(string containerId, string name, CancellationToken cancellationToken);

    Task StartAsync(string containerId, CancellationToken cancellationToken);

    /// <summary>Null when the container does not exist (any more).</summary>
    Task<ContainerObservation?> InspectAsync(string containerId, CancellationToken cancellationToken);

    /// <summary>Containers carrying all of the given labels, running or not.</summary>
    Task<IReadOnlyList<ContainerSummary>> ListAsync(IReadOnlyDictionary<string, string> labels, CancellationToken cancellationToken);

    Task StopAsync(string containerId, TimeSpan grace, CancellationToken cancellationToken);

    /// <summary>Removes the container, forcing a running one; a container already gone is not an error.</summary>
    Task RemoveAsync(string containerId, CancellationToken cancellationToken);

    Task<EngineInfo> InfoAsync(CancellationToken cancellationToken);

    /// <summary>Runs a command inside the container (no shell unless the command is one); its exit code and output.</summary>
    Task<ExecResult> ExecAsync(string containerId, IReadOnlyList<string> command, TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>The container's stdout and stderr lines since a moment.</summary>
    Task<IReadOnlyList<string>> LogsAsync(string containerId, DateTimeOffset since, CancellationToken cancellationToken);

    /// <summary>Memory in use without page cache (usage − inactive_file), from one stats sample; null when it cannot be read.</summary>
    Task<long?> MemoryUsageAsync(string containerId, CancellationToken cancellationToken);

    /// <summary>
    /// Kills the container's main process from outside, as a crash or the kernel would: the restart policy then decides
    /// whether it comes back (a `docker kill` would not do: the engine treats it as a wish to stop).
    /// </summary>
    Task CrashAsync(string containerId, CancellationToken cancellationToken);

    /// <summary>
    /// The engine's OOM events of containers carrying all of the given labels, between two moments. They include OOM
    /// kills of a child process, after which the container keeps running and inspect shows nothing.
    /// </summary>
    Task<IReadOnlyList<ContainerEvent>> OomEventsAsync(IReadOnlyDictionary<string, string> labels, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken);

    /// <summary>
    /// Streams the events that change what a rollout waits for — start, die, OOM, health status — of containers carrying
    /// all of the given labels, as they happen, until cancelled. The engine keeps only its last 256 events for a later
    /// query, and health checks alone can fill that in seconds.
    /// </summary>
    Task WatchAsync(IReadOnlyDictionary<string, string> labels, Action<ContainerEvent> onEvent, CancellationToken cancellationToken);
}

/// <param name="Action">The engine's word for it: "start", "die", "oom", "health_status: healthy"…</param>
public sealed record ContainerEvent(string ContainerId, string ContainerName, string Action, DateTimeOffset At, IReadOnlyDictionary<string, string> Labels)
{
    public bool IsOom => Action == "oom";
}


public enum HealthStatus
{
    None,
    Starting,
    Healthy,
    Unhealthy,
}

/// <summary>What inspect tells about one container: state, health and the limits the engine really applied.</summary>
public sealed record ContainerObservation
{
    public required string Id { get; init; }

    public required string Name { get; init; }

    public required string ImageId { get; init; }

    public required string Status { get; init; }

    public bool Running { get; init; }

    public bool OomKilled { get; init; }

    public int ExitCode { get; init; }

    public int RestartCount { get; init; }

    public HealthStatus Health { get; init; }

    public DateTimeOffset? StartedAt { get; init; }

    public DateTimeOffset? FinishedAt { get; init; }

    public long MemoryLimit { get; init; }

    public long MemoryReservation { get; init; }

    public long MemorySwap { get; init; }

    public long NanoCpus { get; init; }

    public required string RestartPolicy { get; init; }

    public int RestartMaxRetries { get; init; }

    public IReadOnlyList<string>? HealthTest { get; init; }

    /// <summary>The health check the engine runs, whether the plan or the image defined it; null when there is none.</summary>
    public HealthCheck? HealthCheck { get; init; }

    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>What is mounted where: a volume by its name.</summary>
    public IReadOnlyList<ObservedMount> Mounts { get; init; } = [];

    /// <summary>The directories declared as volumes, by the image or when the container was created.</summary>
    public IReadOnlyList<string> DeclaredVolumes { get; init; } = [];
}

/// <param name="Type">"volume", "bind", "tmpfs".</param>
/// <param name="Name">A volume's name; null for the other types.</param>
public sealed record ObservedMount(string Type, string? Name, string Destination);

public sealed record ContainerSummary(string Id, string Name, string State, IReadOnlyDictionary<string, string> Labels)
{
    /// <summary>The host ports the container publishes (a running one holds them).</summary>
    public IReadOnlyList<int> HostPorts { get; init; } = [];
}

public sealed record EngineInfo(string ServerVersion, int CpuCount, long MemoryTotal, string DockerRootDir, int ContainersRunning);

public sealed record ExecResult(long ExitCode, string Output);
