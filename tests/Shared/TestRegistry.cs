using System.Diagnostics;
using System.Formats.Tar;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace DeployDeck.Tests.Shared;

/// <summary>
/// A real registry for tests: Debian's docker-registry (distribution 2.8) on 127.0.0.1 with htpasswd (bcrypt) auth, its
/// storage in a directory of its own. It pushes images the test makes (each with a layer of its own, so a pull really
/// downloads) and removes them from the host; <see cref="DisposeAsync"/> stops it and removes its files and the images.
/// </summary>
public sealed class TestRegistry : IAsyncDisposable
{
    private readonly string _root;
    private readonly List<string> _images = [];
    private readonly CancellationTokenSource _stopping = new();
    private Process? _process;

    private TestRegistry(string root, int port, string username, string password)
    {
        _root = root;
        Port = port;
        Username = username;
        Password = password;
    }

    public int Port { get; }

    /// <summary>host:port, as image names and logins carry it.</summary>
    public string Server => $"127.0.0.1:{Port}";

    public string Username { get; }

    public string Password { get; }

    public static async Task<TestRegistry> StartAsync()
    {
        var root = Directory.CreateTempSubdirectory("deploydeck-registry-").FullName;
        var password = "pw-" + Guid.NewGuid().ToString("N")[..16];
        var registry = new TestRegistry(root, DeployDeckApp.FreePort(), "alice", password);
        var htpasswd = await RunAsync("htpasswd", "-Bbn", registry.Username, password);
        await File.WriteAllTextAsync(Path.Combine(root, "htpasswd"), htpasswd);
        await File.WriteAllTextAsync(Path.Combine(root, "config.yml"), $"""
            version: 0.1
            log: {"{"}level: warn{"}"}
            storage: {"{"}filesystem: {"{"}rootdirectory: {root}/data{"}"}, delete: {"{"}enabled: true{"}"}{"}"}
            http: {"{"}addr: "{registry.Server}"{"}"}
            auth: {"{"}htpasswd: {"{"}realm: deploydeck-test, path: {root}/htpasswd{"}"}{"}"}
            """);
        await registry.StartProcessAsync();
        return registry;
    }

    private async Task StartProcessAsync()
    {
        var info = new ProcessStartInfo("docker-registry") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("serve");
        info.ArgumentList.Add(Path.Combine(_root, "config.yml"));
        _process = Process.Start(info)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        for (var i = 0; i < 100; i++)
        {
            try
            {
                if ((await http.GetAsync($"http://{Server}/v2/")).StatusCode == HttpStatusCode.Unauthorized)
                    return;
            }
            catch (HttpRequestException)
            {
            }

            if (_process.HasExited)
                throw new InvalidOperationException($"docker-registry exited {_process.ExitCode}");
            await Task.Delay(100);
        }

        throw new TimeoutException($"docker-registry did not answer on {Server}");
    }

