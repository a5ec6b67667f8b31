using System.Diagnostics;
using System.Security.Cryptography;
using Npgsql;

namespace DeployDeck.Tests.Shared;

/// <summary>
/// A PostgreSQL cluster of one test's own, for a test that stops and starts it under a running DeployDeck (the run's
/// cluster serves every other test at once). PostgreSQL 15's binaries, run as the postgres user; removed on dispose.
/// </summary>
public sealed class PrivatePostgres : IAsyncDisposable
{
    private const string Bin = "/usr/lib/postgresql/15/bin";
    private readonly string _dir;
    private readonly int _port;
    private readonly string _password = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));

    private PrivatePostgres(string dir, int port)
    {
        _dir = dir;
        _port = port;
    }

    /// <summary>A superuser connection to the cluster's postgres database.</summary>
    public string ConnectionString => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1", Port = _port, Username = "deploydeck", Password = _password, Database = "postgres",
        Pooling = false, // a pooled connection would not survive the test's restart
    }.ConnectionString;

    public static async Task<PrivatePostgres> StartAsync()
    {
        // Under /var/tmp: the postgres user must reach it (a checkout under /root is not reachable).
        var dir = Path.Combine("/var/tmp", $"dd-test-pg-{Guid.NewGuid():N}"[..24]);
        Directory.CreateDirectory(dir);
        var pg = new PrivatePostgres(dir, DeployDeckApp.FreePort());
        try
        {
            var pwfile = Path.Combine(dir, "pwfile");
            await File.WriteAllTextAsync(pwfile, pg._password + "\n");
            await RunAsync("chown", "-R", "postgres", dir);
            await pg.AsPostgresAsync("initdb", "-D", pg.Data, "-U", "deploydeck", $"--pwfile={pwfile}", "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8");
            File.Delete(pwfile);
            await pg.StartClusterAsync();
            return pg;
        }
        catch
        {
            await pg.DisposeAsync();
            throw;
        }
    }

    private string Data => Path.Combine(_dir, "data");

    /// <summary>Starts the cluster again on the same port.</summary>
    public Task StartClusterAsync() =>
        AsPostgresAsync("pg_ctl", "-D", Data, "-l", Path.Combine(_dir, "postgres.log"), "-w", "-t", "60",
            "-o", $"-p {_port} -k {_dir} -c listen_addresses=127.0.0.1 -c max_connections=100", "start");

    /// <summary>Stops it as an operator's restart does: connections are cut, nothing is waited for.</summary>
    public Task StopClusterAsync() => AsPostgresAsync("pg_ctl", "-D", Data, "-m", "fast", "-w", "stop");

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (File.Exists(Path.Combine(Data, "postmaster.pid")))
                await StopClusterAsync();
        }
        finally
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private Task AsPostgresAsync(string tool, params string[] args) => RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(Bin, tool), .. args]);

    private static async Task RunAsync(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {process.ExitCode}: {await output}{error}");
    }
}
