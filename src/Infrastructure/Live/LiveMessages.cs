namespace DeployDeck.Infrastructure.Live;

/// <summary>Hub method and route names shared by the Worker (client) and Web (hub).</summary>
public static class LiveHubContract
{
    public const string Path = "/hubs/live";

    /// <summary>Worker → hub.</summary>
    public const string PublishRolloutEvent = nameof(PublishRolloutEvent);

    /// <summary>Hub → browsers watching a rollout.</summary>
    public const string RolloutEvent = nameof(RolloutEvent);

    /// <summary>Worker → hub: one <see cref="HostStatsMessage"/> per host per tick.</summary>
    public const string PublishHostStats = nameof(PublishHostStats);

    /// <summary>Hub → other SignalR clients watching a host.</summary>
    public const string HostStats = nameof(HostStats);

    public const string WorkerRole = "Worker";

    public static string HostGroup(Guid hostId) => $"host:{hostId}";

    public static string RolloutGroup(Guid rolloutId) => $"rollout:{rolloutId}";
}

/// <summary>One step of a rollout, as it is recorded and as it is pushed live.</summary>
public sealed record RolloutEventMessage(
    Guid RolloutId,
    long EventId,
    DateTimeOffset At,
    string Kind,
    string? Phase,
    string? Service,
    string Message,
    string RolloutState,
    string? PhaseState,
    string? ServiceState)
{
    /// <summary>How far a pull is, on the live-only <c>image.pull-progress</c> messages (never recorded: EventId 0).</summary>
    public PullFigures? Pull { get; init; }
}

/// <summary>Bytes downloaded of the layers' total so far (layers report their size as they start), and layers done.</summary>
public sealed record PullFigures(string Image, long Current, long Total, int LayersDone, int Layers);

/// <summary>
/// One tick of the Worker's sampler for one engine: the host and every managed container, batched — one message per
/// host per tick, never one per container.
/// </summary>
/// <param name="Engine">The engine endpoint sampled.</param>
/// <param name="HostIds">The registered hosts on that engine (those whose pages show it).</param>
/// <param name="Source">cgroup-v1, cgroup-v2 or engine (one-shot stats calls).</param>
/// <param name="SampleMilliseconds">What taking the sample cost, wall clock.</param>
public sealed record HostStatsMessage(
    string Engine,
    IReadOnlyList<Guid> HostIds,
    DateTimeOffset At,
    string Source,
    double SampleMilliseconds,
    Domain.Monitoring.HostFigures Host,
    IReadOnlyList<Domain.Monitoring.ContainerFigures> Containers);
