using System.Net;

namespace DeployDeck.Web.Monitoring;

/// <summary>Who may read /metrics without signing in. Everyone else needs a login or an API token.</summary>
public sealed class MetricsOptions
{
    public const string Section = "Metrics";

    /// <summary>CIDR networks whose scrapers need no token, e.g. "127.0.0.1/32" or "10.0.0.0/8". Empty: a token always.</summary>
    public List<string> AllowedNetworks { get; set; } = [];

    /// <summary>How long figures read from PostgreSQL (rollouts, phases, gates) are reused between scrapes.</summary>
    public TimeSpan DatabaseCacheFor { get; set; } = TimeSpan.FromSeconds(10);

    public IEnumerable<string> Problems()
    {
        foreach (var network in AllowedNetworks.Where(n => !IPNetwork.TryParse(n, out _)))
            yield return $"Metrics:AllowedNetworks entry '{network}' is not a CIDR network (like 127.0.0.1/32)";
        if (DatabaseCacheFor < TimeSpan.Zero)
            yield return "Metrics:DatabaseCacheFor must not be negative";
    }

    public bool Allows(IPAddress? address)
    {
        if (address is null)
            return false;
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        return AllowedNetworks.Any(n => IPNetwork.TryParse(n, out var network) && network.Contains(address));
    }
}
