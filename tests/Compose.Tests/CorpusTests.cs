using System.Text.Json;
using System.Text.Json.Nodes;
using DeployDeck.Domain.Plans;

namespace DeployDeck.Compose.Tests;

/// <summary>
/// Every case under Corpus/ is read by DeployDeck and by the reference, <c>docker-compose config</c> (normalised by
/// compose_reference.py), and the services must agree field by field.
/// </summary>
public sealed class CorpusTests
{
    public static readonly string Root = FindRoot();

    public static TheoryData<string> Cases() => new(CaseNames());

    private static IEnumerable<string> CaseNames() =>
        Directory.GetDirectories(Path.Combine(Root, "tests", "Compose.Tests", "Corpus")).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal);

    [Fact]
    public void The_corpus_holds_a_case_for_each_feature_and_a_stack_of_40_services()
    {
        Assert.True(CaseNames().Count() >= 10, $"only {CaseNames().Count()} corpus cases");
        var largest = CaseNames().Select(c => Load(c).Read()).Max(m => m.Services.Count + m.SkippedByProfile.Count);
        Assert.True(largest >= 40, $"the largest case has {largest} services");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Imports_what_docker_compose_config_reads(string name)
    {
        var corpusCase = Load(name);
        var expected = ComposeReference.Config(corpusCase.Directory, corpusCase.Files, corpusCase.Profiles);
        var model = corpusCase.Read();
        Assert.False(model.HasErrors, string.Join("\n", model.Issues.Where(i => i.Severity == Severity.Error)));

        var active = corpusCase.Profiles.ToHashSet(StringComparer.Ordinal);
        var expectedNames = expected.Where(e => e.Value!["profiles"]!.AsArray().Count == 0
                || e.Value!["profiles"]!.AsArray().Any(p => active.Contains(p!.GetValue<string>())))
            .Select(e => e.Key).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expectedNames, model.Services.Select(s => s.Spec.Name).Order(StringComparer.Ordinal).ToList());

        var differences = new List<string>();
        foreach (var service in model.Services)
        {
            var mine = Normalize(service);
            var theirs = expected[service.Spec.Name]!.AsObject();
            foreach (var (field, value) in mine)
            {
                if (!JsonNode.DeepEquals(value, theirs[field]))
                    differences.Add($"{service.Spec.Name}.{field}: DeployDeck {value?.ToJsonString() ?? "null"}, docker-compose {theirs[field]?.ToJsonString() ?? "null"}");
            }
        }

        Assert.True(differences.Count == 0, string.Join("\n", differences));
    }

    /// <summary>The same shape compose_reference.py prints.</summary>
    private static JsonObject Normalize(ImportedService imported)
    {
        var s = imported.Spec;
        var r = s.Resources;
        return new JsonObject
        {
            ["image"] = s.Build is not null && !imported.HasImage ? null : s.Image,
            ["build"] = s.Build is not null,
            ["command"] = Strings(s.Command),
            ["entrypoint"] = Strings(s.Entrypoint),
            ["environment"] = Map(s.Environment),
            ["labels"] = Map(s.Labels),
            ["mem_limit"] = r.MemoryLimit?.Bytes,
            ["mem_reservation"] = r.MemoryReservation?.Bytes,
            ["memswap_limit"] = r.MemorySwapLimit?.Bytes,
            ["cpus"] = r.Cpus is { } c ? Math.Round(c.Cores, 3) : null,
            ["restart"] = s.Restart.ToString(),
            ["healthcheck"] = s.HealthCheck is { } h
                ? new JsonObject
                {
                    ["test"] = Strings(h.Test),
                    ["interval"] = Math.Round(h.Interval.TotalSeconds, 3),
                    ["timeout"] = Math.Round(h.Timeout.TotalSeconds, 3),
                    ["retries"] = h.Retries,
                    ["start_period"] = Math.Round(h.StartPeriod.TotalSeconds, 3),
                }
                : null,
            ["depends_on"] = new JsonObject(s.DependsOn.Select(d => new KeyValuePair<string, JsonNode?>(d.Service, d.Condition switch
            {
                DependencyCondition.ServiceHealthy => "service_healthy",
                DependencyCondition.ServiceCompletedSuccessfully => "service_completed_successfully",
                _ => "service_started",
            }))),
            ["ports"] = new JsonArray(s.Ports.OrderBy(p => p.ContainerPort).ThenBy(p => p.Protocol, StringComparer.Ordinal).ThenBy(p => p.HostPort ?? 0)
                .Select(p => (JsonNode)new JsonArray(p.ContainerPort, p.HostPort, p.Protocol, p.HostIp)).ToArray()),
        };
    }

    private static JsonArray? Strings(IEnumerable<string>? items) => items is null ? null : new JsonArray(items.Select(i => (JsonNode)i).ToArray());

    private static JsonObject Map(IReadOnlyDictionary<string, string> map) =>
        new(map.Select(e => new KeyValuePair<string, JsonNode?>(e.Key, e.Value)));

    internal static CorpusCase Load(string name)
    {
        var dir = Path.Combine(Root, "tests", "Compose.Tests", "Corpus", name);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "case.json")));
        var files = json.RootElement.GetProperty("files").EnumerateArray().Select(f => f.GetString()!).ToList();
        var profiles = json.RootElement.TryGetProperty("profiles", out var p) ? p.EnumerateArray().Select(x => x.GetString()!).ToList() : [];
        var env = Path.Combine(dir, ".env");
        return new CorpusCase(name, dir, files, profiles, File.Exists(env) ? File.ReadAllText(env) : null);
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "DeployDeck.sln")))
                return dir.FullName;
        }

        throw new InvalidOperationException("DeployDeck.sln not found above " + AppContext.BaseDirectory);
    }
}

internal sealed record CorpusCase(string Name, string Directory, IReadOnlyList<string> Files, IReadOnlyList<string> Profiles, string? Env)
{
    /// <summary>The case's Compose files, and every other file of its folder uploaded beside them (env files, configs …).</summary>
    public ComposeModel Read() => ComposeImporter.Read(new ComposeImportRequest(
        Files.Select(f => new ComposeSource(f, File.ReadAllText(Path.Combine(Directory, f)))).ToList(), Env, Profiles, Name,
        System.IO.Directory.GetFiles(Directory, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Directory, f))
            .Where(f => !Files.Contains(f) && f is not (".env" or "case.json"))
            .Select(f => new ComposeSource(f, File.ReadAllText(Path.Combine(Directory, f)))).ToList()));
}
