using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DeployDeck.Domain.Plans;

namespace DeployDeck.Domain.Engine;

/// <summary>
/// How a plan's Compose project lands on an engine, as Compose lays it out: networks <c>&lt;project&gt;_&lt;key&gt;</c> (the
/// default one included), volumes <c>&lt;project&gt;_&lt;key&gt;</c>, relative bind mounts under the project directory, and
/// each container on its networks with the service's name as an alias.
/// </summary>
public sealed class ProjectLayout
{
    private readonly PlanSpec _plan;
    private readonly string? _directory;

    public ProjectLayout(string project, PlanSpec plan, string? projectDirectory)
    {
        Project = project;
        _plan = plan;
        _directory = projectDirectory;
        var problems = new List<string>();
        Networks = UsedNetworks().ToList();
        Volumes = plan.AllServices.SelectMany(s => s.Volumes).Where(v => v.IsNamedVolume).Select(v => v.Source!).Distinct(StringComparer.Ordinal)
            .Select(key => plan.Resources.Volume(key) ?? new VolumeSpec(key))
            .Select(v => new VolumeRequest(v.EngineName(project), v, v.External ? new Dictionary<string, string>() : Merge(v.Labels, ComposeLabels.ForVolume(project, v.Key))))
            .ToList();
        var binds = new List<string>();
        foreach (var service in plan.AllServices)
        {
            foreach (var mount in service.Volumes.Where(v => v.IsBind))
            {
                if (ProjectPaths.Resolve(mount.Source!, projectDirectory) is { } path)
                    binds.Add(path);
                else if (mount.Source!.StartsWith('~'))
                    problems.Add($"service '{service.Name}': the bind mount {mount.Source} starts with ~, and the host has no home for it: write the absolute path");
                else
                    problems.Add($"service '{service.Name}': the bind mount {mount.Source} is relative, and the plan has no project directory on the host (an Admin sets it on the plan page)");
            }
        }

        BindSources = binds.Distinct(StringComparer.Ordinal).ToList();
        Problems = problems;
    }

    public string Project { get; }

    /// <summary>The networks the plan's services join, the default one included when a service joins it.</summary>
    public IReadOnlyList<NetworkRequest> Networks { get; }

    /// <summary>The named volumes the plan's services mount.</summary>
    public IReadOnlyList<VolumeRequest> Volumes { get; }

    /// <summary>Host paths of the plan's bind mounts, resolved; each must exist before anything starts.</summary>
    public IReadOnlyList<string> BindSources { get; }

    /// <summary>What keeps the layout from being made at all (a relative bind mount without a project directory …).</summary>
    public IReadOnlyList<string> Problems { get; }

    private IEnumerable<NetworkRequest> UsedNetworks()
    {
        var keys = _plan.AllServices.Where(s => s.NetworkMode is null)
            .SelectMany(s => s.Networks.Count == 0 ? [ProjectResources.DefaultNetwork] : s.Networks.Select(n => n.Network))
            .Distinct(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            var spec = _plan.Resources.Network(key) ?? new NetworkSpec(key);
            yield return new NetworkRequest(spec.EngineName(Project), spec, spec.External ? new Dictionary<string, string>() : Merge(spec.Labels, ComposeLabels.ForNetwork(Project, key)));
        }
    }

    /// <summary>The name of container <paramref name="number"/> of a service in one rollout: Compose's, with the rollout's mark.</summary>
    /// <remarks>A start-first update runs the new container beside the old one: the names must differ. A fixed container_name is used as it is.</remarks>
    public string ContainerName(ServiceSpec service, int number, Guid rolloutId) =>
        service.Options.ContainerName ?? $"{Project}-{service.Name}-{number}-{rolloutId.ToString("N")[^8..]}";

