using DeployDeck.Domain.Plans;

namespace DeployDeck.Domain.Tests;

public sealed class SecretMaskTests
{
    private static readonly ServiceSpec Api = new()
    {
        Name = "api",
        Image = "registry.local/api:1.4",
        Command = ["serve", "--db", "postgres://app@db/app?sslmode=require", "--jwt", "s3cr3t-jwt-value"],
        Environment = new Dictionary<string, string>
        {
            ["DB_PWD"] = "pw-1234", ["JWT"] = "eyJx", ["AUTH_HEADER"] = "Bearer abcdefghijkl", ["LOG_LEVEL"] = "info", ["DB_HOST"] = "db-prod-7",
        },
        Gates = [new GateSpec { Kind = GateKind.Http, Url = "http://api:8080/health?x=s3cr3t-jwt-value" }],
        SecretFields = ["environment.DB_HOST", "command[4]", "gates[0].url#25+16"],
    };

    [Theory]
    [InlineData("DB_PWD")]
    [InlineData("JWT")]
    [InlineData("AUTH_HEADER")]
    [InlineData("DB_HOST")]
    public void Environment_values_are_masked_by_key_by_value_and_by_origin(string key) =>
        Assert.Equal(SecretKeys.Mask, SecretKeys.MaskedService(Api).Environment[key]);

    [Fact]
    public void Values_that_are_not_secret_stay_visible()
    {
        var masked = SecretKeys.MaskedService(Api);

        Assert.Equal("info", masked.Environment["LOG_LEVEL"]);
        Assert.Equal(Api.Image, masked.Image);
        Assert.Equal("serve", masked.Command![0]);
    }

    [Fact]
    public void Interpolated_values_are_masked_in_commands_and_gates()
    {
        var masked = SecretKeys.MaskedService(Api);

        Assert.Equal(SecretKeys.Mask, masked.Command![4]);
        Assert.Equal(SecretKeys.Mask, masked.Gates[0].Url);
        Assert.DoesNotContain("s3cr3t-jwt-value", SpecWalk.Describe(masked.Gates), StringComparison.Ordinal);
    }

    [Fact]
    public void Scrubbing_output_removes_every_raw_secret_of_the_service_and_the_parts_of_a_field()
    {
        var output = "exit 1: env DB_PWD=pw-1234 DB_HOST=db-prod-7; jwt s3cr3t-jwt-value; Authorization: Bearer abcdefghijkl";

        var scrubbed = SecretKeys.Scrub(output, SecretKeys.ValuesOf(Api));

        foreach (var secret in new[] { "pw-1234", "db-prod-7", "s3cr3t-jwt-value", "abcdefghijkl" })
            Assert.DoesNotContain(secret, scrubbed, StringComparison.Ordinal);
        Assert.Contains("exit 1", scrubbed, StringComparison.Ordinal);
    }

    [Fact]
    public void A_masked_plan_sent_back_unmasks_to_the_stored_values_everywhere()
    {
        var problems = new List<string>();

        var restored = SecretKeys.Unmasked(SecretKeys.MaskedService(Api), Api, problems);

        Assert.Empty(problems);
        Assert.True(SpecWalk.SameValue(Api, restored));
    }

    [Fact]
    public void A_mask_that_stands_for_nothing_is_a_problem_not_a_value()
    {
        var problems = new List<string>();

        _ = SecretKeys.Unmasked(Api with { Labels = new Dictionary<string, string> { ["x"] = SecretKeys.Mask } }, Api, problems);

        Assert.Contains(problems, p => p.StartsWith("labels.x:", StringComparison.Ordinal));
    }

    [Fact]
    public void A_secret_part_is_forgotten_once_its_field_is_typed_anew_but_a_whole_field_stays_secret()
    {
        var edited = Api with { Gates = [new GateSpec { Kind = GateKind.Http, Url = "http://api:8080/health" }], Command = ["serve", "--db", "x", "--jwt", "new-jwt"] };

        var restored = SecretKeys.Unmasked(edited, Api, []);

        Assert.DoesNotContain("gates[0].url#25+16", restored.SecretFields);
        Assert.Contains("command[4]", restored.SecretFields);
    }

    [Theory]
    [InlineData("Authorization: Bearer abcdefghijklmnop", "abcdefghijklmnop")]
    [InlineData("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig", "eyJzdWIiOiIxMjM0NTY3ODkwIn0")]
    [InlineData("key -----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", "MIIE")]
    [InlineData("JWT=abc.def.ghi", "abc.def.ghi")]
    public void Token_shaped_credentials_in_free_text_are_masked(string text, string secret) =>
        Assert.DoesNotContain(secret, SecretKeys.Scrub(text), StringComparison.Ordinal);
}
