using DeployDeck.Domain.Plans;

namespace DeployDeck.Domain.Tests;

public sealed class SecretScrubTests
{
    [Theory]
    [InlineData("connect failed: Host=db;Password=hunter2;Port=5432", "hunter2")]
    [InlineData("DB_PASSWORD=hunter2 rejected", "hunter2")]
    [InlineData("env API_TOKEN: abc123def", "abc123def")]
    [InlineData("cannot reach postgres://app:hunter2@db:5432/app", "hunter2")]
    [InlineData("stripe_secret_key='sk_live_123'", "sk_live_123")]
    public void Credentials_in_free_text_are_masked(string text, string secret)
    {
        var scrubbed = SecretKeys.Scrub(text);

        Assert.DoesNotContain(secret, scrubbed, StringComparison.Ordinal);
        Assert.Contains(SecretKeys.Mask, scrubbed, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET http://127.0.0.1:8080/health answers 200–299: HTTP 200 in 12 ms")]
    [InlineData("Phase 'core' refused by admission: 512 MB over budget")]
    public void Ordinary_messages_are_left_alone(string text) => Assert.Equal(text, SecretKeys.Scrub(text));

    [Fact]
    public void The_user_of_a_url_stays_visible_only_the_password_is_masked() =>
        Assert.Equal($"redis://cache:{SecretKeys.Mask}@redis:6379", SecretKeys.Scrub("redis://cache:pw@redis:6379"));
}
