using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace DeployDeck.Tests.Shared;

/// <summary>How DeployDeck reaches an extra engine.</summary>
public enum EngineAccess
{
    /// <summary>Its unix socket (on this machine's file system, like a local engine).</summary>
    Unix,

    /// <summary>tcp:// on the namespace's address, with TLS and client certificates the harness makes.</summary>
    Tls,

    /// <summary>ssh://root@address: an sshd in the namespace, a key the harness makes, the Engine API through `docker system dial-stdio`.</summary>
    Ssh,
}

/// <summary>
/// A real extra Docker engine for tests: a dockerd in a network namespace of its own (`ip netns add`, then
/// `nsenter --net=/run/netns/N dockerd` with its own data root, exec root, pid file and socket), linked to this namespace
/// by a veth pair with a /30 of its own. Never `ip netns exec` (it remounts /sys and dockerd refuses the cgroups), never a
/// second dockerd in this namespace (it would delete the first engine's docker0). Names carry the test run and a
/// subnet claim; a run cleans what crashed runs left (their owner process is gone) before it starts one, and
/// <see cref="DisposeAsync"/> removes everything it made: containers, processes, mounts, files, the namespace.
/// </summary>
public sealed class ExtraEngine : IAsyncDisposable
{
    private const string StateRoot = "/run/deploydeck-engines";
    private const string DataRootBase = "/var/lib/deploydeck-engines";
    private const string Prefix = "dx";
    private static readonly SemaphoreSlim CleanOnce = new(1, 1);
    private static bool _cleaned;

    private readonly List<Process> _processes = [];
    private readonly int _subnet;
    private Process? _dockerd;
    private Process? _sshd;

    private ExtraEngine(string name, int subnet, EngineAccess access)
    {
        Name = name;
        _subnet = subnet;
        Access = access;
        Address = $"10.213.{subnet}.2";
        HostSideAddress = $"10.213.{subnet}.1";
    }

    public string Name { get; }

    public EngineAccess Access { get; }

    /// <summary>The namespace's address, where its dockerd (TLS) or sshd listens.</summary>
    public string Address { get; }

    /// <summary>This namespace's end of the veth pair.</summary>
    public string HostSideAddress { get; }

    public string StateDir => Path.Combine(StateRoot, Name);

    public string DataRoot => Path.Combine(DataRootBase, Name);

    /// <summary>The engine's unix socket: the test's own way in, whatever <see cref="Access"/> DeployDeck is given.</summary>
    public string SocketPath => Path.Combine(StateDir, "docker.sock");

    /// <summary>What an Admin enters for this host.</summary>
    public string Endpoint => Access switch
    {
        EngineAccess.Tls => $"tcp://{Address}:2376",
        EngineAccess.Ssh => $"ssh://root@{Address}:22",
        _ => $"unix://{SocketPath}",
    };

    /// <summary>TLS: the CA, client certificate and key (PEM) to give DeployDeck.</summary>
    public string? CaPem { get; private set; }

    public string? ClientCertPem { get; private set; }

    public string? ClientKeyPem { get; private set; }

    /// <summary>SSH: the client's private key (OpenSSH format) and the sshd's host key fingerprint (SHA256:…, as ssh-keygen -l prints it).</summary>
    public string? SshPrivateKey { get; private set; }

    public string? SshHostKeyFingerprint { get; private set; }

    public string Log => File.Exists(Path.Combine(StateDir, "dockerd.log")) ? File.ReadAllText(Path.Combine(StateDir, "dockerd.log")) : "";

    /// <summary>SSH: what the namespace's sshd logged (it runs with -e).</summary>
    public string SshdLog => File.Exists(Path.Combine(StateDir, "ssh", "sshd.log")) ? File.ReadAllText(Path.Combine(StateDir, "ssh", "sshd.log")) : "";

