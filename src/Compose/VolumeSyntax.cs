using DeployDeck.Domain.Plans;

namespace DeployDeck.Compose;

/// <summary>Compose's short volume notation: "target", "source:target", "source:target:ro,z,nocopy,rshared".</summary>
public static class VolumeSyntax
{
    private static readonly HashSet<string> Propagations = new(StringComparer.Ordinal) { "shared", "rshared", "slave", "rslave", "private", "rprivate" };

    public static VolumeMount ParseShort(string text)
    {
        var parts = text.Split(':');
        if (parts.Length > 3 || parts.Any(p => p.Length == 0))
            throw new FormatException($"'{text}' is not source:target[:mode]");
        if (parts.Length == 1)
            return new VolumeMount("volume", null, Absolute(parts[0], text));

        var source = parts[0];
        var target = Absolute(parts[1], text);
        var options = parts.Length == 3 ? parts[2].Split(',') : [];
        var bind = IsPath(source);
        string? propagation = null;
        string? selinux = null;
        var readOnly = false;
        var noCopy = false;
        foreach (var option in options)
        {
            switch (option)
            {
                case "ro":
                    readOnly = true;
                    break;
                case "rw":
                    readOnly = false;
                    break;
                case "z" or "Z":
                    selinux = option;
                    break;
                case "nocopy" when !bind:
                    noCopy = true;
                    break;
                case "consistent" or "cached" or "delegated":
                    break; // Docker Desktop's file sharing; nothing on Linux
                case var p when Propagations.Contains(p) && bind:
                    propagation = p;
                    break;
                default:
                    throw new FormatException($"'{text}': '{option}' is not a volume mode here (ro, rw, z, Z{(bind ? ", shared, rshared, slave, rslave, private, rprivate" : ", nocopy")})");
            }
        }

        // The short syntax lets the engine create a missing host directory; DeployDeck checks it instead (see ProjectCheck).
        return new VolumeMount(bind ? "bind" : "volume", source, target, readOnly) { Propagation = propagation, Selinux = selinux, NoCopy = noCopy, CreateHostPath = bind ? true : null };
    }

    /// <summary>A host path rather than a volume name, as Compose tells them apart.</summary>
    public static bool IsPath(string source) => source.StartsWith('/') || source.StartsWith('.') || source.StartsWith('~');

    private static string Absolute(string target, string text) =>
        target.StartsWith('/') ? target : throw new FormatException($"'{text}': the target {target} must be an absolute path in the container");
}
