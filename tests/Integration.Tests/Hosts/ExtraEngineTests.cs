using System.Diagnostics;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using DeployDeck.Tests.Shared;
using Docker.DotNet.Models;

namespace DeployDeck.Integration.Tests.Hosts;

/// <summary>The harness itself: extra real engines in network namespaces, reached as DeployDeck will reach them, and gone afterwards.</summary>
public sealed class ExtraEngineTests
{
    [Fact]
    public async Task An_extra_engine_runs_containers_apart_from_the_main_engine_and_leaves_nothing_behind()
    {
        string name, state, data;
        await using (var engine = await ExtraEngine.StartAsync(EngineAccess.Unix))
        {
            (name, state, data) = (engine.Name, engine.StateDir, engine.DataRoot);
            using var client = engine.Client();
            var info = await client.System.GetSystemInfoAsync();
            Assert.Equal(engine.DataRoot, info.DockerRootDir);
            var created = await client.Containers.CreateContainerAsync(new CreateContainerParameters
            {
                Image = "deploydeck/probe:latest",
                Labels = new Dictionary<string, string> { ["deploydeck.test"] = "true" },
                HostConfig = new HostConfig { Memory = 32L << 20 },
            });
            await client.Containers.StartContainerAsync(created.ID, new ContainerStartParameters());
            var inspect = await client.Containers.InspectContainerAsync(created.ID);
            Assert.True(inspect.State!.Running, inspect.State.Error);
            Assert.Equal(32L << 20, inspect.HostConfig!.Memory);

            using var main = DeployDeckApp.Docker();
            Assert.DoesNotContain(await main.Containers.ListContainersAsync(new ContainersListParameters { All = true }), c => c.ID == created.ID);
            Assert.Contains(await main.Images.ListImagesAsync(new ImagesListParameters()), i => i.RepoTags?.Contains("deploydeck/probe:v2") == true);
            Assert.Contains(await client.Images.ListImagesAsync(new ImagesListParameters()), i => i.RepoTags?.Contains("deploydeck/probe:v2") == true);
        }

        Assert.False(File.Exists($"/run/netns/{name}"));
        Assert.False(Directory.Exists(state));
        Assert.False(Directory.Exists(data));
        Assert.False(Directory.Exists($"/sys/class/net/{name}h"));
        Assert.DoesNotContain(File.ReadAllLines("/proc/mounts"), m => m.Contains(name, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_tls_engine_answers_only_a_client_with_the_certificate_the_harness_made()
    {
        await using var engine = await ExtraEngine.StartAsync(EngineAccess.Tls);
        var ca = X509Certificate2.CreateFromPem(engine.CaPem);
        using var client = X509Certificate2.CreateFromPem(engine.ClientCertPem, engine.ClientKeyPem);

        HttpClient Http(X509Certificate2? certificate)
        {
            var handler = new SocketsHttpHandler();
            handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) =>
            {
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return cert is not null && chain.Build(X509CertificateLoader.LoadCertificate(cert.GetRawCertData()));
            };
            if (certificate is not null)
                handler.SslOptions.ClientCertificates = [X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null)];
            return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
        }

        using (var with = Http(client))
        {
            var response = await with.GetAsync($"https://{engine.Address}:2376/version");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using var without = Http(null);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => without.GetAsync($"https://{engine.Address}:2376/version"));
    }

    [Fact]
    public async Task The_ssh_engine_is_the_one_an_ssh_session_of_its_key_reaches()
    {
        await using var engine = await ExtraEngine.StartAsync(EngineAccess.Ssh);
        var key = Path.Combine(Path.GetTempPath(), $"dd-key-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(key, engine.SshPrivateKey);
        if (OperatingSystem.IsLinux())
            File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        try
        {
            var info = new ProcessStartInfo("ssh") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "-i", key, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                         $"root@{engine.Address}", "docker", "info", "--format", "{{.DockerRootDir}}" })
                info.ArgumentList.Add(a);
            using var ssh = Process.Start(info)!;
            var output = await ssh.StandardOutput.ReadToEndAsync();
            var error = await ssh.StandardError.ReadToEndAsync();
            await ssh.WaitForExitAsync();
            Assert.True(ssh.ExitCode == 0, error);
            Assert.Equal(engine.DataRoot, output.Trim());
            Assert.StartsWith("SHA256:", engine.SshHostKeyFingerprint, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(key);
        }
    }

    [Fact]
    public async Task An_engine_whose_test_process_died_is_removed_by_the_next_run()
    {
        var engine = await ExtraEngine.StartAsync(EngineAccess.Unix);
        // As a crashed run leaves it: an owner that no longer runs, nothing disposed.
        await File.WriteAllTextAsync(Path.Combine(engine.StateDir, "owner"), "999999 0 crashed-run");

        await ExtraEngine.CleanStaleAsync(again: true);

        Assert.False(File.Exists($"/run/netns/{engine.Name}"));
        Assert.False(Directory.Exists(engine.DataRoot));
        Assert.False(File.Exists(engine.SocketPath));
        await engine.DisposeAsync(); // nothing left to do, and no error for it
    }
}
