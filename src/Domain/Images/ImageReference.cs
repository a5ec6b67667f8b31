namespace DeployDeck.Domain.Images;

/// <summary>
/// An image reference read as the Docker engine reads it: the first path component is a registry when it has a '.' or
/// a ':' or is <c>localhost</c>; otherwise the image is on Docker Hub (and a one-part name is under <c>library/</c>).
/// </summary>
public sealed record ImageReference(string Registry, string Repository, string? Tag, string? Digest)
{
    public const string DockerHub = "docker.io";

    /// <summary>What the engine pulls when only a name is given.</summary>
    public string TagOrDefault => Tag ?? "latest";

    /// <summary>What to ask the registry's manifest endpoint for: the digest when pinned, else the tag.</summary>
    public string ManifestReference => Digest ?? TagOrDefault;

    /// <returns>Null where <paramref name="image"/> is not a reference at all (empty, spaces, an empty component).</returns>
    public static ImageReference? Parse(string? image)
    {
        if (string.IsNullOrWhiteSpace(image) || image.Any(char.IsWhiteSpace))
            return null;
        var rest = image;
        string? digest = null;
        var at = rest.IndexOf('@');
        if (at >= 0)
        {
            digest = rest[(at + 1)..];
            rest = rest[..at];
            if (!digest.Contains(':'))
                return null;
        }

        string? tag = null;
        var lastColon = rest.LastIndexOf(':');
        if (lastColon > rest.LastIndexOf('/'))
        {
            tag = rest[(lastColon + 1)..];
            rest = rest[..lastColon];
            if (tag.Length == 0)
                return null;
        }

        var slash = rest.IndexOf('/');
        var registry = DockerHub;
        if (slash > 0 && rest[..slash] is var first && (first.Contains('.') || first.Contains(':') || first == "localhost"))
        {
            registry = first;
            rest = rest[(slash + 1)..];
        }

        if (rest.Length == 0 || rest.Split('/').Any(p => p.Length == 0))
            return null;
        if (registry == DockerHub && !rest.Contains('/'))
            rest = "library/" + rest;
        return new ImageReference(registry.ToLowerInvariant(), rest, tag, digest);
    }

    /// <summary>Whether <paramref name="server"/> (as a registry login names it: <c>host[:port]</c>, perhaps with a scheme or path) is this image's registry.</summary>
    public bool IsOn(string server) => string.Equals(RegistryHost(server), Registry, StringComparison.OrdinalIgnoreCase)
        || (Registry == DockerHub && RegistryHost(server) is "index.docker.io" or "registry-1.docker.io");

    /// <summary>"https://127.0.0.1:5000/v2/" → "127.0.0.1:5000": the part of a login's server that names the registry.</summary>
    public static string RegistryHost(string server)
    {
        var s = server.Trim();
        var scheme = s.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
            s = s[(scheme + 3)..];
        var path = s.IndexOf('/');
        return (path >= 0 ? s[..path] : s).ToLowerInvariant();
    }

    /// <summary>A login's server as images name its registry ("https://index.docker.io/v1/" is docker.io), or why it is not one.</summary>
    public static (string? Server, string? Problem) NormalizeServer(string? server)
    {
        if (string.IsNullOrWhiteSpace(server))
            return (null, "a registry login needs the server, as image names carry it: \"127.0.0.1:5000\", \"ghcr.io\", \"docker.io\"");
        var host = RegistryHost(server);
        if (host is "index.docker.io" or "registry-1.docker.io")
            host = DockerHub;
        var colon = host.LastIndexOf(':');
        var name = colon > 0 && !host.EndsWith(']') ? host[..colon] : host;
        var port = colon > 0 && !host.EndsWith(']') ? host[(colon + 1)..] : null;
        var nameOk = name.Length is > 0 and <= 253 && (name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-')
            || (name.StartsWith('[') && name.EndsWith(']') && System.Net.IPAddress.TryParse(name[1..^1], out _)));
        if (!nameOk)
            return (null, $"'{server.Trim()}' is not a registry server: give host[:port] (letters, digits, '.', '-'), as in image names");
        if (port is not null && !(int.TryParse(port, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var p) && p is > 0 and < 65536))
            return (null, $"'{server.Trim()}' has no valid port: 1 to 65535");
        return (host, null);
    }

    /// <summary>A registry on this machine's loopback: the engine talks plain HTTP to it, as it does to 127.0.0.0/8.</summary>
    public bool IsLoopback
    {
        get
        {
            var host = Registry.StartsWith('[') ? Registry[1..Registry.IndexOf(']')] : Registry.Split(':')[0];
            return host == "localhost" || host.StartsWith("127.", StringComparison.Ordinal) || host == "::1";
        }
    }

    public override string ToString() => $"{Registry}/{Repository}{(Tag is null ? "" : ":" + Tag)}{(Digest is null ? "" : "@" + Digest)}";
}
