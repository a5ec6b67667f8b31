namespace DeployDeck.Domain.Rollouts;

/// <summary>Event kinds that one process records and another acts on.</summary>
public static class RolloutEventKinds
{
    /// <summary>An operator resumed a paused rollout (Web); the Worker counts these to number a phase's attempts.</summary>
    public const string Resumed = "rollout.resumed";
}
