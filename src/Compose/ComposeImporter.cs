using System.Text;
using DeployDeck.Compose.Yaml;
using DeployDeck.Domain.Plans;

namespace DeployDeck.Compose;

public sealed record ComposeSource(string Name, string Content);

/// <param name="Files">In merge order: later files override earlier ones.</param>
/// <param name="Env">.env content: the only source of variables.</param>
/// <param name="Profiles">Services with profiles are read only when one of theirs is here.</param>
/// <param name="ProjectName">Names images of services that are built and have no image.</param>
public sealed record ComposeImportRequest(IReadOnlyList<ComposeSource> Files, string? Env = null, IReadOnlyList<string>? Profiles = null, string ProjectName = "stack");

/// <summary>What the files say, service by service, and every finding; <see cref="Services"/> is empty when an error was found.</summary>
public sealed record ComposeModel(IReadOnlyList<ImportedService> Services, IReadOnlyList<PlanIssue> Issues, IReadOnlyList<string> SkippedByProfile)
{
    public bool HasErrors => Issues.Any(i => i.Severity == Severity.Error);
}

/// <summary>Reads Compose files as <c>docker compose -f a -f b --profile p config</c> does.</summary>
public static class ComposeImporter
{
    public const int MaxFiles = 10;
    public const int MaxFileBytes = 512 * 1024;
    public const int MaxEnvBytes = 64 * 1024;

    /// <summary>Nodes a file may expand to through aliases; a 40-service stack is a few thousand.</summary>
    public const long MaxNodes = 200_000;

    private static readonly HashSet<string> TopLevelKeys = new(StringComparer.Ordinal) { "version", "name", "services", "volumes", "networks", "secrets", "configs", "include", "models" };

    /// <exception cref="ComposeException">The input cannot be read at all (malformed YAML, too large, a required variable missing).</exception>
    public static ComposeModel Read(ComposeImportRequest request)
    {
        CheckSizes(request);
        var variables = EnvFile.Parse(request.Env);
        var interpolation = new Interpolation(variables);
        var issues = new List<PlanIssue>();

        var services = new Dictionary<string, YMap>(StringComparer.Ordinal);
        var nodes = 0L;
        foreach (var file in request.Files)
        {
            var root = YamlReader.Read(file.Name, file.Content, MaxNodes) ?? throw new ComposeException($"{file.Name}: the file is empty");
            nodes += root.ExpandedSize;
            if (nodes > MaxNodes)
                throw new ComposeException($"the files expand to more than {MaxNodes:N0} YAML nodes together — refused as too large");
            if (root is not YMap top)
                throw new ComposeException($"{file.Name}: the top level must be a mapping with a 'services' key, not {root.Kind}");
            foreach (var key in top.Keys.Where(k => !k.StartsWith("x-", StringComparison.Ordinal) && !TopLevelKeys.Contains(k)))
                issues.Add(new(Severity.Warning, $"{file.Name}: top-level key '{key}' is not Compose; ignored"));
            if (top.Has("include"))
                issues.Add(new(Severity.Warning, $"{file.Name}: 'include' is not followed; upload the included files as well"));

            switch (top["services"])
            {
                case null or YScalar { IsNull: true }:
                    continue;
                case YMap fileServices:
                    foreach (var (name, node) in fileServices.Entries)
                    {
                        if (node is not YMap service)
                            throw new ComposeException($"{file.Name} line {node.Line}: service '{name}' must be a mapping, not {node.Kind}");
                        var interpolated = (YMap)interpolation.Apply(service, $"services.{name}");
                        services[name] = services.TryGetValue(name, out var earlier) ? ComposeMerge.MergeService(earlier, interpolated) : interpolated;
                    }

                    break;
                case var other:
                    throw new ComposeException($"{file.Name} line {other.Line}: 'services' must be a mapping of service names, not {other.Kind}");
            }
        }

        if (services.Count == 0)
            throw new ComposeException("the files define no services");
        if (services.Count > PlanValidation.MaxServices)
            throw new ComposeException($"the files define {services.Count} services; the limit is {PlanValidation.MaxServices}");

        foreach (var name in interpolation.Unset.Order(StringComparer.Ordinal))
            issues.Add(new(Severity.Warning, $"variable {name} is not set in .env; an empty string is used"));

        var profiles = new HashSet<string>(request.Profiles ?? [], StringComparer.Ordinal);
        var imported = new List<ImportedService>();
        var skipped = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var (name, node) in services)
        {
            var service = new ServiceReader(name, Slug(request.ProjectName), variables, issues).Read(node);
            if (service.Profiles.Count > 0 && !service.Profiles.Any(profiles.Contains))
                skipped[name] = service.Profiles;
            else
                imported.Add(service);
        }

        foreach (var service in imported)
        {
            foreach (var dep in service.Spec.DependsOn)
            {
                if (skipped.TryGetValue(dep.Service, out var only))
                    issues.Add(new(Severity.Error, $"depends on '{dep.Service}', which runs only with profile {string.Join(" or ", only)}: choose that profile or remove the dependency", Service: service.Spec.Name));
                else if (!services.ContainsKey(dep.Service))
                    issues.Add(new(Severity.Error, $"depends on '{dep.Service}', which no file defines", Service: service.Spec.Name));
            }
        }

        if (imported.Count == 0)
            issues.Add(new(Severity.Error, $"every service needs a profile that was not chosen ({string.Join(", ", skipped.Values.SelectMany(p => p).Distinct())})"));

        var hasErrors = issues.Any(i => i.Severity == Severity.Error);
        return new ComposeModel(hasErrors ? [] : imported, issues, skipped.Keys.Order(StringComparer.Ordinal).ToList());
    }

    private static void CheckSizes(ComposeImportRequest request)
    {
        if (request.Files.Count == 0)
            throw new ComposeException("no Compose file was given");
        if (request.Files.Count > MaxFiles)
            throw new ComposeException($"{request.Files.Count} files were given; the limit is {MaxFiles}");
        foreach (var file in request.Files)
        {
            var bytes = Encoding.UTF8.GetByteCount(file.Content);
            if (bytes > MaxFileBytes)
                throw new ComposeException($"{file.Name} is {bytes / 1024:N0} KiB; the limit is {MaxFileBytes / 1024:N0} KiB per file");
        }

        if (request.Env is { } env && Encoding.UTF8.GetByteCount(env) > MaxEnvBytes)
            throw new ComposeException($".env is larger than {MaxEnvBytes / 1024} KiB");
    }

    /// <summary>Compose's project-name rule: lowercase letters, digits, '-' and '_'.</summary>
    public static string Slug(string name)
    {
        var slug = new string(name.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '-').ToArray()).Trim('-', '_');
        return slug.Length == 0 ? "stack" : slug;
    }
}
