using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using DeployDeck.Domain.Hosts;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace DeployDeck.Tests.Shared;

/// <summary>
/// The real DeployDeck for tests: a fresh PostgreSQL database, Web and Worker started as processes from their
/// build output, the real Docker engine. Containers it causes are labelled deploydeck.test=true and removed.
/// </summary>
public sealed class DeployDeckApp : IAsyncDisposable
{
    public const string AdminUser = "admin";

    private readonly StringBuilder _webLog = new();
    private readonly StringBuilder _workerLog = new();
    private Process? _web;
    private Process? _worker;
    private readonly List<(Process Process, StringBuilder Log)> _extraWorkers = [];

    private readonly string _server;

    private DeployDeckApp(string database, string connectionString, string server, int port)
    {
        Database = database;
        ConnectionString = connectionString;
        _server = server;
        BaseUrl = new Uri($"http://127.0.0.1:{port}");
    }

    public string Database { get; }

    public string ConnectionString { get; }

    public Uri BaseUrl { get; }

    public string AdminPassword { get; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));

    public string WorkerKey { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));

    /// <summary>Encrypts the Data Protection key ring in this app's database; the same for its Web and every Worker.</summary>
    public string KeyRingKey { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));

    /// <summary>The Web process (for benchmarks: its CPU and RSS); null before it starts.</summary>
    public int? WebProcessId => _web?.Id;

    public int? WorkerProcessId => _worker is { HasExited: false } w ? w.Id : null;

    /// <summary>Whether the Web process is still running (a crash or an abort ends it).</summary>
    public bool WebRunning => _web is { HasExited: false };

    public string WebLog { get { lock (_webLog) return _webLog.ToString(); } }

    public string WorkerLog { get { lock (_workerLog) return _workerLog.ToString(); } }

    public static string AdminConnectionString =>
        Environment.GetEnvironmentVariable("DEPLOYDECK_TEST_PG") is { Length: > 0 } cs
            ? cs
            : throw new InvalidOperationException("DEPLOYDECK_TEST_PG is not set: run the tests with ./deploydeck test, which starts PostgreSQL and sets it.");

    /// <summary>Configuration given to every Worker this app starts (e.g. Rollouts__PhaseDeadlineCap).</summary>
    public Dictionary<string, string> WorkerSettings { get; } = [];

    /// <param name="server">A superuser connection to another PostgreSQL than the run's (a test that restarts it).</param>
    public static async Task<DeployDeckApp> StartAsync(bool startWorker = true, IReadOnlyDictionary<string, string>? webSettings = null,
        IReadOnlyDictionary<string, string>? workerSettings = null, string? server = null)
    {
        server ??= AdminConnectionString;
        var database = "dd_test_" + Guid.NewGuid().ToString("N")[..12];
        await using (var admin = new NpgsqlConnection(server))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{database}\"", admin);
            await create.ExecuteNonQueryAsync();
        }

        var connectionString = new NpgsqlConnectionStringBuilder(server) { Database = database, Pooling = false }.ConnectionString;
        var app = new DeployDeckApp(database, connectionString, server, FreePort());
        foreach (var (key, value) in workerSettings ?? new Dictionary<string, string>())
            app.WorkerSettings[key] = value;
        try
        {
            await app.StartWebAsync(webSettings);

            // A test run keeps this 2-core machine's load above the runbook's 2; tests that are about the bands set their own.
            await app.SetThresholdsAsync(new HostThresholds(LoadYellow: 1000, LoadRed: 1000));
            if (startWorker)
                app.StartWorker();
            return app;
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    public static string RepoRoot
    {
        get
        {
            if (Environment.GetEnvironmentVariable("DEPLOYDECK_REPO_ROOT") is { Length: > 0 } root)
                return root;
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "DeployDeck.sln")))
                dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("DeployDeck.sln not found above " + AppContext.BaseDirectory);
        }
    }

    private static string Configuration => AppContext.BaseDirectory.Contains("/bin/Release/", StringComparison.Ordinal) ? "Release" : "Debug";

    private static string AppDll(string project) =>
        Path.Combine(RepoRoot, "src", project, "bin", Configuration, "net10.0", $"DeployDeck.{project}.dll");

    private async Task StartWebAsync(IReadOnlyDictionary<string, string>? settings)
    {
        var env = new Dictionary<string, string>(settings ?? new Dictionary<string, string>())
        {
            ["Urls"] = BaseUrl.ToString().TrimEnd('/'),
            ["DEPLOYDECK_ADMIN_USER"] = AdminUser,
            ["DEPLOYDECK_ADMIN_PASSWORD"] = AdminPassword,
            ["DeployDeck__SeedDemo"] = "true",
            // Apps of one run share the engine: each demo is a Compose project of its own.
            ["DeployDeck__DemoProject"] = "demo-" + Database[^12..],
        };
        _web = Launch("Web", _webLog, env);

        using var http = new HttpClient { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (DateTime.UtcNow < deadline)
        {
            if (_web.HasExited)
                throw new InvalidOperationException($"Web exited with code {_web.ExitCode}:\n{WebLog}");
            try
            {
                if ((await http.GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK)
                    return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // not listening yet, or too busy to answer within the request's timeout on a loaded machine: ask again
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"Web did not become ready in 120 s:\n{WebLog}");
    }

    public void StartWorker() => _worker = Launch("Worker", _workerLog, WorkerEnvironment());

    private Dictionary<string, string> WorkerEnvironment() => new(WorkerSettings)
    {
        ["Live__HubUrl"] = new Uri(BaseUrl, "/hubs/live").ToString(),
        ["Rollouts__ExtraLabels__deploydeck.test"] = "true",
        // Lets ./deploydeck test clean up its own leftovers without touching a concurrent run's.
        ["Rollouts__ExtraLabels__deploydeck.test.run"] = Environment.GetEnvironmentVariable("DEPLOYDECK_TEST_RUN") ?? "local",
    };

    /// <summary>Another Worker process on the same database (several Workers share the work); returns its number, from 1.</summary>
    public int StartExtraWorker()
    {
        var log = new StringBuilder();
        var process = Launch("Worker", log, WorkerEnvironment());
        lock (_extraWorkers)
            _extraWorkers.Add((process, log));
        return _extraWorkers.Count;
    }

    /// <summary>The log of Worker <paramref name="number"/>: 0 the first, 1… the extra ones.</summary>
    public string WorkerLogOf(int number)
    {
        if (number == 0)
            return WorkerLog;
        var log = _extraWorkers[number - 1].Log;
        lock (log)
            return log.ToString();
    }

    /// <summary>SIGKILL of Worker <paramref name="number"/> (0 the first, 1… the extra ones).</summary>
    public void KillWorker(int number)
    {
        if (number == 0)
        {
            KillWorker();
            return;
        }

        var process = _extraWorkers[number - 1].Process;
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(10_000);
        }
    }

    /// <summary>SIGKILL, as a crash or an OOM kill would: no shutdown code runs.</summary>
    public void KillWorker()
    {
        if (_worker is { HasExited: false })
        {
            _worker.Kill(entireProcessTree: true);
            _worker.WaitForExit(10_000);
        }
    }

    private Process Launch(string project, StringBuilder log, Dictionary<string, string> env)
    {
        var dll = AppDll(project);
        if (!File.Exists(dll))
            throw new FileNotFoundException($"{dll} is missing: build the solution ({Configuration}) first.");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Path.GetDirectoryName(dll)! };
        info.ArgumentList.Add(dll);
        // Web and Worker pool their connections as they do when deployed (a new connection costs a fork and a SCRAM
        // handshake, ~5-10 ms a statement); only the test process itself, which drops databases, does without.
        info.Environment["ConnectionStrings__DeployDeck"] = new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = true }.ConnectionString;
        info.Environment["Live__WorkerKey"] = WorkerKey;
        info.Environment["DataProtection__KeyRingKey"] = KeyRingKey;
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        info.Environment["DOTNET_GCgen0size"] = "0x400000"; // as ./deploydeck and the image run them (docs/benchmarks.md)
        foreach (var (k, v) in env)
            info.Environment[k] = v;
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    public HttpClient CreateClient(string? bearer = null)
    {
        var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true }) { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(30) };
        if (bearer is not null)
            client.DefaultRequestHeaders.Authorization = new("Bearer", bearer);
        return client;
    }

    public async Task<string> TokenAsync(string username, string password)
    {
        using var client = CreateClient();
        var response = await client.PostAsJsonAsync("/api/tokens", new { username, password, name = "test" });
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"POST /api/tokens → {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.GetProperty("token").GetString()!;
    }

    public Task<string> AdminTokenAsync() => TokenAsync(AdminUser, AdminPassword);

    private string? _harnessToken;

    /// <summary>
    /// The Admin token the harness itself works with, made once: a user has at most 20 active tokens, and a shared app
    /// (the browser suite's) creates many users.
    /// </summary>
    private async Task<string> HarnessTokenAsync(bool fresh = false)
    {
        if (fresh || _harnessToken is null)
            _harnessToken = await AdminTokenAsync();
        return _harnessToken;
    }

    /// <summary>Creates a user through the Admin API and returns its password.</summary>
    public async Task<string> CreateUserAsync(string username, params string[] roles)
    {
        var password = "pw-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8));
        using var admin = CreateClient(await HarnessTokenAsync());
        var response = await admin.PostAsJsonAsync("/api/users", new { username, password, roles });
        if (response.StatusCode == HttpStatusCode.Unauthorized) // a test revoked the harness's token
        {
            using var again = CreateClient(await HarnessTokenAsync(fresh: true));
            response = await again.PostAsJsonAsync("/api/users", new { username, password, roles });
        }

        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"POST /api/users → {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return password;
    }

    /// <summary>Adds a plan with one revision straight to the database (the import API is another issue's).</summary>
    public async Task<Guid> SeedPlanAsync(string name, DeployDeck.Domain.Plans.PlanSpec spec)
    {
        var options = new Microsoft.EntityFrameworkCore.DbContextOptionsBuilder<DeployDeck.Infrastructure.Data.DeployDeckDbContext>()
            .UseNpgsql(ConnectionString).Options;
        await using var db = new DeployDeck.Infrastructure.Data.DeployDeckDbContext(options);
        // A project of this app's own: another app (another class, another checkout's run) may seed a plan of the same name.
        var plan = new DeployDeck.Infrastructure.Data.Plan { Name = name, ProjectName = DeployDeck.Domain.Plans.ProjectNames.Normalise(name) + "-" + Database[^6..], CreatedAt = DateTimeOffset.UtcNow };
        plan.Revisions.Add(DeployDeck.Infrastructure.Data.PlanMapping.ToRevision(spec, plan.Id, 1, "test", DateTimeOffset.UtcNow));
        db.Plans.Add(plan);
        await db.SaveChangesAsync();
        return plan.Id;
    }

    /// <summary>A new revision of a seeded plan, as a save in the editor makes.</summary>
    public async Task AddRevisionAsync(Guid planId, DeployDeck.Domain.Plans.PlanSpec spec)
    {
        var options = new Microsoft.EntityFrameworkCore.DbContextOptionsBuilder<DeployDeck.Infrastructure.Data.DeployDeckDbContext>()
            .UseNpgsql(ConnectionString).Options;
        await using var db = new DeployDeck.Infrastructure.Data.DeployDeckDbContext(options);
        var latest = await db.PlanRevisions.Where(r => r.PlanId == planId).MaxAsync(r => r.Number);
        db.PlanRevisions.Add(DeployDeck.Infrastructure.Data.PlanMapping.ToRevision(spec, planId, latest + 1, "test", DateTimeOffset.UtcNow));
        await db.SaveChangesAsync();
    }

    public async Task SetThresholdsAsync(HostThresholds thresholds)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("UPDATE hosts SET \"Thresholds\" = @t::jsonb WHERE \"Name\" = 'local'", connection);
        command.Parameters.AddWithValue("t", System.Text.Json.JsonSerializer.Serialize(thresholds, new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web)));
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Adds a host through the Admin API (as a test run loads the machine, with load bands out of the way) and returns its id.</summary>
    public async Task<Guid> AddHostAsync(ExtraEngine engine, string name)
    {
        using var admin = CreateClient(await AdminTokenAsync());
        var response = await admin.PostAsJsonAsync("/api/hosts", engine.HostRequest(name));
        var body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.Created)
            throw new InvalidOperationException($"POST /api/hosts {name} → {(int)response.StatusCode}: {body}");
        var id = JsonDocument.Parse(body).RootElement.GetProperty("id").GetGuid();
        var thresholds = await admin.PutAsJsonAsync($"/api/hosts/{id}/thresholds", new HostThresholds(LoadYellow: 1000, LoadRed: 1000));
        if (!thresholds.IsSuccessStatusCode)
            throw new InvalidOperationException($"PUT thresholds of {name} → {(int)thresholds.StatusCode}: {await thresholds.Content.ReadAsStringAsync()}");
        return id;
    }

    public async Task<Guid> HostIdAsync()
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT \"Id\" FROM hosts WHERE \"Name\" = 'local'", connection);
        return (Guid)(await command.ExecuteScalarAsync())!;
    }

    public async Task<T> QueryScalarAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    public static DockerClient Docker() =>
        new DockerClientBuilder().WithEndpoint(new Uri(Environment.GetEnvironmentVariable("DOCKER_HOST") ?? "unix:///var/run/docker.sock")).Build();

    /// <summary>Containers of this app's rollouts (every rollout in its database).</summary>
    public async Task<IList<ContainerListResponse>> ContainersAsync()
    {
        var ids = new List<string>();
        await using (var connection = new NpgsqlConnection(ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT \"Id\"::text FROM rollouts", connection);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                ids.Add(reader.GetString(0));
        }

        using var docker = Docker();
        var all = await docker.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { ["deploydeck.managed=true"] = true } },
        });
        return all.Where(c => c.Labels.TryGetValue("deploydeck.rollout", out var r) && ids.Contains(r)).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(_worker);
        foreach (var (process, _) in _extraWorkers)
            await StopAsync(process);
        await StopAsync(_web);
        try
        {
            using var docker = Docker();
            foreach (var c in await ContainersAsync())
                await docker.Containers.RemoveContainerAsync(c.ID, new ContainerRemoveParameters { Force = true });
            await RemoveProjectResourcesAsync(docker);
        }
        catch (Exception ex) when (ex is NpgsqlException or DockerApiException or HttpRequestException)
        {
            // best effort: ./deploydeck test removes deploydeck.test containers, networks and volumes at the end too
        }

        await using var admin = new NpgsqlConnection(_server);
        await admin.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{Database}\" WITH (FORCE)", admin);
        await drop.ExecuteNonQueryAsync();
    }

    /// <summary>The networks and volumes rollouts of this app's plans made; one still in use by another app stays.</summary>
    private async Task RemoveProjectResourcesAsync(DockerClient docker)
    {
        var projects = new List<string>();
        await using (var connection = new NpgsqlConnection(ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT \"ProjectName\" FROM plans", connection);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                projects.Add(reader.GetString(0));
        }

        var run = Environment.GetEnvironmentVariable("DEPLOYDECK_TEST_RUN") ?? "local";
        foreach (var project in projects)
        {
            var filter = new Dictionary<string, IDictionary<string, bool>>
            {
                ["label"] = new Dictionary<string, bool> { [$"com.docker.compose.project={project}"] = true, [$"deploydeck.test.run={run}"] = true },
            };
            foreach (var network in await docker.Networks.ListNetworksAsync(new NetworksListParameters { Filters = filter }))
            {
                try
                {
                    await docker.Networks.DeleteNetworkAsync(network.ID);
                }
                catch (DockerApiException)
                {
                    // in use by another app's containers: removed by the last one, or by ./deploydeck test
                }
            }

            foreach (var volume in (await docker.Volumes.ListAsync(new VolumesListParameters { Filters = filter })).Volumes ?? [])
            {
                try
                {
                    await docker.Volumes.RemoveAsync(volume.Name, force: false);
                }
                catch (DockerApiException)
                {
                }
            }
        }
    }

    private static async Task StopAsync(Process? process)
    {
        if (process is null)
            return;
        if (!process.HasExited)
        {
            // SIGTERM first, as `docker stop` or Ctrl-C would; then SIGKILL.
            using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
                await term.WaitForExitAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        process.Dispose();
    }

    /// <summary>A loopback port nobody listens on now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
