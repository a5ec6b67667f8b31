using DeployDeck.Domain.Plans;

namespace DeployDeck.Compose.Tests;

public sealed class GateImportTests
{
    private static PlanImportResult Import(string yaml) =>
        PlanImport.FromCompose(new ComposeImportRequest([new ComposeSource("docker-compose.yml", yaml)]));

    [Fact]
    public void Gates_come_from_the_x_deploydeck_extension_of_a_service()
    {
        var result = Import("""
            services:
              db:
                image: postgres:16
                mem_limit: 512m
                x-deploydeck:
                  phase: core
                  gates:
                    - exec: pg_isready -U app
                      timeout: 3s
                    - memory: 90
              api:
                image: acme/api:1
                mem_limit: 256m
                x-deploydeck:
                  gates:
                    - http: http://127.0.0.1:8080/health
                      status: 200-299
                    - logs: "ERROR|FATAL"
                      window: 2m
            """);

        Assert.NotNull(result.Plan);
        var db = result.Plan.AllServices.Single(s => s.Name == "db");
        Assert.Equal(["pg_isready", "-U", "app"], db.Gates[0].Command);
        Assert.Equal(3, db.Gates[0].TimeoutSeconds);
        Assert.Equal(90, db.Gates[1].MaxMemoryPercent);
        var api = result.Plan.AllServices.Single(s => s.Name == "api");
        Assert.Equal((GateKind.Http, "http://127.0.0.1:8080/health", 200, 299), (api.Gates[0].Kind, api.Gates[0].Url, api.Gates[0].MinStatus, api.Gates[0].MaxStatus));
        Assert.Equal(("ERROR|FATAL", 120), (api.Gates[1].Pattern, api.Gates[1].WindowSeconds));
    }

    [Theory]
    [InlineData("- http: ftp://example/health", "not an http:// or https:// URL")]
    [InlineData("- logs: \"(unclosed\"", "is not a regular expression")]
    [InlineData("- memory: 150", "must be above 0 and at most 100")]
    [InlineData("- sniff: yes", "needs one of http, logs, exec, memory")]
    public void A_bad_gate_is_refused_naming_the_problem(string gate, string expected)
    {
        var result = Import($"services:\n  api:\n    image: acme/api:1\n    mem_limit: 256m\n    x-deploydeck:\n      gates:\n        {gate}\n");
        Assert.Null(result.Plan);
        Assert.Contains(result.Errors, e => e.Service == "api" && e.Message.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void A_memory_gate_needs_a_memory_limit()
    {
        var result = Import("services:\n  api:\n    image: acme/api:1\n    x-deploydeck:\n      gates:\n        - memory: 80\n");
        Assert.Contains(result.Errors, e => e.Message.Contains("no memory limit to compare with", StringComparison.Ordinal));
    }
}
