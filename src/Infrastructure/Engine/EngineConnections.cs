using System.Collections.Concurrent;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using DeployDeck.Domain.Engine;
using DeployDeck.Domain.Hosts;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Secrets;
using Docker.DotNet;
using Docker.DotNet.NativeHttp;
using Docker.DotNet.X509;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DeployDeck.Infrastructure.Engine;

/// <summary>What DeployDeck needs to reach one host: built from its row, or from a form not saved yet.</summary>
public sealed record HostConnection(Guid HostId, string Name, HostEndpoint Endpoint, HostCredentials? Credentials, string? SshHostKey, int Version = 0);

/// <summary>
/// One host's engine: its own Docker client (unix socket, TLS with the host's certificates, or an SSH channel), and the
/// adapter, inspector and raw calls over it. Every call through it has the host's time-outs; nothing here is shared
/// with another host, so one host's outage never holds up another's work.
/// </summary>
public sealed class HostEngine : IDisposable
{
    internal HostEngine(HostConnection connection, DockerClient client, DockerRaw raw, IOptions<DockerOptions> options, IOptions<PreflightOptions> preflight,
        TimeProvider clock, ILoggerFactory loggers, SshTunnel? ssh)
    {
        Connection = connection;
        Client = client;
        Raw = raw;
        Ssh = ssh;
        Engine = new DockerContainerEngine(client, options);
        Inspector = new DockerHostInspector(client, raw, options, preflight, clock, loggers.CreateLogger<DockerHostInspector>());
    }

    public HostConnection Connection { get; }

    public Guid HostId => Connection.HostId;

    public string HostName => Connection.Name;

    /// <summary>The engine runs on this machine: its host's files (/proc, cgroups) are this machine's.</summary>
    public bool IsLocal => Connection.Endpoint.Kind == EndpointKind.Unix;

    public DockerClient Client { get; }

    public IContainerEngine Engine { get; }

    public IHostInspector Inspector { get; }

    public DockerRaw Raw { get; }

    internal SshTunnel? Ssh { get; }

    /// <summary>The SSH host key seen at the last connection, if this is an ssh:// host.</summary>
    public string? PresentedHostKey => Ssh?.PresentedHostKey;

    public void Dispose()
    {
        Client.Dispose();
        Raw.Dispose();
        Ssh?.Dispose();
    }
}

/// <summary>What "Test connection" shows of an engine.</summary>
public sealed record EngineFacts(string ServerVersion, string ApiVersion, string OperatingSystem, int Cpus, long MemoryBytes, string SwarmState, int ContainersRunning,
    string DockerRootDir, string? SshHostKey);

public sealed class EngineOptions
{
    public const string Section = "Engines";

    /// <summary>How long opening a connection to a remote engine (TCP, TLS, SSH) may take before the host counts as unreachable.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Engine API connections per remote host at once (an sshd allows 10 sessions per connection by default).</summary>
    public int MaxConnectionsPerHost { get; set; } = 8;
}

