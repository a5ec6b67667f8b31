using System.Runtime.InteropServices;
using System.Text;
using DeployDeck.Domain.Hosts;
using Microsoft.Extensions.Logging;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace DeployDeck.Infrastructure.Engine;

/// <summary>The host's SSH key is not the one an Admin confirmed, or none was confirmed yet; <see cref="Presented"/> is what it showed.</summary>
public sealed class HostKeyException(string host, string? pinned, string presented) : Exception(pinned is null
    ? $"the SSH host key of {host} is {presented}: confirm it before DeployDeck uses the host"
    : $"the SSH host key of {host} changed: {presented}, not the confirmed {pinned} (if the host was rebuilt, an Admin confirms the new key)")
{
    public string? Pinned { get; } = pinned;

    public string Presented { get; } = presented;
}

/// <summary>SSH host keys as DeployDeck pins them.</summary>
public static class SshHostKeys
{
    /// <summary>"SHA256:" and the unpadded base64 of the key's SHA-256, as `ssh-keygen -l` prints it.</summary>
    public static string Normalise(string fingerprint)
    {
        var f = fingerprint.Trim();
        return (f.StartsWith("SHA256:", StringComparison.Ordinal) ? f : "SHA256:" + f).TrimEnd('=');
    }

    /// <summary>Connects only to read the host key: nothing is authenticated, nothing is run.</summary>
    public static async Task<string> ReadHostKeyAsync(HostEndpoint endpoint, TimeSpan timeout, CancellationToken ct)
    {
        string? presented = null;
        var user = endpoint.User ?? "root";
        using var client = new SshClient(new ConnectionInfo(endpoint.Address, endpoint.Port, user, new NoneAuthenticationMethod(user)) { Timeout = timeout });
        client.HostKeyReceived += (_, e) =>
        {
            presented = Normalise(e.FingerPrintSHA256);
            e.CanTrust = false;
        };
        try
        {
            await client.ConnectAsync(ct);
        }
        catch (SshConnectionException) when (presented is not null)
        {
        }

        return presented ?? throw new SshConnectionException($"{endpoint} presented no host key");
    }
}

/// <summary>
/// One SSH connection to a host, and an Engine API connection per channel: each runs `docker system dial-stdio` on the
/// host, as `docker -H ssh://` does, so the engine's socket is never exposed on the network. The host key must be the
/// pinned one. The connection is opened on first use and again after it drops.
/// </summary>
internal sealed class SshTunnel(HostEndpoint endpoint, SshMaterial key, string? pinnedHostKey, TimeSpan connectTimeout, ILogger logger) : IDisposable
{
    private readonly SemaphoreSlim _connecting = new(1, 1);
    private SshClient? _client;
    private bool _disposed;

    /// <summary>The host key the host presented at the last connection (SHA256:…).</summary>
    public string? PresentedHostKey { get; private set; }

    private HostEndpoint Endpoint => endpoint;

    private ILogger Logger => logger;

    public async Task<Stream> DialAsync(CancellationToken ct) => new DialStdioStream(this, await OpenChannelAsync(ct));

    private async Task<DialChannel> OpenChannelAsync(CancellationToken ct)
    {
        var client = await ConnectedAsync(ct);
        var command = client.CreateCommand("docker system dial-stdio");
        var running = command.ExecuteAsync(CancellationToken.None);
        return new DialChannel(command, running, command.CreateInputStream());
    }

    /// <summary>One `docker system dial-stdio` on the host: its output is the engine's answer, its input our request.</summary>
    private sealed record DialChannel(SshCommand Command, Task Running, Stream Input)
    {
        /// <summary>Why a dial-stdio ended before it answered: its stderr, its exit status, or the channel's own failure.</summary>
        public string Reason()
        {
            // The exit status and stderr arrive after the end of its output: give them a moment.
            try
            {
                Running.Wait(TimeSpan.FromSeconds(2));
            }
            catch (AggregateException)
            {
            }

            if (Running.IsFaulted)
                return Running.Exception!.GetBaseException().Message;
            if (!Running.IsCompleted)
                return "it had not exited 2 s later";
            var error = Command.Error.Trim();
            return $"exit status {Command.ExitStatus?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown"}{(error.Length > 0 ? ": " + error : ", nothing on stderr")}";
        }