    private static string RunTag
    {
        get
        {
            var run = Environment.GetEnvironmentVariable("DEPLOYDECK_TEST_RUN") ?? "local";
            return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(run)))[..6];
        }
    }

    /// <summary>The body of POST /api/hosts for this engine, with the credentials it needs and (ssh) its confirmed host key.</summary>
    public object HostRequest(string name, string? description = null) => Access switch
    {
        EngineAccess.Tls => new { name, endpoint = Endpoint, description, tls = new { ca = CaPem, certificate = ClientCertPem, key = ClientKeyPem } },
        EngineAccess.Ssh => new { name, endpoint = Endpoint, description, ssh = new { privateKey = SshPrivateKey }, sshHostKey = SshHostKeyFingerprint },
        _ => (object)new { name, endpoint = Endpoint, description },
    };

    public DockerClient Client() => new DockerClientBuilder().WithEndpoint(new Uri($"unix://{SocketPath}")).Build();

    /// <summary>Starts one engine reached by <paramref name="access"/>, with the probe images loaded from the main engine.</summary>
    public static async Task<ExtraEngine> StartAsync(EngineAccess access, params string[] images)
    {
        await CleanStaleAsync();
        var subnet = ClaimSubnet();
        var engine = new ExtraEngine($"{Prefix}{subnet:x2}{RunTag}", subnet, access);
        try
        {
            await engine.CreateAsync(images.Length > 0 ? images : ["deploydeck/probe:latest", "deploydeck/probe:v2"]);
            return engine;
        }
        catch
        {
            await engine.DisposeAsync();
            throw;
        }
    }

    private async Task CreateAsync(string[] images)
    {
        Directory.CreateDirectory(StateDir);
        Directory.CreateDirectory(DataRoot);
        // Who owns it: a later run removes it only when this process is gone (another checkout may be testing now).
        await File.WriteAllTextAsync(Path.Combine(StateDir, "owner"), $"{Environment.ProcessId} {StartTime(Environment.ProcessId)} {Environment.GetEnvironmentVariable("DEPLOYDECK_TEST_RUN")}");

        await RunAsync("ip", "netns", "add", Name);
        await RunAsync("ip", "link", "add", $"{Name}h", "type", "veth", "peer", "name", $"{Name}n");
        await RunAsync("ip", "link", "set", $"{Name}n", "netns", Name);
        await RunAsync("ip", "addr", "add", $"{HostSideAddress}/30", "dev", $"{Name}h");
        await RunAsync("ip", "link", "set", $"{Name}h", "up");
        await InNamespaceAsync("ip", "link", "set", "lo", "up");
        await InNamespaceAsync("ip", "addr", "add", $"{Address}/30", "dev", $"{Name}n");
        await InNamespaceAsync("ip", "link", "set", $"{Name}n", "up");

        if (Access == EngineAccess.Tls)
            await MakeCertificatesAsync();
        await StartDockerdAsync();
        if (Access == EngineAccess.Ssh)
            await StartSshdAsync();

        using var docker = DeployDeckApp.Docker();
        using var target = Client();
        foreach (var image in images)
            await CopyImageAsync(docker, target, image);
    }

    /// <summary>(Re)starts the namespace's dockerd and waits until it answers.</summary>
    public async Task StartDockerdAsync()
    {
        var config = Path.Combine(StateDir, "daemon.json");
        await File.WriteAllTextAsync(config, "{}"); // not /etc/docker/daemon.json: that one is the main engine's
        List<string> args =
        [
            $"--net=/run/netns/{Name}", "dockerd", "--config-file", config, "--data-root", DataRoot, "--exec-root", Path.Combine(StateDir, "exec"),
            "--pidfile", Path.Combine(StateDir, "dockerd.pid"), "-H", $"unix://{SocketPath}", "--log-level", "warn",
        ];
        if (Access == EngineAccess.Tls)
        {
            var tls = Path.Combine(StateDir, "tls");
            args.AddRange(["-H", $"tcp://{Address}:2376", "--tlsverify", "--tlscacert", Path.Combine(tls, "ca.pem"),
                "--tlscert", Path.Combine(tls, "server.pem"), "--tlskey", Path.Combine(tls, "server-key.pem")]);
        }

        _dockerd = Spawn("nsenter", args, Path.Combine(StateDir, "dockerd.log"));
        using var client = Client();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (_dockerd.HasExited)
                throw new InvalidOperationException($"dockerd of {Name} exited with {_dockerd.ExitCode}:\n{Log}");
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await client.System.PingAsync(cts.Token);
                return;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException or DockerApiException or System.Net.Sockets.SocketException)
            {
                if (DateTime.UtcNow > deadline)
                    throw new TimeoutException($"dockerd of {Name} did not answer within 60 s:\n{Log}");
                await Task.Delay(200);
            }
        }
    }

    /// <summary>Stops the engine as a crash would (SIGKILL of dockerd; its containers' shims keep running until dispose).</summary>
    public async Task KillDockerdAsync()
    {
        if (_dockerd is { HasExited: false } d)
        {
            d.Kill();
            await d.WaitForExitAsync();
        }
    }

    /// <summary>The host drops off the network: its link goes down, so calls hang until they time out.</summary>
    public Task CutNetworkAsync() => RunAsync("ip", "link", "set", $"{Name}h", "down");

    public Task RestoreNetworkAsync() => RunAsync("ip", "link", "set", $"{Name}h", "up");

    private async Task MakeCertificatesAsync()
    {
        var dir = Path.Combine(StateDir, "tls");
        Directory.CreateDirectory(dir);
        string F(string name) => Path.Combine(dir, name);
        await RunAsync("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-subj", $"/CN=DeployDeck test CA {Name}", "-keyout", F("ca-key.pem"), "-out", F("ca.pem"));
        await File.WriteAllTextAsync(F("server.ext"), $"subjectAltName=IP:{Address}\nextendedKeyUsage=serverAuth\n");
        await File.WriteAllTextAsync(F("client.ext"), "extendedKeyUsage=clientAuth\n");
        foreach (var (who, subject) in new[] { ("server", $"/CN={Address}"), ("client", "/CN=deploydeck") })
        {
            await RunAsync("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", subject,
                "-keyout", F($"{who}-key.pem"), "-out", F($"{who}.csr"));
            await RunAsync("openssl", "x509", "-req", "-in", F($"{who}.csr"), "-CA", F("ca.pem"), "-CAkey", F("ca-key.pem"), "-CAcreateserial",
                "-days", "2", "-extfile", F($"{who}.ext"), "-out", F($"{who}.pem"));
        }

        CaPem = await File.ReadAllTextAsync(F("ca.pem"));
        ClientCertPem = await File.ReadAllTextAsync(F("client.pem"));
        ClientKeyPem = await File.ReadAllTextAsync(F("client-key.pem"));
    }

    private async Task StartSshdAsync()
    {
        var dir = Path.Combine(StateDir, "ssh");
        Directory.CreateDirectory(dir);
        Directory.CreateDirectory("/run/sshd"); // Debian's sshd wants its privilege separation directory
        string F(string name) => Path.Combine(dir, name);
        await RunAsync("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", $"host {Name}", "-f", F("host_key"));
        await RunAsync("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "deploydeck", "-f", F("client_key"));
        File.Copy(F("client_key.pub"), F("authorized_keys"), overwrite: true);
        // The engine an ssh session's docker CLI reaches is this namespace's: the file system is shared with the main engine's.
        await File.WriteAllTextAsync(F("sshd_config"), string.Join('\n',
            $"ListenAddress {Address}:22",
            $"HostKey {F("host_key")}",
            $"PidFile {F("sshd.pid")}",
            $"AuthorizedKeysFile {F("authorized_keys")}",
            "PermitRootLogin prohibit-password",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "StrictModes no",
            "AllowTcpForwarding no",
            "X11Forwarding no",
            $"SetEnv DOCKER_HOST=unix://{SocketPath}",
            "") );
        _sshd = Spawn("nsenter", [$"--net=/run/netns/{Name}", "/usr/sbin/sshd", "-D", "-e", "-f", F("sshd_config")], F("sshd.log"));
        SshPrivateKey = await File.ReadAllTextAsync(F("client_key"));
        var fingerprint = await RunAsync("ssh-keygen", "-l", "-E", "sha256", "-f", F("host_key.pub"));
        SshHostKeyFingerprint = fingerprint.Split(' ')[1];

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await AnswersAsync(Address, 22))
        {
            if (_sshd.HasExited || DateTime.UtcNow > deadline)
                throw new InvalidOperationException($"sshd of {Name} did not listen:\n{await File.ReadAllTextAsync(F("sshd.log"))}");
            await Task.Delay(100);
        }
    }

    private static async Task<bool> AnswersAsync(string address, int port)
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await tcp.ConnectAsync(address, port, cts.Token);
            return true;
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>docker save | docker load through the two engines' APIs.</summary>
    private static async Task CopyImageAsync(DockerClient from, DockerClient to, string image)
    {
        await using var saved = await from.Images.SaveImageAsync(image);
        var errors = new List<string>();
        await to.Images.LoadImageAsync(new ImageLoadParameters { Quiet = true }, saved, new SyncProgress<JSONMessage>(m =>
        {
            if (m.Error?.Message is { } e)
                errors.Add(e);
        }));
        if (errors.Count > 0)
            throw new InvalidOperationException($"loading {image}: {string.Join("; ", errors)}");
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (File.Exists(SocketPath) && _dockerd is { HasExited: false })
            {
                using var client = Client();
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
                foreach (var c in await client.Containers.ListContainersAsync(new ContainersListParameters { All = true }, cts.Token))
                    await client.Containers.RemoveContainerAsync(c.ID, new ContainerRemoveParameters { Force = true }, cts.Token);
            }
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException or DockerApiException or System.Net.Sockets.SocketException)
        {
            // the engine is down (a test killed it): its leftovers go below
        }

        await TearDownAsync(Name, _dockerd?.Id, _sshd?.Id);
        foreach (var p in _processes)
            p.Dispose();
        ReleaseSubnet(_subnet);
    }

    /// <summary>Stops everything of one engine by name: its processes (dockerd, containerd, shims, sshd), mounts, files and namespace.</summary>
    private static async Task TearDownAsync(string name, int? dockerd, int? sshd)
    {
        var state = Path.Combine(StateRoot, name);
        var data = Path.Combine(DataRootBase, name);
        dockerd ??= PidFrom(Path.Combine(state, "dockerd.pid"));
        sshd ??= PidFrom(Path.Combine(state, "ssh", "sshd.pid"));
        foreach (var pid in new[] { sshd, dockerd }.OfType<int>())
            Signal(pid, "TERM");
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (new[] { sshd, dockerd }.OfType<int>().Any(Alive) && DateTime.UtcNow < deadline)
            await Task.Delay(100);

        // containerd and the shims of containers that outlived dockerd name the exec root or data root in their argv.
        foreach (var pid in ProcessesMentioning(state, data))
            Signal(pid, "KILL");
        foreach (var pid in new[] { sshd, dockerd }.OfType<int>().Where(Alive))
            Signal(pid, "KILL");
        await Task.Delay(200);

        foreach (var mount in File.ReadAllLines("/proc/mounts").Select(l => l.Split(' ')[1])
                     // dockerd bind-mounts its data root onto itself: that mount goes too, after the ones below it.
                     .Where(m => m == state || m == data || m.StartsWith(state + "/", StringComparison.Ordinal) || m.StartsWith(data + "/", StringComparison.Ordinal))
                     .OrderByDescending(m => m.Length))
            await TryRunAsync("umount", "-l", mount);

        if (File.Exists($"/run/netns/{name}"))
            await TryRunAsync("ip", "netns", "delete", name); // its veth end goes with it, and so the peer here
        if (Directory.Exists($"/sys/class/net/{name}h"))
            await TryRunAsync("ip", "link", "delete", $"{name}h");
        TryDelete(data);
        TryDelete(state);
    }

    /// <summary>Engines of earlier runs whose test process is gone (a crash, a kill): removed before this run starts one.</summary>
    internal static async Task CleanStaleAsync(bool again = false)
    {
        await CleanOnce.WaitAsync();
        try
        {
            if (_cleaned && !again)
                return;
            _cleaned = true;
            var names = (Directory.Exists(StateRoot) ? Directory.GetDirectories(StateRoot).Select(Path.GetFileName) : [])
                .Concat(Directory.Exists("/run/netns") ? Directory.GetFiles("/run/netns").Select(Path.GetFileName) : [])
                .Concat(Directory.Exists(DataRootBase) ? Directory.GetDirectories(DataRootBase).Select(Path.GetFileName) : [])
                .OfType<string>().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal) && n.Length == Prefix.Length + 8).Distinct().ToList();
            foreach (var name in names.Where(n => !OwnerAlive(n)))
            {
                await TearDownAsync(name, null, null);
                if (int.TryParse(name.AsSpan(Prefix.Length, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var subnet))
                    ReleaseSubnet(subnet);
            }
        }
        finally
        {
            CleanOnce.Release();
        }
    }

    private static bool OwnerAlive(string name)
    {
        var owner = Path.Combine(StateRoot, name, "owner");
        if (!File.Exists(owner))
            return false;
        var parts = File.ReadAllText(owner).Split(' ');
        return parts.Length >= 2 && int.TryParse(parts[0], out var pid) && StartTime(pid) is { } started && started == parts[1];
    }

    /// <summary>One /30 per engine, claimed with a file that only one creator can make.</summary>
    private static int ClaimSubnet()
    {
        var claims = Path.Combine(StateRoot, "subnets");
        Directory.CreateDirectory(claims);
        for (var subnet = 1; subnet < 255; subnet++)
        {
            try
            {
                using var claim = new FileStream(Path.Combine(claims, subnet.ToString(CultureInfo.InvariantCulture)), FileMode.CreateNew);
                claim.Write(Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture)));
                return subnet;
            }
            catch (IOException) when (File.Exists(Path.Combine(claims, subnet.ToString(CultureInfo.InvariantCulture))))
            {
            }
        }

        throw new InvalidOperationException("no free 10.213.x.0/30 for another engine: are engines of earlier runs still running?");
    }

    private static void ReleaseSubnet(int subnet) => TryDelete(Path.Combine(StateRoot, "subnets", subnet.ToString(CultureInfo.InvariantCulture)));

    private Task<string> InNamespaceAsync(params string[] command) => RunAsync("nsenter", [$"--net=/run/netns/{Name}", .. command]);

    private Process Spawn(string file, IEnumerable<string> args, string logFile)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
            info.ArgumentList.Add(a);
        var process = Process.Start(info)!;
        var log = new StreamWriter(logFile, append: true) { AutoFlush = true };
        var gate = new object();
        var open = 2;
        // Lines can arrive after Exited: the log closes once both streams have ended (a null line), never before.
        void Write(string? line)
        {
            lock (gate)
            {
                if (line is not null)
                    log.WriteLine(line);
                else if (--open == 0)
                    log.Dispose();
            }
        }

        process.OutputDataReceived += (_, e) => Write(e.Data);
        process.ErrorDataReceived += (_, e) => Write(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _processes.Add(process);
        return process;
    }

    private static Task<string> RunAsync(string file, params string[] args) => RunAsync(file, (IEnumerable<string>)args);

    private static async Task<string> RunAsync(string file, IEnumerable<string> args)
    {
        var (exit, output) = await TryRunAsync(file, [.. args]);
        if (exit != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {exit}: {output}");
        return output;
    }

    private static async Task<(int Exit, string Output)> TryRunAsync(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, (await stdout + await stderr).Trim());
    }

    private static int? PidFrom(string file) =>
        File.Exists(file) && int.TryParse(File.ReadAllText(file).Trim(), out var pid) ? pid : null;

    private static string? StartTime(int pid)
    {
        try
        {
            // Field 22 of /proc/PID/stat, after the parenthesised command name: a PID reused later has another.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[19];
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static bool Alive(int pid) => Directory.Exists($"/proc/{pid}");

    private static void Signal(int pid, string signal)
    {
        if (!Alive(pid))
            return;
        using var kill = Process.Start(new ProcessStartInfo("kill", [$"-{signal}", pid.ToString(CultureInfo.InvariantCulture)]) { RedirectStandardError = true });
        kill?.WaitForExit();
    }

    private static IEnumerable<int> ProcessesMentioning(params string[] paths)
    {
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId)
                continue;
            string cmdline;
            try
            {
                cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            if (paths.Any(p => cmdline.Contains(p, StringComparison.Ordinal)))
                yield return pid;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            if (Directory.Exists(path))
                Directory.Delete(path, recursive: true);
            else if (File.Exists(path))
                File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // a mount still busy: the next run's clean-up takes it
        }
    }

    /// <summary>Reports synchronously, in order (Progress&lt;T&gt; posts to the thread pool).</summary>
    private sealed class SyncProgress<T>(Action<T> each) : IProgress<T>
    {
        public void Report(T value) => each(value);
    }
}
