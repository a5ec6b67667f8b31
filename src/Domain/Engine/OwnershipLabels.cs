namespace DeployDeck.Domain.Engine;

/// <summary>The labels by which the engine itself tells which containers DeployDeck owns.</summary>
public static class OwnershipLabels
{
    public const string Rollout = "deploydeck.rollout";
    public const string Service = "deploydeck.service";
    public const string Revision = "deploydeck.revision";
    public const string Phase = "deploydeck.phase";
    public const string Plan = "deploydeck.plan";
    public const string Managed = "deploydeck.managed";

    /// <summary>Which run of its phase created the container: a phase run again after a resume starts from 2.</summary>
    public const string Attempt = "deploydeck.attempt";

    public static int AttemptOf(IReadOnlyDictionary<string, string> labels) =>
        labels.TryGetValue(Attempt, out var text) && int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : 1;

    public static IReadOnlyDictionary<string, string> For(Guid rolloutId, Guid planId, string phase, string service, Guid revisionId) =>
        new Dictionary<string, string>
        {
            [Managed] = "true",
            [Rollout] = rolloutId.ToString(),
            [Plan] = planId.ToString(),
            [Phase] = phase,
            [Service] = service,
            [Revision] = revisionId.ToString(),
        };
}
