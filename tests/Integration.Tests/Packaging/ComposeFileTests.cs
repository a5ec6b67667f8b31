using System.Diagnostics;
using DeployDeck.Tests.Shared;
using YamlDotNet.RepresentationModel;

namespace DeployDeck.Integration.Tests.Packaging;

/// <summary>Our own docker-compose.yml practises what DeployDeck preaches: limits, health checks, restart policies.</summary>
public sealed class ComposeFileTests
{
    private static readonly Dictionary<string, string> Secrets = new()
    {
        ["POSTGRES_PASSWORD"] = "pg-secret",
        ["DEPLOYDECK_WORKER_KEY"] = new string('k', 40),
        ["DEPLOYDECK_ADMIN_PASSWORD"] = "admin-secret-123",
        ["DEPLOYDECK_KEY_RING_KEY"] = new string('r', 40),
    };

    private static (int ExitCode, string Output) Compose(IReadOnlyDictionary<string, string> env, params string[] args)
    {
        var info = new ProcessStartInfo("docker-compose")
        {
            WorkingDirectory = DeployDeckApp.RepoRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("-f");
        info.ArgumentList.Add(Path.Combine(DeployDeckApp.RepoRoot, "docker-compose.yml"));
        foreach (var a in args)
            info.ArgumentList.Add(a);
        foreach (var key in Secrets.Keys)
            info.Environment.Remove(key);
        foreach (var (k, v) in env)
            info.Environment[k] = v;
        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("docker-compose is not installed: ./deploydeck test installs it (apt docker-compose).", ex);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            process.WaitForExit();
            return (process.ExitCode, stdout.Result + stderr.Result);
        }
    }

    [Fact]
    public void Compose_file_is_valid_with_its_secrets_set()
    {
        var (exit, output) = Compose(Secrets, "config", "-q");
        Assert.True(exit == 0, output);
    }

    [Fact]
    public void Compose_file_refuses_to_start_without_a_required_secret_and_names_it()
    {
        var without = Secrets.Where(s => s.Key != "DEPLOYDECK_WORKER_KEY").ToDictionary();
        var (exit, output) = Compose(without, "config", "-q");
        Assert.NotEqual(0, exit);
        Assert.Contains("DEPLOYDECK_WORKER_KEY", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_service_has_a_memory_limit_a_reservation_a_restart_policy_and_a_health_check()
    {
        var (exit, output) = Compose(Secrets, "config");
        Assert.True(exit == 0, output);
        var yaml = new YamlStream();
        yaml.Load(new StringReader(output));
        var services = (YamlMappingNode)((YamlMappingNode)yaml.Documents[0].RootNode)["services"];

        Assert.Equal(["postgres", "web", "worker"], services.Children.Keys.Select(k => k.ToString()).Order().ToArray());
        foreach (var (name, node) in services.Children)
        {
            var service = (YamlMappingNode)node;
            var keys = service.Children.Keys.Select(k => k.ToString()).ToHashSet();
            Assert.True(keys.Contains("mem_limit"), $"{name} has no mem_limit");
            Assert.True(keys.Contains("mem_reservation"), $"{name} has no mem_reservation");
            Assert.True(keys.Contains("cpus"), $"{name} has no cpus");
            Assert.Equal("unless-stopped", service["restart"].ToString());
            Assert.True(keys.Contains("healthcheck"), $"{name} has no healthcheck");
        }

        var worker = (YamlMappingNode)services["worker"];
        Assert.Contains(((YamlSequenceNode)worker["volumes"]).Children, v => v.ToString().Contains("/var/run/docker.sock", StringComparison.Ordinal));
    }
}