        public void Close()
        {
            try
            {
                Input.Dispose(); // EOF to dial-stdio: it closes its engine connection and exits
            }
            catch (Exception e) when (e is ObjectDisposedException or SshException or InvalidOperationException)
            {
            }

            Command.Dispose();
        }
    }

    private async Task<SshClient> ConnectedAsync(CancellationToken ct)
    {
        if (_client is { IsConnected: true } connected)
            return connected;
        await _connecting.WaitAsync(ct);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_client is { IsConnected: true } again)
                return again;
            _client?.Dispose();
            _client = null;

            using var keyStream = new MemoryStream(Encoding.UTF8.GetBytes(key.PrivateKey));
            var keyFile = string.IsNullOrEmpty(key.Passphrase) ? new PrivateKeyFile(keyStream) : new PrivateKeyFile(keyStream, key.Passphrase);
            var user = endpoint.User ?? throw new ArgumentException($"{endpoint} has no user");
            var info = new ConnectionInfo(endpoint.Address, endpoint.Port, user, new PrivateKeyAuthenticationMethod(user, keyFile)) { Timeout = connectTimeout };
            var client = new SshClient(info) { KeepAliveInterval = TimeSpan.FromSeconds(30) };
            HostKeyException? refused = null;
            client.HostKeyReceived += (_, e) =>
            {
                var presented = SshHostKeys.Normalise(e.FingerPrintSHA256);
                PresentedHostKey = presented;
                e.CanTrust = pinnedHostKey is not null && string.Equals(SshHostKeys.Normalise(pinnedHostKey), presented, StringComparison.Ordinal);
                if (!e.CanTrust)
                    refused = new HostKeyException(endpoint.ToString(), pinnedHostKey is null ? null : SshHostKeys.Normalise(pinnedHostKey), presented);
            };
            try
            {
                await client.ConnectAsync(ct);
            }
            catch (SshConnectionException) when (refused is not null)
            {
                client.Dispose();
                throw refused;
            }
            catch
            {
                client.Dispose();
                throw;
            }

            logger.LogInformation("SSH connection to {Endpoint} open (host key {HostKey})", endpoint, PresentedHostKey);
            _client = client;
            return client;
        }
        finally
        {
            _connecting.Release();
        }
    }

    public void Dispose()
    {
        _disposed = true;
        _client?.Dispose();
        _client = null;
    }

    /// <summary>
    /// The Engine API connection over one `docker system dial-stdio`: reads its stdout, writes its stdin. A dial-stdio that
    /// ends before a byte was read failed (no docker CLI, no engine): the reason becomes the error. Seen under load: one
    /// that ends at once, before the engine saw the request; a GET or HEAD (nothing changes on the engine) is then sent
    /// once more over a new dial-stdio, and the failure is logged with its reason either way.
    /// </summary>
    private sealed class DialStdioStream(SshTunnel tunnel, DialChannel first) : Stream
    {
        private const int MaxReplay = 64 * 1024;

        private DialChannel _channel = first;
        private MemoryStream? _sent = new();
        private bool _readAny;
        private bool _redialled;
        private int _disposed;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            while (true)
            {
                var channel = _channel;
                var read = channel.Command.OutputStream.Read(buffer);
                if (read > 0 || _readAny || Volatile.Read(ref _disposed) == 1 || buffer.IsEmpty)
                {
                    if (read > 0)
                    {
                        _readAny = true;
                        _sent = null;
                    }

                    return read;
                }

                var reason = channel.Reason();
                var replay = !_redialled && _sent is { Length: > 0 } sent && Idempotent(sent) ? sent.ToArray() : null;
                tunnel.Logger.LogWarning("docker system dial-stdio on {Endpoint} ended before it answered ({Reason}){Retry}", tunnel.Endpoint, reason,
                    replay is null ? "" : "; the request is sent once more");
                if (replay is null)
                    throw new IOException($"docker system dial-stdio on {tunnel.Endpoint} ended at once ({reason})");

                _redialled = true;
                channel.Close();
                _channel = tunnel.OpenChannelAsync(CancellationToken.None).GetAwaiter().GetResult();
                if (Volatile.Read(ref _disposed) == 1)
                {
                    _channel.Close(); // disposed while it redialled
                    return 0;
                }

                _channel.Input.Write(replay);
                _channel.Input.Flush();
            }
        }

        private static bool Idempotent(MemoryStream sent)
        {
            var head = Encoding.ASCII.GetString(sent.GetBuffer(), 0, (int)Math.Min(sent.Length, 5));
            return head.StartsWith("GET ", StringComparison.Ordinal) || head.StartsWith("HEAD ", StringComparison.Ordinal);
        }

        private void Remember(ReadOnlySpan<byte> bytes)
        {
            if (_sent is null)
                return;
            if (_sent.Length + bytes.Length > MaxReplay)
                _sent = null; // too large to keep: such a request is not sent again
            else
                _sent.Write(bytes);
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            // SSH.NET's output pipe only reads blocking; a read that is cancelled closes the channel, which ends the read.
            await using var cancel = cancellationToken.Register(() => Dispose());
            try
            {
                int read;
                if (MemoryMarshal.TryGetArray<byte>(buffer, out var segment))
                {
                    read = await Task.Run(() => Read(segment.Array!, segment.Offset, segment.Count), CancellationToken.None);
                }
                else
                {
                    var copy = new byte[buffer.Length];
                    read = await Task.Run(() => Read(copy, 0, copy.Length), CancellationToken.None);
                    copy.AsSpan(0, read).CopyTo(buffer.Span);
                }

                if (read == 0)
                    cancellationToken.ThrowIfCancellationRequested(); // the end came from the cancellation closing the channel
                return read;
            }
            catch (Exception e) when (cancellationToken.IsCancellationRequested && e is not OperationCanceledException)
            {
                // The read ended because the caller gave up: say so, as a socket's stream would, not "the channel closed".
                throw new OperationCanceledException("the read was cancelled", e, cancellationToken);
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count)
        {
            Remember(buffer.AsSpan(offset, count));
            _channel.Input.Write(buffer, offset, count);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Remember(buffer.Span);
            return _channel.Input.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Remember(buffer.AsSpan(offset, count));
            return _channel.Input.WriteAsync(buffer, offset, count, cancellationToken);
        }

        public override void Flush() => _channel.Input.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => _channel.Input.FlushAsync(cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
                _channel.Close();
            base.Dispose(disposing);
        }
    }
}
