using System.Diagnostics;
using DeployDeck.Tests.Shared;

namespace DeployDeck.Integration.Tests.Api;

/// <summary>A missing dependency at start is one line that says which and how to fix it, not a stack trace.</summary>
public sealed class StartupTests
{
    private static async Task<(int ExitCode, string Output)> RunAsync(string project, Dictionary<string, string> env)
    {
        var dll = Path.Combine(DeployDeckApp.RepoRoot, "src", project, "bin",
            AppContext.BaseDirectory.Contains("/bin/Release/", StringComparison.Ordinal) ? "Release" : "Debug", "net10.0", $"DeployDeck.{project}.dll");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        info.Environment["Live__WorkerKey"] = new string('k', 40);
        info.Environment["DataProtection__KeyRingKey"] = new string('r', 40);
        info.Environment["Urls"] = "http://127.0.0.1:0";
        foreach (var (k, v) in env)
            info.Environment[k] = v;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    [Fact]
    public async Task Web_with_unreachable_postgresql_exits_with_one_line_naming_it()
    {
        var (exit, output) = await RunAsync("Web", new()
        {
            ["ConnectionStrings__DeployDeck"] = "Host=127.0.0.1;Port=1;Database=x;Username=x;Password=x;Timeout=2",
            ["DeployDeck__DatabaseStartupTimeout"] = "00:00:03",
        });

        Assert.Equal(2, exit);
        Assert.Contains("PostgreSQL is not reachable", output, StringComparison.Ordinal);
        Assert.Contains("ConnectionStrings__DeployDeck", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Web_without_a_connection_string_says_how_to_give_one()
    {
        var (exit, output) = await RunAsync("Web", new() { ["ConnectionStrings__DeployDeck"] = "" });

        Assert.Equal(2, exit);
        Assert.Contains("No PostgreSQL connection string", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Web_without_a_key_ring_key_names_the_setting()
    {
        var (exit, output) = await RunAsync("Web", new()
        {
            ["ConnectionStrings__DeployDeck"] = "Host=127.0.0.1;Port=1;Database=x;Username=x;Password=x;Timeout=2",
            ["DataProtection__KeyRingKey"] = "",
        });

        Assert.Equal(2, exit);
        Assert.Contains("DataProtection:KeyRingKey", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }

    /// <summary>Engines are per host: one that does not answer is shown offline, and the Worker serves the others.</summary>
    [Fact]
    public async Task Worker_starts_although_a_host_engine_is_unreachable_and_marks_the_host_offline_with_the_reason()
    {
        await using var app = await DeployDeckApp.StartAsync(startWorker: false);
        await app.QueryScalarAsync<int>("UPDATE hosts SET \"Endpoint\" = 'unix:///tmp/no-such-docker.sock', \"ConnectionVersion\" = \"ConnectionVersion\" + 1 WHERE \"Name\" = 'local' RETURNING 1");
        app.StartWorker();

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await app.QueryScalarAsync<long>("SELECT count(*) FROM hosts WHERE \"Name\" = 'local' AND \"OfflineSince\" IS NOT NULL") == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the host was not marked offline:\n{app.WorkerLog}");
            await Task.Delay(250);
        }

        Assert.NotNull(app.WorkerProcessId); // still running
        Assert.Contains("Connection failed", await app.QueryScalarAsync<string>("SELECT \"LastError\" FROM hosts WHERE \"Name\" = 'local'"), StringComparison.Ordinal);
    }
}