    /// <param name="containerOf">The container a service borrows from (network_mode, pid, ipc, volumes_from, links): its name on the engine, or null when it has none running.</param>
    /// <exception cref="InvalidOperationException">A service borrowed from has no container.</exception>
    public ContainerRequest Container(ServiceSpec service, int number, string name, IReadOnlyDictionary<string, string> labels, Func<string, string?> containerOf)
    {
        string Borrowed(string what, string other) => containerOf(other)
            ?? throw new InvalidOperationException($"{what} service:{other}, but {other} has no container on the host");

        string? Namespace(string key, string? mode) => mode switch
        {
            null => null,
            _ when mode.StartsWith("service:", StringComparison.Ordinal) => "container:" + Borrowed(key, mode["service:".Length..]),
            _ => mode,
        };

        var links = service.Options.Links.Select(l => l.Split(':', 2)).Select(p => (Service: p[0], Alias: p.Length > 1 ? p[1] : p[0])).ToList();
        var linkTargets = links.Select(l => $"{Borrowed("links to", l.Service)}:{l.Alias}").Concat(service.Options.ExternalLinks.Select(l => l.Contains(':', StringComparison.Ordinal) ? l : $"{l}:{l}")).ToList();
        var endpoints = service.NetworkMode is not null
            ? []
            : (service.Networks.Count == 0 ? [new NetworkAttachment(ProjectResources.DefaultNetwork)] : service.Networks)
                .Select(a => (Attachment: a, Network: Networks.First(n => n.Spec.Key == a.Network)))
                .OrderByDescending(e => e.Attachment.Priority).ThenBy(e => e.Network.Name, StringComparer.Ordinal)
                .Select(e => new EndpointRequest(e.Network.Name, new[] { service.Name }.Concat(e.Attachment.Aliases).Distinct(StringComparer.Ordinal).ToList())
                {
                    Ipv4Address = e.Attachment.Ipv4Address,
                    Ipv6Address = e.Attachment.Ipv6Address,
                    LinkLocalIps = e.Attachment.LinkLocalIps,
                    MacAddress = e.Attachment.MacAddress,
                    DriverOpts = e.Attachment.DriverOpts,
                    Links = linkTargets,
                })
                .ToList();

        return new ContainerRequest(name, service, Merge(labels, ComposeLabels.ForContainer(Project, service.Name, number, ConfigHash(service, _plan))))
        {
            Endpoints = endpoints,
            NetworkMode = Namespace("network_mode", service.NetworkMode),
            PidMode = Namespace("pid", service.Options.Pid),
            IpcMode = Namespace("ipc", service.Options.Ipc),
            Mounts = service.Volumes.Select(Mount).ToList(),
            Files = service.Files.Select(File).ToList(),
            VolumesFrom = service.Options.VolumesFrom.Select(v => v.StartsWith("container:", StringComparison.Ordinal)
                ? v["container:".Length..]
                : v.Split(':') is [var other, .. var mode] ? Borrowed("volumes_from", other) + (mode.Length > 0 ? ":" + mode[0] : "") : v).ToList(),
            Links = service.NetworkMode == "bridge" ? linkTargets : [],
        };
    }

    /// <summary>The services whose containers this one borrows from: links, network_mode/pid/ipc service:x, volumes_from.</summary>
    public static IReadOnlyList<string> BorrowsFrom(ServiceSpec service) =>
        service.Options.Links.Select(l => l.Split(':')[0])
            .Concat(new[] { service.NetworkMode, service.Options.Pid, service.Options.Ipc }
                .Where(m => m?.StartsWith("service:", StringComparison.Ordinal) == true).Select(m => m!["service:".Length..]))
            .Concat(service.Options.VolumesFrom.Where(v => !v.StartsWith("container:", StringComparison.Ordinal)).Select(v => v.Split(':')[0]))
            .Distinct(StringComparer.Ordinal).ToList();

    private MountRequest Mount(VolumeMount v) => new(
        v.Type,
        v.Type switch
        {
            "bind" => ProjectPaths.Resolve(v.Source!, _directory) ?? throw new InvalidOperationException($"the bind mount {v.Source} has no place on the host: {string.Join("; ", Problems)}"),
            "volume" when v.Source is not null => Volumes.First(r => r.Spec.Key == v.Source).Name,
            _ => null,
        },
        v.Target,
        v.ReadOnly)
    {
        NoCopy = v.NoCopy,
        Propagation = v.Propagation,
        Selinux = v.Selinux,
        TmpfsSizeBytes = v.TmpfsSizeBytes,
        TmpfsMode = v.TmpfsMode,
    };

    private FileRequest File(FileMount f)
    {
        var content = _plan.Resources.File(f.Kind, f.Source) ?? throw new InvalidOperationException($"the {f.Kind.ToString().ToLowerInvariant()} {f.Source} is not in the plan");
        return new FileRequest(f.Target, Encoding.UTF8.GetBytes(content.Content), f.Mode ?? Convert.ToInt32("444", 8), Id(f.Uid), Id(f.Gid));

        static int Id(string? text) => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : 0;
    }

    /// <summary>
    /// Compose's <c>com.docker.compose.config-hash</c> of a service: what decides whether its container must be recreated.
    /// It covers the service's effective definition and — unlike Compose's (compose #11900) — the content of the configs and
    /// secrets it mounts; not its gates, replicas, dependencies or update settings, which change no container.
    /// </summary>
    public static string ConfigHash(ServiceSpec service, PlanSpec plan)
    {
        var node = JsonSerializer.SerializeToNode(Rollouts.Reconcile.Definition(service), HashJson)!.AsObject();
        node["files"] = new JsonArray(service.Files.Select(f => (JsonNode)(plan.Resources.File(f.Kind, f.Source)?.Content ?? "")).ToArray());
        var canonical = Canonical(node)!.ToJsonString();
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }

    private static readonly JsonSerializerOptions HashJson = new() { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };

    /// <summary>Object keys sorted at every level: a dictionary's insertion order must not change the hash.</summary>
    private static JsonNode? Canonical(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => new KeyValuePair<string, JsonNode?>(p.Key, Canonical(p.Value)))),
        JsonArray a => new JsonArray(a.Select(Canonical).ToArray()),
        null => null,
        _ => node.DeepClone(),
    };

    private static Dictionary<string, string> Merge(IReadOnlyDictionary<string, string> first, IReadOnlyDictionary<string, string> then)
    {
        var result = new Dictionary<string, string>(first, StringComparer.Ordinal);
        foreach (var (k, v) in then)
            result[k] = v;
        return result;
    }
}
