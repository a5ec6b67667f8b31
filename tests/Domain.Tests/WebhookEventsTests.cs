using DeployDeck.Domain.History;

namespace DeployDeck.Domain.Tests;

public sealed class WebhookEventsTests
{
    [Theory]
    [InlineData("phase.awaiting-approval", WebhookEvents.ApprovalNeeded)]
    [InlineData("phase.failed", WebhookEvents.PhaseFailed)]
    [InlineData("rollout.rolled-back", WebhookEvents.RolledBack)]
    [InlineData("rollout.succeeded", WebhookEvents.RolloutFinished)]
    [InlineData("rollout.aborted", WebhookEvents.RolloutFinished)]
    [InlineData("rollout.failed", WebhookEvents.RolloutFinished)]
    public void Each_notifying_event_is_the_notification_a_subscriber_to_everything_gets(string kind, string expected) =>
        Assert.Equal(expected, WebhookEvents.Choose(kind, WebhookEvents.All.ToList()));

    [Theory]
    [InlineData("gate.passed")]
    [InlineData("service.ready")]
    [InlineData("phase.started")]
    public void Routine_steps_notify_no_one(string kind) => Assert.Null(WebhookEvents.Choose(kind, WebhookEvents.All.ToList()));

    [Fact]
    public void A_rollback_is_a_finished_rollout_to_a_webhook_that_only_wants_finished_ones() =>
        Assert.Equal(WebhookEvents.RolloutFinished, WebhookEvents.Choose("rollout.rolled-back", [WebhookEvents.RolloutFinished]));

    [Fact]
    public void A_webhook_not_subscribed_to_an_event_gets_nothing() =>
        Assert.Null(WebhookEvents.Choose("phase.failed", [WebhookEvents.ApprovalNeeded]));

    [Fact]
    public void The_signature_is_the_hex_hmac_sha256_of_the_body_and_verifies_only_that_body()
    {
        // echo -n '{"text":"hi"}' | openssl dgst -sha256 -hmac 's3cret'
        var signature = WebhookEvents.Sign("s3cret", "{\"text\":\"hi\"}");

        Assert.Equal("sha256=" + Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData("s3cret"u8, "{\"text\":\"hi\"}"u8)), signature);
        Assert.True(WebhookEvents.Verify("s3cret", "{\"text\":\"hi\"}", signature));
        Assert.False(WebhookEvents.Verify("s3cret", "{\"text\":\"ho\"}", signature));
        Assert.False(WebhookEvents.Verify("other", "{\"text\":\"hi\"}", signature));
        Assert.False(WebhookEvents.Verify("s3cret", "{\"text\":\"hi\"}", null));
    }
}
