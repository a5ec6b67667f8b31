using System.Net;
using System.Net.Sockets;

namespace DeployDeck.Domain.Input;

/// <summary>
/// Where webhooks and HTTP gates may not go unless an Admin allows it (Outbound:AllowLinkLocal): link-local networks,
/// where clouds serve instance metadata and its credentials (169.254.169.254, fd00:ec2::254, 100.100.100.200). Loopback
/// and private networks stay allowed: on-host receivers and services are what gates and webhooks are for.
/// </summary>
public static class OutboundAddresses
{
    public const string AllowSetting = "Outbound:AllowLinkLocal";

    private static readonly IPNetwork[] Refused =
    [
        IPNetwork.Parse("169.254.0.0/16"),
        IPNetwork.Parse("100.100.100.200/32"),
        IPNetwork.Parse("fe80::/10"),
        IPNetwork.Parse("fd00:ec2::254/128"),
    ];

    public static bool IsRefused(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        return address.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6 && Refused.Any(n => n.Contains(address));
    }

    /// <summary>Why a URL may not be called, judged by what it says (an IP literal, a metadata name); DNS names are checked again when connecting.</summary>
    public static string? Problem(Uri url)
    {
        var host = url.IdnHost.Trim('[', ']');
        if (IPAddress.TryParse(host, out var ip) && IsRefused(ip))
            return $"{ip} is a link-local or cloud metadata address; an Admin allows those with {AllowSetting}=true";
        if (host.Equals("metadata.google.internal", StringComparison.OrdinalIgnoreCase) || host.Equals("metadata", StringComparison.OrdinalIgnoreCase))
            return $"'{host}' is a cloud metadata service; an Admin allows those with {AllowSetting}=true";
        return null;
    }
}
