using System.Text;
using DeployDeck.Compose.Yaml;
using DeployDeck.Domain.Plans;

namespace DeployDeck.Compose;

public sealed record ComposeSource(string Name, string Content);

/// <param name="Files">In merge order: later files override earlier ones.</param>
/// <param name="Env">.env content: the only source of variables.</param>
/// <param name="Profiles">Services with profiles are read only when one of theirs is here.</param>
/// <param name="ProjectName">The project's name when the files give none (<c>name:</c>): the plan's name.</param>
/// <param name="ProjectFiles">Other files the Compose files refer to (env_file, configs, secrets, extends), by the path they write.</param>
public sealed record ComposeImportRequest(IReadOnlyList<ComposeSource> Files, string? Env = null, IReadOnlyList<string>? Profiles = null, string ProjectName = "stack",
    IReadOnlyList<ComposeSource>? ProjectFiles = null);

/// <summary>What the files say, service by service, and every finding; <see cref="Services"/> is empty when an error was found.</summary>
public sealed record ComposeModel(IReadOnlyList<ImportedService> Services, IReadOnlyList<PlanIssue> Issues, IReadOnlyList<string> SkippedByProfile)
{
    /// <summary>Normalised as Compose does: the files' <c>name:</c>, else the requested one.</summary>
    public string ProjectName { get; init; } = "stack";

    public ProjectResources Resources { get; init; } = ProjectResources.None;

    /// <summary>Phase settings from the top-level <c>x-deploydeck.phases</c>.</summary>
    public IReadOnlyList<PhaseSettings> Phases { get; init; } = [];

    public Domain.Units.MemorySize? StackBudget { get; init; }

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
        var projectFiles = new ProjectFileSet(request.ProjectFiles ?? []);

