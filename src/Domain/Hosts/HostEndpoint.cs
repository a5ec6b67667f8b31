using System.Globalization;
using System.Net;

namespace DeployDeck.Domain.Hosts;

public enum EndpointKind
{
    /// <summary>unix:///var/run/docker.sock: an engine on the machine DeployDeck runs on.</summary>
    Unix,

    /// <summary>tcp://host:port: with TLS (CA, client certificate and key), or plain on a loopback address only.</summary>
    Tcp,

    /// <summary>ssh://user@host[:port]: the Engine API through an SSH channel to `docker system dial-stdio`, as `docker -H ssh://` does.</summary>
    Ssh,
}

/// <summary>Where a host's engine is, parsed once: the only reader of an endpoint string.</summary>
public sealed record HostEndpoint(EndpointKind Kind, string Address, int Port, string? User, string? SocketPath)
{
    public const int DefaultTlsPort = 2376;

    public const int DefaultSshPort = 22;

    /// <summary>A loopback tcp:// address: the only one where an engine without TLS is allowed.</summary>
    public bool IsLoopback => Kind == EndpointKind.Tcp && (Address == "localhost" || (IPAddress.TryParse(Address, out var ip) && IPAddress.IsLoopback(ip)));

    public override string ToString() => Kind switch
    {
        EndpointKind.Unix => $"unix://{SocketPath}",
        EndpointKind.Ssh => string.Create(CultureInfo.InvariantCulture, $"ssh://{User}@{HostPart}:{Port}"),
        _ => string.Create(CultureInfo.InvariantCulture, $"tcp://{HostPart}:{Port}"),
    };

    private string HostPart => Address.Contains(':', StringComparison.Ordinal) ? $"[{Address}]" : Address;

    /// <summary>The endpoint, or the sentence that says what is wrong with it.</summary>
    public static (HostEndpoint? Endpoint, string? Problem) Parse(string? text)
    {
        text = text?.Trim();
        if (string.IsNullOrEmpty(text))
            return (null, "An endpoint is needed: unix:///var/run/docker.sock, tcp://host:2376 (TLS) or ssh://user@host[:port].");
        if (text.Length > 500)
            return (null, "The endpoint is longer than 500 characters.");
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri))
            return (null, $"'{text}' is not an address: use unix:///path, tcp://host:port or ssh://user@host[:port].");
        if (!string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
            return (null, $"'{text}' has a query or fragment: an endpoint has none.");

        switch (uri.Scheme)
        {
            case "unix":
                if (!string.IsNullOrEmpty(uri.Host) || !uri.AbsolutePath.StartsWith('/') || uri.AbsolutePath.Length < 2)
                    return (null, $"'{text}' is not a socket path: write unix:///var/run/docker.sock (three slashes).");
                return (new HostEndpoint(EndpointKind.Unix, "", 0, null, Uri.UnescapeDataString(uri.AbsolutePath)), null);
            case "tcp":
                if (string.IsNullOrEmpty(uri.Host))
                    return (null, $"'{text}' has no host: write tcp://host:2376.");
                if (uri.AbsolutePath is not ("" or "/") || !string.IsNullOrEmpty(uri.UserInfo))
                    return (null, $"'{text}' has a path or user: a tcp:// endpoint is tcp://host:port.");
                return (new HostEndpoint(EndpointKind.Tcp, uri.IdnHost.Trim('[', ']'), uri.IsDefaultPort || uri.Port < 0 ? DefaultTlsPort : uri.Port, null, null), null);
            case "ssh":
                if (string.IsNullOrEmpty(uri.Host))
                    return (null, $"'{text}' has no host: write ssh://user@host[:port].");
                var user = Uri.UnescapeDataString(uri.UserInfo);
                if (user.Length == 0 || user.Contains(':', StringComparison.Ordinal) || !user.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
                    return (null, $"'{text}' needs a user name (letters, digits, '-', '_', '.'; no password): ssh://user@host[:port].");
                if (uri.AbsolutePath is not ("" or "/"))
                    return (null, $"'{text}' has a path: an ssh:// endpoint reaches the host's own engine, ssh://user@host[:port].");
                return (new HostEndpoint(EndpointKind.Ssh, uri.IdnHost.Trim('[', ']'), uri.IsDefaultPort || uri.Port < 0 ? DefaultSshPort : uri.Port, user, null), null);
            default:
                return (null, $"'{uri.Scheme}://' is not supported: use unix://, tcp:// (TLS) or ssh://.");
        }
    }
}
