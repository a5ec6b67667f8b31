namespace DeployDeck.Domain.Plans;

/// <summary>
/// What a Compose file declares beside its services: networks, volumes, configs and secrets. Names on the engine follow
/// Compose: <c>&lt;project&gt;_&lt;key&gt;</c> unless the declaration gives its own <c>name:</c> or is external.
/// </summary>
public sealed record ProjectResources
{
    public static readonly ProjectResources None = new();

    /// <summary>The network every service without <c>networks:</c> or <c>network_mode</c> joins.</summary>
    public const string DefaultNetwork = "default";

    public IReadOnlyList<NetworkSpec> Networks { get; init; } = [];

    public IReadOnlyList<VolumeSpec> Volumes { get; init; } = [];

    /// <summary>Configs and secrets; their content is stored with the revision (secrets sealed).</summary>
    public IReadOnlyList<ProjectFile> Files { get; init; } = [];

    public NetworkSpec? Network(string key) => Networks.FirstOrDefault(n => n.Key == key);

    public VolumeSpec? Volume(string key) => Volumes.FirstOrDefault(v => v.Key == key);

    public ProjectFile? File(ProjectFileKind kind, string key) => Files.FirstOrDefault(f => f.Kind == kind && f.Key == key);
}

/// <param name="Key">The name under <c>networks:</c> in the file.</param>
public sealed record NetworkSpec(string Key)
{
    /// <summary>The engine's name when the file gives one (<c>name:</c>, or the external network's name).</summary>
    public string? Name { get; init; }

    public bool External { get; init; }

    public string? Driver { get; init; }

    public IReadOnlyDictionary<string, string> DriverOpts { get; init; } = new Dictionary<string, string>();

    public bool Internal { get; init; }

    public bool Attachable { get; init; }

    public bool? EnableIpv6 { get; init; }

    public IpamSpec? Ipam { get; init; }

    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>The engine's name of the network in project <paramref name="project"/>.</summary>
    public string EngineName(string project) => Name ?? (External ? Key : $"{project}_{Key}");
}

public sealed record IpamSpec(string? Driver, IReadOnlyList<IpamPool> Config, IReadOnlyDictionary<string, string> Options);

public sealed record IpamPool(string? Subnet, string? IpRange, string? Gateway, IReadOnlyDictionary<string, string> AuxAddresses);

/// <param name="Key">The name under <c>volumes:</c> in the file, as services refer to it.</param>
public sealed record VolumeSpec(string Key)
{
    public string? Name { get; init; }

    public bool External { get; init; }

    public string? Driver { get; init; }

    public IReadOnlyDictionary<string, string> DriverOpts { get; init; } = new Dictionary<string, string>();

    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    public string EngineName(string project) => Name ?? (External ? Key : $"{project}_{Key}");
}

public enum ProjectFileKind
{
    Config,
    Secret,
}

/// <summary>
/// A config or secret with the content it had at import: from an uploaded <c>file:</c>, an inline <c>content:</c> or an
/// <c>environment:</c> variable of the .env. DeployDeck places it into containers itself, so it works on an engine whose
/// disk DeployDeck cannot see.
/// </summary>
/// <param name="Origin">Where the content came from, for the plan page: "file ./nginx.conf", "content", "environment X".</param>
public sealed record ProjectFile(ProjectFileKind Kind, string Key, string Content, string Origin)
{
    public override string ToString() => $"{Kind.ToString().ToLowerInvariant()} {Key} ({Origin})";
}

/// <summary>Compose's project-name rule: lowercase letters, digits, '-' and '_', starting with a letter or digit.</summary>
public static class ProjectNames
{
    public static string Normalise(string name)
    {
        var slug = new string(name.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '-').ToArray()).Trim('-', '_');
        return slug.Length == 0 ? "stack" : slug.Length > 63 ? slug[..63].TrimEnd('-', '_') : slug;
    }
}