/// <summary>
/// Each host's engine client, built on first use from the host's row and kept until the host's connection changes
/// (<see cref="DockerHost.ConnectionVersion"/>). The replaced client is disposed a while later, so calls still running
/// on it finish. Credentials are decrypted here and nowhere else.
/// </summary>
public sealed class EngineConnections(
    SecretBox secrets, IOptions<DockerOptions> docker, IOptions<PreflightOptions> preflight, IOptions<EngineOptions> options, TimeProvider clock, ILoggerFactory loggers)
    : IDisposable
{
    private readonly ConcurrentDictionary<Guid, Lazy<HostEngine>> _engines = new();
    private readonly ILogger _logger = loggers.CreateLogger<EngineConnections>();

    /// <exception cref="SecretUnreadableException">The host's stored credentials do not decrypt here.</exception>
    /// <exception cref="ArgumentException">The host's endpoint is not valid (a row written by hand).</exception>
    public HostEngine For(DockerHost host)
    {
        while (true)
        {
            var entry = _engines.GetOrAdd(host.Id, _ => new Lazy<HostEngine>(() => Open(ConnectionOf(host))));
            var engine = entry.Value;
            if (engine.Connection.Version >= host.ConnectionVersion)
                return engine;
            if (_engines.TryUpdate(host.Id, new Lazy<HostEngine>(() => Open(ConnectionOf(host))), entry))
                Retire(engine);
        }
    }

    /// <summary>A client of a host's engine that is not cached: for a connection test before a host is saved. The caller disposes it.</summary>
    public HostEngine Open(HostConnection connection)
    {
        var o = docker.Value;
        var perHost = Options.Create(new DockerOptions { Endpoint = connection.Endpoint.ToString(), RequestTimeout = o.RequestTimeout, HelperImage = o.HelperImage });
        var endpoint = connection.Endpoint;
        var connect = options.Value.ConnectTimeout;
        var max = options.Value.MaxConnectionsPerHost;
        switch (endpoint.Kind)
        {
            case EndpointKind.Unix:
                return new HostEngine(connection, new DockerClientBuilder().WithEndpoint(new Uri(endpoint.ToString())).Build(),
                    new DockerRaw(perHost), perHost, preflight, clock, loggers, null);

            case EndpointKind.Ssh:
            {
                var key = connection.Credentials?.Ssh ?? throw new ArgumentException($"host {connection.Name} has no SSH key");
                var tunnel = new SshTunnel(endpoint, key, connection.SshHostKey, connect, _logger);
                void Configure(SocketsHttpHandler h)
                {
                    h.ConnectTimeout = connect;
                    h.MaxConnectionsPerServer = max;
                    h.PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60);
                    h.ConnectCallback = async (_, ct) => await tunnel.DialAsync(ct);
                }

                var client = new DockerClientBuilder().WithEndpoint(new Uri($"tcp://{Bracketed(endpoint.Address)}:{endpoint.Port}"))
                    .WithTransportOptions(new NativeHttpTransportOptions { ConfigureHandler = Configure }).Build();
                var handler = new SocketsHttpHandler();
                Configure(handler);
                return new HostEngine(connection, client, new DockerRaw(handler, new Uri("http://docker/"), o.RequestTimeout), perHost, preflight, clock, loggers, tunnel);
            }

            default:
            {
                var tls = connection.Credentials?.Tls;
                if (tls is null && !endpoint.IsLoopback)
                    throw new ArgumentException($"host {connection.Name}: {endpoint} without TLS is refused (only a loopback address may go without)");
                X509Certificate2? certificate = null;
                RemoteCertificateValidationCallback? validate = null;
                if (tls is not null)
                {
                    // Through PKCS#12: a key that came from PEM is ephemeral, which some TLS stacks refuse for a client certificate.
                    using var pem = X509Certificate2.CreateFromPem(tls.Certificate, tls.Key);
                    certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
                    validate = TrustOnly(X509Certificate2.CreateFromPem(tls.Ca));
                }

                void Configure(SocketsHttpHandler h)
                {
                    h.ConnectTimeout = connect;
                    h.MaxConnectionsPerServer = max;
                }

                // The client's certificate and the server's check go in through Docker.DotNet.X509 (which also makes the transport https).
                var builder = new DockerClientBuilder().WithEndpoint(new Uri($"tcp://{Bracketed(endpoint.Address)}:{endpoint.Port}"));
                if (certificate is not null)
                    builder = builder.WithAuthProvider(new CertificateCredentials(certificate) { ServerCertificateValidationCallback = validate });
                var client = builder.WithTransportOptions(new NativeHttpTransportOptions { ConfigureHandler = Configure }).Build();
                var handler = new SocketsHttpHandler();
                Configure(handler);
                if (certificate is not null)
                {
                    handler.SslOptions.ClientCertificates = [certificate];
                    handler.SslOptions.RemoteCertificateValidationCallback = validate;
                }

                var scheme = certificate is null ? "http" : "https";
                return new HostEngine(connection, client, new DockerRaw(handler, new Uri($"{scheme}://{Bracketed(endpoint.Address)}:{endpoint.Port}/"), o.RequestTimeout),
                    perHost, preflight, clock, loggers, null);
            }
        }
    }

    /// <summary>Engine version, CPUs, memory and swarm state, as "Test connection" shows them.</summary>
    public static async Task<EngineFacts> FactsAsync(HostEngine engine, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(TimeSpan.FromSeconds(20));
        var version = await engine.Client.System.GetVersionAsync(cts.Token);
        var info = await engine.Client.System.GetSystemInfoAsync(cts.Token);
        var swarm = info.Swarm?.LocalNodeState is { Length: > 0 } state ? state : "inactive";
        return new EngineFacts(info.ServerVersion, version.APIVersion, $"{info.OperatingSystem} ({info.Architecture})", (int)info.NCPU, info.MemTotal,
            swarm, (int)info.ContainersRunning, info.DockerRootDir, engine.PresentedHostKey);
    }

    /// <summary>The host's endpoint, credentials (decrypted) and pinned key, from its row.</summary>
    public HostConnection ConnectionOf(DockerHost host)
    {
        var (endpoint, problem) = HostEndpoint.Parse(host.Endpoint);
        if (endpoint is null)
            throw new ArgumentException($"host {host.Name}: {problem}");
        return new HostConnection(host.Id, host.Name, endpoint, HostCredentials.Read(secrets, host), host.SshHostKey, host.ConnectionVersion);
    }

    /// <summary>Drops a host's client (removed host): disposed a while later.</summary>
    public void Forget(Guid hostId)
    {
        if (_engines.TryRemove(hostId, out var entry) && entry.IsValueCreated)
            Retire(entry.Value);
    }

    private void Retire(HostEngine engine)
    {
        _logger.LogInformation("Engine client of host {Host} replaced (its connection changed)", engine.HostName);
        _ = Task.Delay(TimeSpan.FromMinutes(2), clock).ContinueWith(_ => engine.Dispose(), TaskScheduler.Default);
    }

    /// <summary>Trusts only certificates the host's CA signed, for the name or address in the endpoint.</summary>
    private static RemoteCertificateValidationCallback TrustOnly(X509Certificate2 ca) => (_, certificate, _, errors) =>
    {
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0 || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
            return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var presented = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(presented);
    };

    private static string Bracketed(string address) => address.Contains(':', StringComparison.Ordinal) ? $"[{address}]" : address;

    public void Dispose()
    {
        foreach (var entry in _engines.Values.Where(e => e.IsValueCreated))
            entry.Value.Dispose();
        _engines.Clear();
    }
}

