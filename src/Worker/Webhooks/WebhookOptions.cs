using System.ComponentModel.DataAnnotations;

namespace DeployDeck.Worker.Webhooks;

public sealed class WebhookOptions
{
    public const string Section = "Webhooks";

    /// <summary>How often the dispatcher looks for new rollout events.</summary>
    [Range(0.2, 60)]
    public double ScanIntervalSeconds { get; set; } = 2;

    /// <summary>How long one delivery attempt may take before it counts as failed.</summary>
    [Range(1, 60)]
    public double TimeoutSeconds { get; set; } = 10;

    /// <summary>DeployDeck's address as people reach it, for links in messages ("https://deploy.example.com"); relative links when empty.</summary>
    public string? PublicUrl { get; set; }
}
