using DeployDeck.Compose.Yaml;
using DeployDeck.Domain.Plans;

namespace DeployDeck.Compose;

/// <summary>The top-level <c>networks:</c>, <c>volumes:</c>, <c>configs:</c> and <c>secrets:</c> of the merged files.</summary>
internal sealed class ResourceReader(IReadOnlyDictionary<string, string> variables, ProjectFileSet files, List<PlanIssue> issues)
{
    private static readonly HashSet<string> NetworkKeys = new(StringComparer.Ordinal) { "name", "external", "driver", "driver_opts", "internal", "attachable", "enable_ipv6", "enable_ipv4", "ipam", "labels" };
    private static readonly HashSet<string> VolumeKeys = new(StringComparer.Ordinal) { "name", "external", "driver", "driver_opts", "labels" };
    private static readonly HashSet<string> FileKeys = new(StringComparer.Ordinal) { "name", "external", "file", "content", "environment", "template_driver", "labels", "driver", "driver_opts" };

    public ProjectResources Read(IReadOnlyDictionary<string, YMap> declared) => new()
    {
        Networks = Entries(declared, "networks").Select(e => ReadNetwork(e.Key, e.Value)).ToList(),
        Volumes = Entries(declared, "volumes").Select(e => ReadVolume(e.Key, e.Value)).ToList(),
        Files = [.. ReadFiles(declared, "configs", ProjectFileKind.Config), .. ReadFiles(declared, "secrets", ProjectFileKind.Secret)],
    };

    private static IEnumerable<KeyValuePair<string, YMap?>> Entries(IReadOnlyDictionary<string, YMap> declared, string section) =>
        declared.TryGetValue(section, out var map) ? map.Entries.Select(e => new KeyValuePair<string, YMap?>(e.Key, e.Value as YMap)) : [];

    private void Error(string message) => issues.Add(new(Severity.Error, message));

    private void Warn(string message) => issues.Add(new(Severity.Warning, message));

    private void UnknownKeys(YMap? map, HashSet<string> known, string where)
    {
        foreach (var key in map?.Keys.Where(k => !known.Contains(k) && !k.StartsWith("x-", StringComparison.Ordinal)) ?? [])
            Warn($"{where}: '{key}' is not a Compose key here; ignored");
    }

    private static string? Text(YNode? node) => node is YScalar { IsNull: false } s ? s.Value : null;

    private static bool IsTrue(YNode? node) => Text(node) is "true" or "True" or "yes" or "on";

    private Dictionary<string, string> Map(YNode? node, string where)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (node is null or YScalar { IsNull: true })
            return result;
        try
        {
            foreach (var (k, v) in ComposeMerge.AsMap(node, where).Entries)
                result[k] = Text(v) ?? "";
        }
        catch (ComposeException e)
        {
            Error(e.Message);
        }

        return result;
    }

    /// <summary>external: true, or (legacy) external: {name: x}.</summary>
    private (bool External, string? Name) External(YMap? map, string where)
    {
        switch (map?["external"])
        {
            case null:
                return (false, Text(map?["name"]));
            case YMap legacy:
                Warn($"{where}: external.name is deprecated; use name: beside external: true");
                return (true, Text(legacy["name"]) ?? Text(map["name"]));
            case var flag:
                return (IsTrue(flag), Text(map["name"]));
        }
    }

    private NetworkSpec ReadNetwork(string key, YMap? map)
    {
        var where = $"networks.{key}";
        UnknownKeys(map, NetworkKeys, where);
        var (external, name) = External(map, where);
        if (external && map is not null && map.Keys.Any(k => k is not ("external" or "name")))
            Error($"{where}: an external network takes no other settings than its name (Compose refuses {string.Join(", ", map.Keys.Where(k => k is not ("external" or "name")))})");
        IpamSpec? ipam = null;
        if (map?["ipam"] is YMap i)
        {
            var pools = (i["config"] as YSeq)?.Items.OfType<YMap>().Select(p => new IpamPool(Text(p["subnet"]), Text(p["ip_range"]), Text(p["gateway"]), Map(p["aux_addresses"], $"{where}.ipam.config.aux_addresses"))).ToList() ?? [];
            ipam = new IpamSpec(Text(i["driver"]), pools, Map(i["options"], $"{where}.ipam.options"));
        }

        var driver = Text(map?["driver"]);
        if (driver is "overlay")
            Error($"{where}: the overlay driver needs a swarm; a Compose project on one engine uses bridge networks");
        return new NetworkSpec(key)
        {
            Name = name,
            External = external,
            Driver = driver,
            DriverOpts = Map(map?["driver_opts"], $"{where}.driver_opts"),
            Internal = IsTrue(map?["internal"]),
            Attachable = IsTrue(map?["attachable"]),
            EnableIpv6 = map?["enable_ipv6"] is { } v6 ? IsTrue(v6) : null,
            Ipam = ipam,
            Labels = Map(map?["labels"], $"{where}.labels"),
        };
    }

    private VolumeSpec ReadVolume(string key, YMap? map)
    {
        var where = $"volumes.{key}";
        UnknownKeys(map, VolumeKeys, where);
        var (external, name) = External(map, where);
        if (external && map is not null && map.Keys.Any(k => k is not ("external" or "name")))
            Error($"{where}: an external volume takes no other settings than its name");
        return new VolumeSpec(key)
        {
            Name = name,
            External = external,
            Driver = Text(map?["driver"]),
            DriverOpts = Map(map?["driver_opts"], $"{where}.driver_opts"),
            Labels = Map(map?["labels"], $"{where}.labels"),
        };
    }

    /// <summary>A config or secret and its content: an uploaded file:, an inline content:, or a variable of the .env.</summary>
    private IEnumerable<ProjectFile> ReadFiles(IReadOnlyDictionary<string, YMap> declared, string section, ProjectFileKind kind)
    {
        foreach (var (key, map) in Entries(declared, section))
        {
            var where = $"{section}.{key}";
            UnknownKeys(map, FileKeys, where);
            if (map is null)
            {
                Error($"{where} needs a file, content or environment");
                continue;
            }

            if (IsTrue(map["external"]))
            {
                Error($"{where}: external {section} exist only on a swarm; give a file, content or environment");
                continue;
            }

            if (map.Has("template_driver") || map.Has("driver"))
                Warn($"{where}: template_driver and driver apply on a swarm only; the content is used as it is");
            if (Text(map["file"]) is { } path)
            {
                if (files.Find(path) is { } uploaded)
                    yield return new ProjectFile(kind, key, uploaded.Content, $"file {path}");
                else
                    Error($"{where}: the file {path} was not uploaded with the import: add it to the import's files");
            }
            else if (map["content"] is YScalar content)
            {
                yield return new ProjectFile(kind, key, content.Value, "content");
            }
            else if (Text(map["environment"]) is { } variable)
            {
                if (variables.TryGetValue(variable, out var value))
                    yield return new ProjectFile(kind, key, value, $"environment {variable}");
                else
                    Error($"{where}: the variable {variable} is not set in the .env");
            }
            else
            {
                Error($"{where} needs a file, content or environment");
            }
        }
    }
}