/// <summary>An engine call that failed because the host is not reachable or not answering, as an HTTP status and a reason.</summary>
public sealed record EngineProblem(int Status, string Reason)
{
    /// <summary>
    /// 504 when the engine did not answer in time, 502 when it could not be reached or refused (connection, TLS, SSH,
    /// host key, engine error), 409 for a host key waiting for confirmation; null for a failure that is not the engine's.
    /// </summary>
    public static EngineProblem? Of(Exception e, CancellationToken caller = default) => e switch
    {
        HostKeyException { Pinned: null } k => new(409, k.Message),
        HostKeyException k => new(502, k.Message),
        SecretUnreadableException s => new(502, s.Message),
        OperationCanceledException when !caller.IsCancellationRequested => new(504, "no answer in time"),
        TimeoutException or Renci.SshNet.Common.SshOperationTimeoutException => new(504, e.Message),
        DockerApiException d when (int)d.StatusCode >= 500 => new(502, $"the engine answered {(int)d.StatusCode}: {Body(d)}"),
        Renci.SshNet.Common.SshAuthenticationException => new(502, $"SSH authentication failed: {e.Message}"),
        Renci.SshNet.Common.SshException => new(502, $"SSH: {e.Message}"),
        HttpRequestException { InnerException: SocketException { SocketErrorCode: SocketError.TimedOut } } => new(504, "the connection timed out"),
        HttpRequestException h => new(502, Innermost(h)),
        System.Security.Authentication.AuthenticationException => new(502, $"TLS: {Innermost(e)}"),
        SocketException or IOException => new(502, Innermost(e)),
        _ => null,
    };

    private static string Body(DockerApiException d) => d.ResponseBody?.Trim() is { Length: > 0 } body ? body : d.Message;

    private static string Innermost(Exception e)
    {
        var messages = new List<string>();
        for (var x = e; x is not null; x = x.InnerException)
        {
            if (!messages.Contains(x.Message))
                messages.Add(x.Message);
        }

        return string.Join(": ", messages);
    }
}
