using System.Security.Cryptography;
using System.Text;

namespace DeployDeck.Domain.History;

/// <summary>What a webhook can subscribe to, and which recorded rollout event is which notification.</summary>
public static class WebhookEvents
{
    public const string ApprovalNeeded = "approval-needed";
    public const string PhaseFailed = "phase-failed";
    public const string RolledBack = "rolled-back";
    public const string RolloutFinished = "rollout-finished";

    public static readonly IReadOnlyList<string> All = [ApprovalNeeded, PhaseFailed, RolledBack, RolloutFinished];

    /// <summary>The header carrying <c>sha256=&lt;hex HMAC-SHA256 of the body&gt;</c>, as GitHub signs its webhooks.</summary>
    public const string SignatureHeader = "X-DeployDeck-Signature";

    public const string EventHeader = "X-DeployDeck-Event";

    public const string DeliveryHeader = "X-DeployDeck-Delivery";

    /// <summary>
    /// The notifications a rollout event may be, most specific first. A webhook gets the first one it
    /// subscribes to and no other, so one state change is one message even to a webhook that wants both
    /// "rolled-back" and "rollout-finished".
    /// </summary>
    public static IReadOnlyList<string> Candidates(string eventKind) => eventKind switch
    {
        "phase.awaiting-approval" => [ApprovalNeeded],
        "phase.failed" => [PhaseFailed],
        "rollout.rolled-back" => [RolledBack, RolloutFinished],
        "rollout.succeeded" or "rollout.failed" or "rollout.aborted" => [RolloutFinished],
        _ => [],
    };

    /// <summary>The notification a webhook subscribed to <paramref name="subscribed"/> gets for an event, or null for none.</summary>
    public static string? Choose(string eventKind, IReadOnlyCollection<string> subscribed) =>
        Candidates(eventKind).FirstOrDefault(subscribed.Contains);

    public static string Sign(string secret, string body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(body)));

    /// <summary>Constant-time check of a received signature, as a receiver should do it.</summary>
    public static bool Verify(string secret, string body, string? signature) =>
        signature is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(secret, body)), Encoding.ASCII.GetBytes(signature));

    /// <summary>The Slack-compatible one-liner.</summary>
    public static string Text(string type, string plan, int revision, string host, string? phase, string message) => type switch
    {
        ApprovalNeeded => $":raised_hand: {plan} rev {revision} on {host}: approval needed — {message}",
        PhaseFailed => $":x: {plan} rev {revision} on {host}: phase '{phase}' failed — {message}",
        RolledBack => $":leftwards_arrow_with_hook: {plan} rev {revision} on {host}: rolled back — {message}",
        _ => $":checkered_flag: {plan} rev {revision} on {host}: finished — {message}",
    };

    /// <summary>Retry delays of a failed delivery: 10 s, 30 s, 1.5 min, 5 min, 15 min — then it is left as failed.</summary>
    public static readonly int[] RetryDelaysSeconds = [10, 30, 90, 300, 900];
}
