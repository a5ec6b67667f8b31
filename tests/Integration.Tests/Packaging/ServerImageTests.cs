using System.Formats.Tar;
using System.Net.Sockets;
using System.Text;
using DeployDeck.Tests.Shared;
using Docker.DotNet;
using Docker.DotNet.Models;
using Npgsql;

namespace DeployDeck.Integration.Tests.Packaging;

/// <summary>
/// The server images `./deploydeck images` builds from Debian packages (images/README.md), on the real engine: each one
/// starts healthy, does its job and keeps its data where its volume is. Containers, volumes and networks are labelled
/// as this test run's and removed.
/// </summary>
public sealed class ServerImageTests : IAsyncLifetime
{
    private static readonly string TestRun = Environment.GetEnvironmentVariable("DEPLOYDECK_TEST_RUN") ?? "local";
    private static readonly Dictionary<string, string> TestLabels = new() { ["deploydeck.test"] = "true", ["deploydeck.test.run"] = TestRun };

    private readonly DockerClient _docker = DeployDeckApp.Docker();
    private readonly string _tag = Guid.NewGuid().ToString("N")[..8];
    private readonly List<string> _containers = [];
    private readonly List<string> _volumes = [];
    private readonly List<string> _networks = [];
    private readonly List<string> _files = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        // RemoveVolumes: the anonymous volume an image's VOLUME gets when no named one is mounted there.
        foreach (var id in _containers)
            await IgnoreMissing(() => _docker.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }));
        foreach (var name in _volumes)
            await IgnoreMissing(() => _docker.Volumes.RemoveAsync(name, force: true));
        foreach (var id in _networks)
            await IgnoreMissing(() => _docker.Networks.DeleteNetworkAsync(id));
        foreach (var path in _files)
            File.Delete(path);
        _docker.Dispose();
    }

    [Fact]
    public async Task Postgres_initialises_once_answers_select_1_through_exec_and_keeps_a_row_when_its_container_is_recreated_on_the_same_volume()
    {
        var volume = await VolumeAsync("pgdata");
        var env = new Dictionary<string, string> { ["POSTGRES_USER"] = "deck", ["POSTGRES_PASSWORD"] = "first-secret", ["POSTGRES_DB"] = "decks" };
        var first = await StartAsync("postgres", "deploydeck/postgres:15", env, binds: [$"{volume}:/var/lib/postgresql/data"], publish: 5432);
        await WaitHealthyAsync(first);

        // The exec gate a plan runs, as root through the socket (trusted inside the container, as in the official image).
        var (exit, output) = await ExecAsync(first, "psql", "-U", "deck", "-d", "decks", "-c", "SELECT 1");
        Assert.True(exit == 0, output);
        Assert.Contains("(1 row)", output, StringComparison.Ordinal);
        Assert.Equal("postgres", (await ExecAsync(first, "stat", "-c", "%U", "/proc/1")).Output.Trim());

        // Over TCP, from outside, the password is required and the database named by POSTGRES_DB exists.
        var port = await HostPortAsync(first, 5432);
        await using (var connection = new NpgsqlConnection($"Host=127.0.0.1;Port={port};Username=deck;Password=first-secret;Database=decks;Pooling=false"))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('written before the re-creation')", connection);
            await create.ExecuteNonQueryAsync();
        }

        await using (var wrong = new NpgsqlConnection($"Host=127.0.0.1;Port={port};Username=deck;Password=wrong;Database=decks;Pooling=false"))
        {
            var refused = await Assert.ThrowsAsync<PostgresException>(() => wrong.OpenAsync());
            Assert.Equal("28P01", refused.SqlState); // invalid_password
        }

        Assert.Contains("initialising a PostgreSQL 15 cluster", await LogsAsync(first), StringComparison.Ordinal);
        await _docker.Containers.RemoveContainerAsync(first, new ContainerRemoveParameters { Force = true });

        // A new container on the same volume: the cluster is there, so nothing is initialised and the first password stays.
        env["POSTGRES_PASSWORD"] = "ignored-because-initialised";
        var second = await StartAsync("postgres", "deploydeck/postgres:15", env, binds: [$"{volume}:/var/lib/postgresql/data"], publish: 5432);
        await WaitHealthyAsync(second);
        var (readExit, rows) = await ExecAsync(second, "psql", "-U", "deck", "-d", "decks", "-tAc", "SELECT v FROM kept");
        Assert.True(readExit == 0, rows);
        Assert.Equal("written before the re-creation", rows.Trim());
        Assert.DoesNotContain("initialising", await LogsAsync(second), StringComparison.Ordinal);

        await using var again = new NpgsqlConnection($"Host=127.0.0.1;Port={await HostPortAsync(second, 5432)};Username=deck;Password=first-secret;Database=decks;Pooling=false");
        await again.OpenAsync();
    }

    [Fact]
    public async Task Postgres_without_a_password_on_an_empty_volume_exits_and_names_the_variable()
    {
        var id = await StartAsync("postgres-nopw", "deploydeck/postgres:15", new Dictionary<string, string>());
        var exit = await WaitExitAsync(id);
        Assert.NotEqual(0, exit);
        Assert.Contains("POSTGRES_PASSWORD", await LogsAsync(id), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Redis_answers_ping_from_another_host_and_keeps_a_key_across_a_restart_on_its_volume()
    {
        var volume = await VolumeAsync("redisdata");
        var id = await StartAsync("redis", "deploydeck/redis:7", null, binds: [$"{volume}:/data"], publish: 6379);
        await WaitHealthyAsync(id);

        // Through the published port, as a client in another container would reach it: protected mode is off.
        Assert.Equal("+PONG", await RedisAsync(await HostPortAsync(id, 6379), "PING"));
        Assert.Equal("OK", (await ExecAsync(id, "redis-cli", "SET", "deploydeck:kept", "across restarts")).Output.Trim());
        Assert.Equal("redis", (await ExecAsync(id, "stat", "-c", "%U", "/proc/1")).Output.Trim());

        // docker restart: SIGTERM, redis saves its RDB snapshot into /data on the way down, and loads it again.
        await _docker.Containers.RestartContainerAsync(id, new ContainerRestartParameters { WaitBeforeKillSeconds = 10 });
        await WaitHealthyAsync(id);
        Assert.Equal("across restarts", (await ExecAsync(id, "redis-cli", "GET", "deploydeck:kept")).Output.Trim());
        Assert.Equal(0, (await ExecAsync(id, "test", "-s", "/data/dump.rdb")).Exit);
    }

    [Fact]
    public async Task Nginx_serves_a_bind_mounted_config_and_proxies_to_another_container_by_name_on_a_user_defined_network()
    {
        var network = (await _docker.Networks.CreateNetworkAsync(new NetworksCreateParameters { Name = $"dd-test-net-{_tag}", Labels = TestLabels })).ID;
        _networks.Add(network);
        await StartAsync("api", "deploydeck/probe:latest", null, network: network, aliases: ["api"]);

        var config = Path.Combine(Path.GetTempPath(), $"dd-test-nginx-{_tag}.conf");
        await File.WriteAllTextAsync(config, """
            server {
                listen 80;
                location = / { return 200 "gateway of test {TAG}\n"; }
                location /api/ { proxy_pass http://api:8080/; }
            }
            """.Replace("{TAG}", _tag, StringComparison.Ordinal));
        _files.Add(config);
        var gateway = await StartAsync("gateway", "deploydeck/nginx:1", null, binds: [$"{config}:/etc/nginx/conf.d/default.conf:ro"], publish: 80, network: network);
        await WaitHealthyAsync(gateway);

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{await HostPortAsync(gateway, 80)}"), Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal($"gateway of test {_tag}\n", await http.GetStringAsync("/"));
        Assert.StartsWith("probe v1 on ", await http.GetStringAsync("/api/"), StringComparison.Ordinal);

        // Its access log goes to the container's stdout; the engine may hand out the last line a moment later.
        var logs = await LogsAsync(gateway);
        for (var wait = 0; wait < 50 && !logs.Contains("GET /api/ HTTP/1.1\" 200", StringComparison.Ordinal); wait++)
        {
            await Task.Delay(200);
            logs = await LogsAsync(gateway);
        }

        Assert.Contains("GET /api/ HTTP/1.1\" 200", logs, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nginx_takes_its_config_from_an_archive_put_into_the_container_before_it_starts()
    {
        // As DeployDeck places a Compose `configs:` file on an engine whose disk it cannot see.
        var id = await CreateAsync("gateway-archive", "deploydeck/nginx:1", null, publish: 80);
        using var archive = new MemoryStream();
        await using (var tar = new TarWriter(archive, TarEntryFormat.Pax, leaveOpen: true))
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, "etc/nginx/conf.d/default.conf")
            {
                DataStream = new MemoryStream(Encoding.UTF8.GetBytes("server { listen 80; location / { return 200 \"from the archive\\n\"; } }\n")),
                Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
            };
            await tar.WriteEntryAsync(entry);
        }

        archive.Position = 0;
        await _docker.Containers.ExtractArchiveToContainerAsync(id, new CopyToContainerParameters { Path = "/" }, archive);
        await _docker.Containers.StartContainerAsync(id, new ContainerStartParameters());
        await WaitHealthyAsync(id);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal("from the archive\n", await http.GetStringAsync($"http://127.0.0.1:{await HostPortAsync(id, 80)}/"));
    }

    // ---------------------------------------------------------------------------------------------------------------

    private async Task<string> VolumeAsync(string name)
    {
        var created = await _docker.Volumes.CreateAsync(new VolumesCreateParameters { Name = $"dd-test-{name}-{_tag}", Labels = TestLabels });
        _volumes.Add(created.Name);
        return created.Name;
    }

    private async Task<string> CreateAsync(string name, string image, IDictionary<string, string>? env, IList<string>? binds = null, int? publish = null,
        string? network = null, IList<string>? aliases = null)
    {
        try
        {
            await _docker.Images.InspectImageAsync(image);
        }
        catch (DockerImageNotFoundException)
        {
            Assert.Fail($"{image} is not on this engine: ./deploydeck images builds it (./deploydeck test does too).");
        }

        var host = new HostConfig { Binds = binds ?? [], Memory = 256L << 20 };
        var parameters = new CreateContainerParameters
        {
            Name = $"dd-test-{name}-{_tag}",
            Image = image,
            Env = (env ?? new Dictionary<string, string>()).Select(kv => $"{kv.Key}={kv.Value}").ToList(),
            Labels = TestLabels,
            HostConfig = host,
        };
        if (publish is { } port)
        {
            // On 127.0.0.1 with a port the engine picks: the test talks to the server the way a published port is used.
            parameters.ExposedPorts = new Dictionary<string, EmptyStruct> { [$"{port}/tcp"] = default };
            host.PortBindings = new Dictionary<string, IList<PortBinding>> { [$"{port}/tcp"] = [new PortBinding { HostIP = "127.0.0.1", HostPort = "" }] };
        }

        if (network is not null)
        {
            host.NetworkMode = network;
            parameters.NetworkingConfig = new NetworkingConfig
            {
                EndpointsConfig = new Dictionary<string, EndpointSettings> { [network] = new EndpointSettings { Aliases = aliases ?? [] } },
            };
        }

        var created = await _docker.Containers.CreateContainerAsync(parameters);
        _containers.Add(created.ID);
        return created.ID;
    }

    private async Task<string> StartAsync(string name, string image, IDictionary<string, string>? env, IList<string>? binds = null, int? publish = null,
        string? network = null, IList<string>? aliases = null)
    {
        var id = await CreateAsync(name, image, env, binds, publish, network, aliases);
        await _docker.Containers.StartContainerAsync(id, new ContainerStartParameters());
        return id;
    }

    private async Task WaitHealthyAsync(string id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            var state = (await _docker.Containers.InspectContainerAsync(id)).State!;
            if (state.Health?.Status == "healthy")
                return;
            if (!state.Running || state.Health?.Status == "unhealthy" || DateTime.UtcNow > deadline)
            {
                var checks = string.Join("\n", state.Health?.Log?.Select(l => $"health check exit {l.ExitCode}: {l.Output?.Trim()}") ?? []);
                Assert.Fail($"container {id[..12]} is {state.Status}, health {state.Health?.Status}, not healthy:\n{checks}\n{await LogsAsync(id)}");
            }

            await Task.Delay(250);
        }
    }

    private async Task<long> WaitExitAsync(string id)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        return (await _docker.Containers.WaitContainerAsync(id, timeout.Token)).StatusCode;
    }

    private async Task<int> HostPortAsync(string id, int containerPort)
    {
        var ports = (await _docker.Containers.InspectContainerAsync(id)).NetworkSettings!.Ports!;
        return int.Parse(ports[$"{containerPort}/tcp"][0].HostPort, System.Globalization.CultureInfo.InvariantCulture);
    }

    private async Task<(long Exit, string Output)> ExecAsync(string id, params string[] command)
    {
        var exec = await _docker.Exec.CreateContainerExecAsync(id, new ContainerExecCreateParameters { Cmd = command, AttachStdout = true, AttachStderr = true });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var stream = await _docker.Exec.StartContainerExecAsync(exec.ID, new ContainerExecStartParameters(), timeout.Token);
        var (stdout, stderr) = await stream.ReadOutputToEndAsync(timeout.Token);
        var inspect = await _docker.Exec.InspectContainerExecAsync(exec.ID, timeout.Token);
        return (inspect.ExitCode ?? -1, stdout + stderr);
    }

    private async Task<string> LogsAsync(string id)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var stream = await _docker.Containers.GetContainerLogsAsync(id, new ContainerLogsParameters { ShowStdout = true, ShowStderr = true }, timeout.Token);
        var (stdout, stderr) = await stream.ReadOutputToEndAsync(timeout.Token);
        return stdout + stderr;
    }

    /// <summary>One inline command over RESP, the first line of the answer.</summary>
    private static async Task<string> RedisAsync(int port, string command)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port);
        await using var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(command + "\r\n"));
        using var reader = new StreamReader(stream, Encoding.ASCII);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        return (await reader.ReadLineAsync(timeout.Token))!;
    }

    private static async Task IgnoreMissing(Func<Task> remove)
    {
        try
        {
            await remove();
        }
        catch (DockerApiException)
        {
            // already gone
        }
    }
}
