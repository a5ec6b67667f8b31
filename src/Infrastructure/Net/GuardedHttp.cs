using System.Net;
using System.Net.Sockets;
using DeployDeck.Domain.Input;

namespace DeployDeck.Infrastructure.Net;

/// <summary>
/// HTTP for webhooks and HTTP gates: every address a name resolves to is checked when connecting (so a name that
/// resolves, or rebinds, to 169.254.169.254 is refused like the literal), and redirects are not followed to anywhere.
/// </summary>
public static class GuardedHttp
{
    public static SocketsHttpHandler Handler(bool allowLinkLocal) => new()
    {
        AllowAutoRedirect = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        ConnectCallback = async (context, ct) =>
        {
            var addresses = IPAddress.TryParse(context.DnsEndPoint.Host, out var literal)
                ? [literal]
                : await Dns.GetHostAddressesAsync(context.DnsEndPoint.Host, ct);
            var allowed = addresses.Where(a => allowLinkLocal || !OutboundAddresses.IsRefused(a)).ToArray();
            if (allowed.Length == 0)
            {
                throw new HttpRequestException(
                    $"{context.DnsEndPoint.Host} resolves to {string.Join(", ", addresses.Select(a => a.ToString()))}: link-local and cloud metadata addresses are refused (an Admin allows them with {OutboundAddresses.AllowSetting}=true)");
            }

            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };
}
