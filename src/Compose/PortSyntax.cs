using System.Globalization;
using DeployDeck.Domain.Plans;

namespace DeployDeck.Compose;

/// <summary>Compose's port notations: "80", "8080:80", "127.0.0.1:8080:80/udp", "8000-8002:8000-8002", and the long form.</summary>
public static class PortSyntax
{
    public static List<PortMapping> ParseShort(string text)
    {
        var spec = text.Trim();
        var protocol = "tcp";
        var slash = spec.LastIndexOf('/');
        if (slash >= 0)
        {
            protocol = Protocol(spec[(slash + 1)..]);
            spec = spec[..slash];
        }

        var parts = spec.Split(':');
        string? hostIp = null;
        string? host = null;
        var container = parts[^1];
        if (parts.Length >= 2)
            host = parts[^2];
        if (parts.Length >= 3)
            hostIp = string.Join(':', parts[..^2]).Trim('[', ']');

        var containerPorts = Range(container, text);
        var hostPorts = string.IsNullOrEmpty(host) ? null : Range(host, text);
        if (hostPorts is not null && hostPorts.Count != containerPorts.Count && hostPorts.Count != 1)
            throw new FormatException($"'{text}' maps {hostPorts.Count} host ports to {containerPorts.Count} container ports");
        return containerPorts.Select((port, i) => new PortMapping(port, hostPorts is null ? null : hostPorts.Count == 1 ? hostPorts[0] : hostPorts[i], protocol, string.IsNullOrEmpty(hostIp) ? null : hostIp)).ToList();
    }

    public static PortMapping ParseLong(string? target, string? published, string? protocol, string? hostIp)
    {
        if (target is null)
            throw new FormatException("a port in long syntax needs a target");
        return new PortMapping(Port(target, target), string.IsNullOrEmpty(published) ? null : Port(published, published), Protocol(protocol ?? "tcp"), string.IsNullOrEmpty(hostIp) ? null : hostIp);
    }

    private static List<int> Range(string text, string whole)
    {
        var dash = text.IndexOf('-', StringComparison.Ordinal);
        if (dash < 0)
            return [Port(text, whole)];
        var first = Port(text[..dash], whole);
        var last = Port(text[(dash + 1)..], whole);
        if (last < first)
            throw new FormatException($"'{whole}' has a port range that ends before it starts");
        if (last - first >= ServiceReader.MaxPortsPerService)
            throw new FormatException($"'{whole}' spans more than {ServiceReader.MaxPortsPerService} ports");
        return Enumerable.Range(first, last - first + 1).ToList();
    }

    private static int Port(string text, string whole) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535
            ? port
            : throw new FormatException($"'{whole}' is not a port mapping: '{text}' is not a port (1–65535)");

    private static string Protocol(string text) => text.ToLowerInvariant() switch
    {
        "tcp" or "udp" or "sctp" => text.ToLowerInvariant(),
        _ => throw new FormatException($"'{text}' is not a protocol (tcp, udp, sctp)"),
    };
}

/// <summary>Splits a command string into words as POSIX shells (and Compose, via shlex) do.</summary>
public static class ShellWords
{
    public static List<string> Split(string text)
    {
        var words = new List<string>();
        var current = new System.Text.StringBuilder();
        var inWord = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            switch (c)
            {
                case ' ' or '\t' or '\n' or '\r':
                    if (inWord)
                    {
                        words.Add(current.ToString());
                        current.Clear();
                        inWord = false;
                    }

                    break;
                case '\'':
                {
                    inWord = true;
                    var end = text.IndexOf('\'', i + 1);
                    if (end < 0)
                        throw new FormatException($"no closing quotation in \"{text}\"");
                    current.Append(text, i + 1, end - i - 1);
                    i = end;
                    break;
                }

                case '"':
                    inWord = true;
                    for (i++; ; i++)
                    {
                        if (i >= text.Length)
                            throw new FormatException($"no closing quotation in \"{text}\"");
                        if (text[i] == '"')
                            break;
                        if (text[i] == '\\' && i + 1 < text.Length && text[i + 1] is '"' or '\\')
                            i++;
                        current.Append(text[i]);
                    }

                    break;
                case '\\':
                    inWord = true;
                    if (i + 1 >= text.Length)
                        throw new FormatException($"no escaped character after the final \\ in \"{text}\"");
                    if (text[i + 1] != '\n')
                        current.Append(text[i + 1]);
                    i++;
                    break;
                default:
                    inWord = true;
                    current.Append(c);
                    break;
            }
        }

        if (inWord)
            words.Add(current.ToString());
        return words;
    }
}