    /// <summary>
    /// A slow way to the registry: a TCP proxy on another loopback port that passes what the registry sends at about
    /// <paramref name="bytesPerSecond"/>, so a pull lasts long enough to be watched. Images reached through it are named
    /// with its port (<c>127.0.0.1:{port}/…</c>); a login for them names that server.
    /// </summary>
    /// <returns>The proxy's host:port.</returns>
    public string StartSlowProxy(int bytesPerSecond)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var token = _stopping.Token;
        token.Register(listener.Stop);
        _ = Task.Run(async () =>
        {
            while (!token.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await listener.AcceptTcpClientAsync(token);
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }

                _ = Task.Run(async () =>
                {
                    using (client)
                    using (var upstream = new TcpClient())
                    {
                        try
                        {
                            await upstream.ConnectAsync(IPAddress.Loopback, Port, token);
                            var up = client.GetStream().CopyToAsync(upstream.GetStream(), token);
                            var down = CopySlowlyAsync(upstream.GetStream(), client.GetStream(), bytesPerSecond, token);
                            await Task.WhenAny(up, down);
                        }
                        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
                        {
                        }
                    }
                }, token);
            }
        }, token);
        return $"127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}";
    }

    private static async Task CopySlowlyAsync(Stream from, Stream to, int bytesPerSecond, CancellationToken ct)
    {
        var buffer = new byte[16 * 1024];
        var clock = Stopwatch.StartNew();
        long sent = 0;
        int read;
        while ((read = await from.ReadAsync(buffer, ct)) > 0)
        {
            await to.WriteAsync(buffer.AsMemory(0, read), ct);
            sent += read;
            var due = TimeSpan.FromSeconds((double)sent / bytesPerSecond) - clock.Elapsed;
            if (due > TimeSpan.Zero)
                await Task.Delay(due, ct);
        }
    }

    /// <summary>Stops the registry (its data stays): pulls from it now fail as from a registry that is down.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill();
            await p.WaitForExitAsync();
        }
    }

    /// <summary>
    /// Builds an image from <paramref name="baseImage"/> with a layer of its own, pushes it as
    /// <c>{Server}/{repository}:{tag}</c>, and removes it from this engine: the host has to pull it.
    /// </summary>
    /// <param name="keepLocal">Keep it on the engine too (removed with the registry): a host that has it already.</param>
    /// <returns>The reference pushed.</returns>
    public async Task<string> PushAsync(string repository, string tag, string baseImage = "deploydeck/probe:latest", int paddingBytes = 256 * 1024, bool keepLocal = false)
    {
        var reference = $"{Server}/{repository}:{tag}";
        using var docker = DeployDeckApp.Docker();
        using var context = new MemoryStream();
        await using (var tar = new TarWriter(context, TarEntryFormat.Pax, leaveOpen: true))
        {
            await Add(tar, "Dockerfile", Encoding.UTF8.GetBytes($"FROM {baseImage}\nCOPY unique /unique\nLABEL deploydeck.test=true\n"));
            var padding = new byte[paddingBytes];
            Random.Shared.NextBytes(padding); // incompressible: the pull's size is the layer's
            await Add(tar, "unique", padding);
        }

        context.Position = 0;
        var messages = new List<JSONMessage>();
        await docker.Images.BuildImageFromDockerfileAsync(new ImageBuildParameters { Tags = [reference], Remove = true, ForceRemove = true }, context, null, null,
            new Progress<JSONMessage>(messages.Add));
        _images.Add(reference);
        var errors = new List<string>();
        await docker.Images.PushImageAsync(reference, new ImagePushParameters(), new AuthConfig { Username = Username, Password = Password, ServerAddress = Server },
            new Collect(m => { if (m.Error?.Message is { } e) errors.Add(e); }));
        if (errors.Count > 0)
            throw new InvalidOperationException($"push of {reference} failed: {string.Join("; ", errors)}");
        if (!keepLocal)
            await RemoveLocalAsync(reference);
        return reference;
    }

    /// <summary>Removes the image from this engine (with its own layer), as a host that never had it.</summary>
    public static async Task RemoveLocalAsync(string reference)
    {
        using var docker = DeployDeckApp.Docker();
        try
        {
            await docker.Images.DeleteImageAsync(reference, new ImageDeleteParameters { Force = true });
        }
        catch (DockerImageNotFoundException)
        {
        }
    }

    private static async Task Add(TarWriter tar, string name, byte[] content)
    {
        var entry = new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content), Mode = (UnixFileMode)0x1a4 };
        await tar.WriteEntryAsync(entry);
    }

    private static async Task<string> RunAsync(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{file} exited {process.ExitCode.ToString(CultureInfo.InvariantCulture)}: {error}");
        return output;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await StopAsync();
        _process?.Dispose();
        foreach (var image in _images)
            await RemoveLocalAsync(image);
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private sealed class Collect(Action<JSONMessage> each) : IProgress<JSONMessage>
    {
        public void Report(JSONMessage value) => each(value);
    }
}
