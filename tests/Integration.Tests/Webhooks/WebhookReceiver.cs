using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace DeployDeck.Integration.Tests.Webhooks;

/// <summary>A webhook endpoint on loopback that records what it receives and answers 500 to the first N requests.</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;
    private int _failuresLeft;

    public sealed record Received(DateTimeOffset At, string Body, string? Signature, string? Event, string? Delivery, int Answered);

    public WebhookReceiver(int failFirst = 0)
    {
        _failuresLeft = failFirst;
        Port = FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}/hook";

    public ConcurrentQueue<Received> Requests { get; } = new();

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            using var reader = new StreamReader(context.Request.InputStream);
            var body = await reader.ReadToEndAsync();
            var status = Interlocked.Decrement(ref _failuresLeft) >= 0 ? 500 : 200;
            Requests.Enqueue(new Received(DateTimeOffset.UtcNow, body, context.Request.Headers["X-DeployDeck-Signature"],
                context.Request.Headers["X-DeployDeck-Event"], context.Request.Headers["X-DeployDeck-Delivery"], status));
            context.Response.StatusCode = status;
            context.Response.Close();
        }
    }

    public async Task<List<Received>> WaitForAsync(Func<List<Received>, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (done(Requests.ToList()))
                return Requests.ToList();
            await Task.Delay(250);
        }

        return Requests.ToList();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
    }
}
