using DeployDeck.Domain.Plans;

namespace DeployDeck.Domain.Engine;

/// <summary>
/// One container as the engine is to create it: the service's settings, with everything that refers to the project
/// resolved to what the engine knows — network and volume names, host paths, the containers a service borrows from.
/// </summary>
/// <param name="Name">The container name on the engine.</param>
/// <param name="Labels">Compose's and DeployDeck's labels plus the service's own.</param>
public sealed record ContainerRequest(string Name, ServiceSpec Service, IReadOnlyDictionary<string, string> Labels)
{
    /// <summary>The networks the container joins, the one it is created on first; empty when <see cref="NetworkMode"/> is set.</summary>
    public IReadOnlyList<EndpointRequest> Endpoints { get; init; } = [];

    /// <summary>"host", "none", "bridge", "container:&lt;name&gt;"; null joins <see cref="Endpoints"/>.</summary>
    public string? NetworkMode { get; init; }

    public IReadOnlyList<MountRequest> Mounts { get; init; } = [];

    /// <summary>Configs and secrets, placed into the container after it is created and before it starts.</summary>
    public IReadOnlyList<FileRequest> Files { get; init; } = [];

    /// <summary>"host" or "container:&lt;name&gt;", with service:x resolved.</summary>
    public string? PidMode { get; init; }

    public string? IpcMode { get; init; }

    /// <summary>Container names, with ":ro" where asked.</summary>
    public IReadOnlyList<string> VolumesFrom { get; init; } = [];

    /// <summary>"container:alias" links, for a container on the engine's default bridge.</summary>
    public IReadOnlyList<string> Links { get; init; } = [];
}

/// <param name="Network">The engine's network name.</param>
public sealed record EndpointRequest(string Network, IReadOnlyList<string> Aliases)
{
    public string? Ipv4Address { get; init; }

    public string? Ipv6Address { get; init; }

    public IReadOnlyList<string> LinkLocalIps { get; init; } = [];

    public string? MacAddress { get; init; }

    public IReadOnlyDictionary<string, string> DriverOpts { get; init; } = new Dictionary<string, string>();

    /// <summary>"container:alias": a linked service's containers, reachable by the alias on this network.</summary>
    public IReadOnlyList<string> Links { get; init; } = [];
}

/// <param name="Type">"volume", "bind" or "tmpfs".</param>
/// <param name="Source">The engine's volume name, an absolute host path, or null (an anonymous volume, a tmpfs).</param>
public sealed record MountRequest(string Type, string? Source, string Target, bool ReadOnly)
{
    public bool NoCopy { get; init; }

    public string? Propagation { get; init; }

    public string? Selinux { get; init; }

    public long? TmpfsSizeBytes { get; init; }

    public int? TmpfsMode { get; init; }
}

/// <param name="Mode">Unix permission bits.</param>
public sealed record FileRequest(string Target, byte[] Content, int Mode, int Uid, int Gid);

/// <summary>A network of the project as the engine is to create it, or find it (external).</summary>
public sealed record NetworkRequest(string Name, NetworkSpec Spec, IReadOnlyDictionary<string, string> Labels);

public sealed record VolumeRequest(string Name, VolumeSpec Spec, IReadOnlyDictionary<string, string> Labels);

/// <summary>What the engine has of a network or volume: its labels say whose it is.</summary>
public sealed record ResourceObservation(string Name, IReadOnlyDictionary<string, string> Labels);
