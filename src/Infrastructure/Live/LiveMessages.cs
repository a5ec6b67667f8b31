namespace DeployDeck.Infrastructure.Live;

/// <summary>Hub method and route names shared by the Worker (client) and Web (hub).</summary>
public static class LiveHubContract
{
    public const string Path = "/hubs/live";

    /// <summary>Worker → hub.</summary>
    public const string PublishRolloutEvent = nameof(PublishRolloutEvent);

    /// <summary>Hub → browsers watching a rollout.</summary>
    public const string RolloutEvent = nameof(RolloutEvent);

    public const string WorkerRole = "Worker";

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
    string? ServiceState);