        var services = new Dictionary<string, YMap>(StringComparer.Ordinal);
        var declared = new Dictionary<string, YMap>(StringComparer.Ordinal); // top-level networks, volumes, configs, secrets
        string? projectName = null;
        YMap? extension = null;
        var nodes = 0L;
        foreach (var file in request.Files)
        {
            var top = ReadTop(file, ref nodes);
            foreach (var key in top.Keys.Where(k => !k.StartsWith("x-", StringComparison.Ordinal) && !TopLevelKeys.Contains(k)))
                issues.Add(new(Severity.Warning, $"{file.Name}: top-level key '{key}' is not Compose; ignored"));
            if (top.Has("include"))
                issues.Add(new(Severity.Warning, $"{file.Name}: 'include' is not followed; upload the included files as well"));
            if (top.Has("models"))
                issues.Add(new(Severity.Warning, $"{file.Name}: 'models' are not run by DeployDeck"));
            if (top["x-deploydeck"] is YMap ext)
                extension = extension is null ? (YMap)interpolation.Apply(ext, "x-deploydeck") : ComposeMerge.MergeDeclarations(extension, (YMap)interpolation.Apply(ext, "x-deploydeck"));
            if (top["name"] is { } name)
                projectName = ((YScalar)interpolation.Apply(name is YScalar ? name : throw new ComposeException($"{file.Name}: name must be a single value"), "name")).Value;

            foreach (var section in new[] { "networks", "volumes", "configs", "secrets" })
            {
                switch (top[section])
                {
                    case null or YScalar { IsNull: true }:
                        break;
                    case YMap map:
                        var interpolated = (YMap)interpolation.Apply(map, section);
                        declared[section] = declared.TryGetValue(section, out var earlier) ? ComposeMerge.MergeDeclarations(earlier, interpolated) : interpolated;
                        break;
                    case var other:
                        throw new ComposeException($"{file.Name} line {other.Line}: '{section}' must be a mapping, not {other.Kind}");
                }
            }

            switch (top["services"])
            {
                case null or YScalar { IsNull: true }:
                    continue;
                case YMap fileServices:
                    foreach (var (serviceName, node) in fileServices.Entries)
                    {
                        if (node is not YMap service)
                            throw new ComposeException($"{file.Name} line {node.Line}: service '{serviceName}' must be a mapping, not {node.Kind}");
                        var interpolated = (YMap)interpolation.Apply(service, $"services.{serviceName}");
                        services[serviceName] = services.TryGetValue(serviceName, out var earlier) ? ComposeMerge.MergeService(earlier, interpolated) : interpolated;
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

        var extended = new Extends(services, projectFiles, interpolation);
        foreach (var serviceName in services.Keys.ToList())
            services[serviceName] = extended.Resolve(serviceName);

        foreach (var variable in interpolation.Unset.Order(StringComparer.Ordinal))
            issues.Add(new(Severity.Warning, $"variable {variable} is not set in .env; an empty string is used"));

        var project = ProjectNames.Normalise(projectName ?? request.ProjectName);
        var (phaseSettings, stackBudget) = DeployDeckExtension.Read(extension, issues);
        var resources = new ResourceReader(variables, projectFiles, issues).Read(declared);
        var profiles = new HashSet<string>(request.Profiles ?? [], StringComparer.Ordinal);
        var imported = new List<ImportedService>();
        var skipped = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var (serviceName, node) in services)
        {
            var service = new ServiceReader(serviceName, project, variables, projectFiles, issues).Read(node);
            if (service.Profiles.Count > 0 && !service.Profiles.Any(profiles.Contains))
                skipped[serviceName] = service.Profiles;
            else
                imported.Add(service);
        }

        CheckReferences(imported, services, skipped, resources, issues);
        if (imported.Count == 0)
            issues.Add(new(Severity.Error, $"every service needs a profile that was not chosen ({string.Join(", ", skipped.Values.SelectMany(p => p).Distinct())})"));

        var hasErrors = issues.Any(i => i.Severity == Severity.Error);
        return new ComposeModel(hasErrors ? [] : imported, issues, skipped.Keys.Order(StringComparer.Ordinal).ToList())
        {
            ProjectName = project,
            Resources = resources,
            Phases = phaseSettings,
            StackBudget = stackBudget,
        };
    }

    private static YMap ReadTop(ComposeSource file, ref long nodes)
    {
        var root = YamlReader.Read(file.Name, file.Content, MaxNodes) ?? throw new ComposeException($"{file.Name}: the file is empty");
        nodes += root.ExpandedSize;
        if (nodes > MaxNodes)
            throw new ComposeException($"the files expand to more than {MaxNodes:N0} YAML nodes together — refused as too large");
        return root as YMap ?? throw new ComposeException($"{file.Name}: the top level must be a mapping with a 'services' key, not {root.Kind}");
    }

    /// <summary>Every name a service refers to must exist: services (depends_on, links, network_mode …), networks, volumes, configs, secrets.</summary>
    private static void CheckReferences(List<ImportedService> imported, Dictionary<string, YMap> all, Dictionary<string, IReadOnlyList<string>> skipped,
        ProjectResources resources, List<PlanIssue> issues)
    {
        var active = imported.Select(s => s.Spec.Name).ToHashSet(StringComparer.Ordinal);
        void Error(string service, string message) => issues.Add(new(Severity.Error, message, Service: service));

        void Service(string from, string key, string target)
        {
            if (active.Contains(target))
                return;
            if (skipped.TryGetValue(target, out var only))
                Error(from, $"{key} '{target}', which runs only with profile {string.Join(" or ", only)}: choose that profile or remove the reference");
            else if (!all.ContainsKey(target))
                Error(from, $"{key} '{target}', which no file defines");
        }

        foreach (var service in imported.Select(i => i.Spec))
        {
            foreach (var dep in service.DependsOn.Where(d => d.Required || all.ContainsKey(d.Service)))
                Service(service.Name, "depends on", dep.Service);
            foreach (var link in service.Options.Links)
                Service(service.Name, "links to", link.Split(':')[0]);
            foreach (var (key, value) in new[] { ("network_mode", service.NetworkMode), ("pid", service.Options.Pid), ("ipc", service.Options.Ipc) })
            {
                if (value?.StartsWith("service:", StringComparison.Ordinal) == true)
                    Service(service.Name, $"{key} uses", value["service:".Length..]);
            }

            foreach (var from in service.Options.VolumesFrom.Where(v => !v.StartsWith("container:", StringComparison.Ordinal)))
                Service(service.Name, "takes volumes_from", from.Split(':')[0]);
            foreach (var network in service.Networks.Where(n => n.Network != ProjectResources.DefaultNetwork && resources.Network(n.Network) is null))
                Error(service.Name, $"joins network '{network.Network}', which the files do not declare under the top-level networks:");
            foreach (var volume in service.Volumes.Where(v => v.IsNamedVolume && resources.Volume(v.Source!) is null))
                Error(service.Name, $"mounts volume '{volume.Source}', which the files do not declare under the top-level volumes:");
            foreach (var file in service.Files.Where(f => resources.File(f.Kind, f.Source) is null))
                Error(service.Name, $"uses {Word(file.Kind)} '{file.Source}', which the files do not declare under the top-level {Word(file.Kind)}s:");
        }

        static string Word(ProjectFileKind kind) => kind == ProjectFileKind.Config ? "config" : "secret";
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
        var extra = request.ProjectFiles ?? [];
        if (extra.Count > ProjectFileSet.MaxFiles)
            throw new ComposeException($"{extra.Count} project files were given; the limit is {ProjectFileSet.MaxFiles}");
        foreach (var file in extra)
        {
            if (string.IsNullOrWhiteSpace(file.Name))
                throw new ComposeException("a project file has no name: give the path the Compose file uses for it");
            var bytes = Encoding.UTF8.GetByteCount(file.Content);
            if (bytes > ProjectFileSet.MaxFileBytes)
                throw new ComposeException($"{file.Name} is {bytes / 1024:N0} KiB; the limit is {ProjectFileSet.MaxFileBytes / 1024:N0} KiB per project file");
        }
    }

    /// <summary>
    /// <c>extends:</c> — a service built on another one of the same files or of an uploaded file, merged with Compose's
    /// rules (the extending service's keys win); chains are followed, cycles refused.
    /// </summary>
    private sealed class Extends(Dictionary<string, YMap> services, ProjectFileSet files, Interpolation interpolation)
    {
        private readonly Dictionary<string, YMap> _resolved = new(StringComparer.Ordinal);
        private readonly Dictionary<string, YMap> _otherFiles = new(StringComparer.Ordinal);

        public YMap Resolve(string name) => Resolve(name, services[name], [], null);

        private YMap Resolve(string key, YMap service, List<string> chain, string? file)
        {
            var id = (file ?? "") + "#" + key;
            if (_resolved.TryGetValue(id, out var done))
                return done;
            if (chain.Contains(id))
                throw new ComposeException($"service '{key}' extends itself through {string.Join(" → ", chain.Select(c => c.Split('#')[1]))}");
            if (service["extends"] is not { } extends)
                return _resolved[id] = service;

            var (baseName, baseFile) = extends switch
            {
                YScalar s => (s.Value, (string?)null),
                YMap m => ((m["service"] as YScalar)?.Value ?? throw new ComposeException($"service '{key}': extends needs a service"), (m["file"] as YScalar)?.Value),
                _ => throw new ComposeException($"service '{key}': extends must be a service name or a mapping"),
            };
            var from = baseFile ?? file;
            YMap? baseService;
            if (from is null)
            {
                baseService = services.GetValueOrDefault(baseName);
            }
            else
            {
                var other = OtherFile(from, key);
                baseService = (other["services"] as YMap)?[baseName] as YMap;
            }

            if (baseService is null)
                throw new ComposeException($"service '{key}' extends '{baseName}'{(from is null ? "" : $" of {from}")}, which is not defined there");
            var resolvedBase = Resolve(baseName, baseService, [.. chain, id], from);
            var own = new YMap(service.Entries.Where(e => e.Key != "extends").ToList(), service.Line, service.Column);
            return _resolved[id] = ComposeMerge.MergeService(new YMap(resolvedBase.Entries.Where(e => e.Key != "extends").ToList(), resolvedBase.Line, resolvedBase.Column), own);
        }

        private YMap OtherFile(string path, string service)
        {
            if (_otherFiles.TryGetValue(path, out var known))
                return known;
            var source = files.Find(path) ?? throw new ComposeException($"service '{service}' extends a service of {path}, which was not uploaded with the import");
            var root = YamlReader.Read(source.Name, source.Content, MaxNodes) as YMap ?? throw new ComposeException($"{source.Name}: the top level must be a mapping");
            return _otherFiles[path] = (YMap)interpolation.Apply(root, source.Name);
        }
    }
}
