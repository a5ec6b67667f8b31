namespace DeployDeck.Domain.Plans;

/// <summary>One key of a plan that hands a container the host (or another project's containers).</summary>
/// <param name="Service">The service, or null for a project-level declaration (a volume).</param>
/// <param name="Key">The Compose key as the file writes it: "privileged", "volumes", "cap_add" …</param>
/// <param name="Detail">What exactly: "SYS_ADMIN", "/var/run/docker.sock:/var/run/docker.sock".</param>
public sealed record HostAccessFinding(string? Service, string Key, string Detail)
{
    /// <summary>How an allowance names the finding: stable across revisions that keep it.</summary>
    public string Id => $"{Service ?? "volumes"}: {Key} {Detail}";

    public override string ToString() => (Service is null ? "" : $"service '{Service}': ") + $"{Key} {Detail}";
}

/// <summary>An Admin's allowance, for one revision, of exactly the findings it lists; recorded with who and why.</summary>
public sealed record HostAccessAllowance(string AllowedBy, string Reason, DateTimeOffset At, IReadOnlyList<string> Findings)
{
    public bool Covers(IEnumerable<HostAccessFinding> findings) => findings.All(f => Findings.Contains(f.Id, StringComparer.Ordinal));
}

/// <summary>
/// The keys through which a container gets the host: root on it (privileged, host namespaces, the Docker socket, devices,
/// kernel capabilities, unconfined security profiles) or at the data of everything else on it (bind mounts outside the
/// plan's project directory, volumes that are host paths in disguise). An Operator's plan that asks for any is refused;
/// an Admin may allow them per revision.
/// </summary>
public static class HostAccess
{
    /// <summary>Capabilities beyond Docker's default set that are still harmless to the host.</summary>
    private static readonly HashSet<string> HarmlessCapabilities = new(StringComparer.OrdinalIgnoreCase)
    {
        // Docker's default set: adding them changes nothing.
        "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID", "SETFCAP", "SETPCAP", "NET_BIND_SERVICE",
        "SYS_CHROOT", "KILL", "AUDIT_WRITE",
        // Within the container's own limits.
        "IPC_LOCK", "SYS_NICE", "NET_BROADCAST",
    };

    private static readonly string[] DockerSockets = ["/var/run/docker.sock", "/run/docker.sock"];

    public static IReadOnlyList<HostAccessFinding> Find(PlanSpec plan, string? projectDirectory)
    {
        var findings = new List<HostAccessFinding>();
        var disguised = plan.Resources.Volumes.Where(IsHostPath).ToDictionary(v => v.Key, StringComparer.Ordinal);
        foreach (var volume in disguised.Values)
            findings.Add(new(null, "volumes", $"{volume.Key} (driver_opts device {volume.DriverOpts.GetValueOrDefault("device")})"));

        foreach (var s in plan.AllServices)
        {
            var o = s.Options;
            void Add(string key, string detail) => findings.Add(new(s.Name, key, detail));
            if (o.Privileged)
                Add("privileged", "true");
            foreach (var (key, value) in new[] { ("network_mode", s.NetworkMode), ("pid", o.Pid), ("ipc", o.Ipc), ("uts", o.Uts), ("userns_mode", o.UsernsMode), ("cgroup", o.Cgroup) })
            {
                if (value is not null && (value == "host" || value.StartsWith("container:", StringComparison.Ordinal)))
                    Add(key, value);
            }

            foreach (var cap in o.CapAdd.Where(c => !HarmlessCapabilities.Contains(Capability(c))))
                Add("cap_add", Capability(cap));
            foreach (var device in o.Devices)
                Add("devices", device.ToString());
            foreach (var rule in o.DeviceCgroupRules)
                Add("device_cgroup_rules", rule);
            foreach (var opt in o.SecurityOpt.Where(Unconfines))
                Add("security_opt", opt);
            if (o.CgroupParent is { } parent)
                Add("cgroup_parent", parent);
            if (o.Runtime is { } runtime && runtime != "runc")
                Add("runtime", runtime);
            foreach (var from in o.VolumesFrom.Where(v => v.StartsWith("container:", StringComparison.Ordinal)))
                Add("volumes_from", from);
            foreach (var mount in s.Volumes)
            {
                if (mount.IsBind && mount.Source is { } source && BindReachesHost(source, projectDirectory))
                    Add("volumes", $"{source}:{mount.Target}{(mount.ReadOnly ? ":ro" : "")}");
                else if (mount.IsNamedVolume && disguised.ContainsKey(mount.Source!))
                    Add("volumes", $"{mount.Source}:{mount.Target} (a host path)");
            }
        }

        return findings;
    }

    /// <summary>A bind source outside the project directory, or the Docker socket anywhere.</summary>
    public static bool BindReachesHost(string source, string? projectDirectory)
    {
        var resolved = ProjectPaths.Resolve(source, projectDirectory);
        if (resolved is null)
            return !ProjectPaths.IsRelative(source); // a relative path with no project directory yet resolves nowhere: refused when it runs
        if (DockerSockets.Any(d => resolved == d || resolved.StartsWith(d + "/", StringComparison.Ordinal)))
            return true;
        return projectDirectory is null || !ProjectPaths.IsInside(resolved, ProjectPaths.Normalise(projectDirectory));
    }

    private static string Capability(string cap) => (cap.StartsWith("CAP_", StringComparison.OrdinalIgnoreCase) ? cap[4..] : cap).ToUpperInvariant();

    private static bool Unconfines(string opt)
    {
        var normalised = opt.Replace('=', ':').Trim().ToLowerInvariant();
        return normalised is "seccomp:unconfined" or "apparmor:unconfined" or "label:disable" or "systempaths:unconfined" or "label:type:spc_t"
            || normalised.StartsWith("seccomp:/", StringComparison.Ordinal) || normalised.StartsWith("seccomp:.", StringComparison.Ordinal);
    }

    /// <summary>The local driver's "bind in disguise": <c>driver_opts: {type: none, o: bind, device: /etc}</c>.</summary>
    private static bool IsHostPath(VolumeSpec volume) =>
        volume.DriverOpts.TryGetValue("device", out var device) && device.StartsWith('/')
        && (volume.DriverOpts.GetValueOrDefault("o") ?? "").Split(',').Any(o => o.Trim() is "bind" or "rbind");
}

/// <summary>Host paths of bind mounts, resolved against a plan's project directory as Compose resolves them against its own.</summary>
public static class ProjectPaths
{
    public static bool IsRelative(string source) => !source.StartsWith('/');

    /// <summary>The absolute, normalised path; null for a relative one without a project directory, or one starting with ~.</summary>
    public static string? Resolve(string source, string? projectDirectory)
    {
        if (source.StartsWith('~'))
            return null;
        if (!IsRelative(source))
            return Normalise(source);
        return projectDirectory is null ? null : Normalise(projectDirectory.TrimEnd('/') + "/" + source);
    }

    /// <summary>"/a/./b//c/../d" → "/a/b/d"; ".." never climbs above "/".</summary>
    public static string Normalise(string path)
    {
        var parts = new List<string>();
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".")
                continue;
            if (part == "..")
            {
                if (parts.Count > 0)
                    parts.RemoveAt(parts.Count - 1);
                continue;
            }

            parts.Add(part);
        }

        return "/" + string.Join('/', parts);
    }

    public static bool IsInside(string path, string directory) =>
        path == directory || path.StartsWith(directory.TrimEnd('/') + "/", StringComparison.Ordinal);
}
