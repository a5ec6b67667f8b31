using System.Diagnostics;
using System.Formats.Tar;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;
using DeployDeck.Integration.Tests.Api;
using DeployDeck.Tests.Shared;
using Docker.DotNet.Models;
using ServiceSpec = DeployDeck.Domain.Plans.ServiceSpec;
using Npgsql;

namespace DeployDeck.Integration.Tests.Preflight;

/// <summary>The host check, admission and cleanup against this machine's real engine, /proc and disk.</summary>
public sealed class PreflightTests() : AppPerClass()
{

    private static Dictionary<string, long> MemInfo() => File.ReadAllLines("/proc/meminfo")
        .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        .ToDictionary(p => p[0].TrimEnd(':'), p => long.Parse(p[1], CultureInfo.InvariantCulture) * 1024);

    private static async Task<string> RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', args)}: {await process.StandardError.ReadToEndAsync()}");
        return output;
    }

    [Fact]
    public async Task Host_check_reads_the_figures_free_df_and_loadavg_read_on_this_machine()
    {
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        var check = await admin.GetFromJsonAsync<JsonElement>($"/api/hosts/{await App.HostIdAsync()}/check");
        var signals = check.GetProperty("signals");

        var meminfo = MemInfo();
        Assert.Equal(meminfo["MemTotal"], signals.GetProperty("memoryTotalBytes").GetInt64());
        var used = signals.GetProperty("memoryUsedBytes").GetInt64();
        Assert.InRange(used, meminfo["MemTotal"] - meminfo["MemAvailable"] - meminfo["MemTotal"] / 20, meminfo["MemTotal"] - meminfo["MemAvailable"] + meminfo["MemTotal"] / 20);

        var df = (await RunAsync("df", "-kP", "/var/lib/docker")).Split('\n')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var dfUsed = long.Parse(df[2], CultureInfo.InvariantCulture) * 1024;
        Assert.InRange(signals.GetProperty("diskUsedBytes").GetInt64(), dfUsed - (1L << 30), dfUsed + (1L << 30));
        Assert.Equal(long.Parse(df[1], CultureInfo.InvariantCulture) * 1024, signals.GetProperty("diskTotalBytes").GetInt64());

        var load = double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);
        Assert.InRange(signals.GetProperty("load1").GetDouble(), load - 2, load + 2);
        Assert.Equal(Environment.ProcessorCount, signals.GetProperty("cpus").GetInt32());
        Assert.Empty(signals.GetProperty("notes").EnumerateArray());

        // Load thresholds are lenient in tests; memory and disk are this machine's own.
        Assert.Equal("Green", check.GetProperty("verdict").GetProperty("overall").GetString());
        Assert.DoesNotContain(await App.ContainersAsync(), _ => true);
    }

    [Fact]
    public async Task Lowered_thresholds_make_the_host_red_and_the_rollout_is_refused_with_nothing_started()
    {
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        var hostId = await App.HostIdAsync();
        var set = await admin.PutAsJsonAsync($"/api/hosts/{hostId}/thresholds", new { memoryYellow = 0.01, memoryRed = 0.02, loadYellow = 1000, loadRed = 1000 });
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);

        var check = await admin.GetFromJsonAsync<JsonElement>($"/api/hosts/{hostId}/check");
        Assert.Equal("Red", check.GetProperty("verdict").GetProperty("overall").GetString());

        var plans = await admin.GetFromJsonAsync<JsonElement>("/api/plans");
        var planId = plans.EnumerateArray().Single(p => p.GetProperty("name").GetString() == "demo").GetProperty("id").GetGuid();
        var start = await admin.PostAsJsonAsync("/api/rollouts", new { planId, hostId });
        Assert.Equal(HttpStatusCode.Conflict, start.StatusCode);
        var detail = (await start.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString();
        Assert.Contains("the host is RED: memory", detail, StringComparison.Ordinal);
        Assert.Contains("(red above 0.02 %)", detail, StringComparison.Ordinal);

        Assert.Equal(0L, await App.QueryScalarAsync<long>("SELECT count(*) FROM rollouts"));
        Assert.Empty(await App.ContainersAsync());

        var absurd = await admin.PutAsJsonAsync($"/api/hosts/{hostId}/thresholds", new { memoryYellow = 90, memoryRed = 80 });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, absurd.StatusCode);
        Assert.Contains("yellow not above red", await absurd.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_phase_over_the_headroom_is_refused_naming_its_services_and_the_dry_run_shows_why()
    {
        var total = MemInfo()["MemTotal"];
        ServiceSpec Big(string name, double share) => new()
        {
            Name = name,
            Image = "deploydeck/probe:latest",
            Resources = new ResourceLimits(new MemorySize((long)(total * share)), null, null, CpuShare.Parse("0.5")),
        };
        var planId = await App.SeedPlanAsync("too-big", new PlanSpec([
            new PhaseSpec { Name = "core", Services = [Big("db", 0.05)] },
            new PhaseSpec { Name = "analytics", Services = [Big("etl", 0.4), Big("search", 0.3), Big("reports", 0.02)] },
        ]));
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        var hostId = await App.HostIdAsync();

        var dryRun = await admin.PostAsync($"/api/plans/{planId}/dry-run?hostId={hostId}", null);
        Assert.Equal(HttpStatusCode.OK, dryRun.StatusCode);
        var forecast = (await dryRun.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("forecast");
        var phases = forecast.GetProperty("phases");
        Assert.True(phases[0].GetProperty("fits").GetBoolean());
        Assert.False(phases[1].GetProperty("fits").GetBoolean());
        var problem = phases[1].GetProperty("problems")[0].GetString()!;
        Assert.Contains("phase analytics needs", problem, StringComparison.Ordinal);
        Assert.Contains("free after keeping 30 %", problem, StringComparison.Ordinal);
        Assert.Contains("largest: etl", problem, StringComparison.Ordinal);
        Assert.DoesNotContain("reports", problem, StringComparison.Ordinal);
        Assert.Equal(phases[1].GetProperty("runningBefore").GetInt64() + phases[1].GetProperty("newLimits").GetInt64(), phases[1].GetProperty("predictedPeak").GetInt64());

        var start = await admin.PostAsJsonAsync("/api/rollouts", new { planId, hostId });
        Assert.Equal(HttpStatusCode.Conflict, start.StatusCode);
        Assert.Contains("phase analytics needs", await start.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0L, await App.QueryScalarAsync<long>("SELECT count(*) FROM rollouts"));
        Assert.Empty(await App.ContainersAsync());
    }

    [Fact]
    public async Task A_yellow_host_needs_an_approvers_reason_which_is_recorded_and_the_audit_trail_cannot_be_changed()
    {
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        var hostId = await App.HostIdAsync();
        await admin.PutAsJsonAsync($"/api/hosts/{hostId}/thresholds", new { memoryYellow = 0.01, memoryRed = 99.9, loadYellow = 1000, loadRed = 1000 });
        var plans = await admin.GetFromJsonAsync<JsonElement>("/api/plans");
        var planId = plans.EnumerateArray().Single(p => p.GetProperty("name").GetString() == "demo").GetProperty("id").GetGuid();

        using var op = App.CreateClient(await App.TokenAsync("yellow-op", await App.CreateUserAsync("yellow-op", "Operator")));
        var plain = await op.PostAsJsonAsync("/api/rollouts", new { planId, hostId });
        Assert.Equal(HttpStatusCode.Conflict, plain.StatusCode);
        var problem = await plain.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("canAcknowledge").GetBoolean());
        Assert.Contains("YELLOW (memory", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        var notApprover = await op.PostAsJsonAsync("/api/rollouts", new { planId, hostId, acknowledgement = "I know what I do" });
        Assert.Equal(HttpStatusCode.Forbidden, notApprover.StatusCode);

        using var lead = App.CreateClient(await App.TokenAsync("yellow-lead", await App.CreateUserAsync("yellow-lead", "Operator", "Approver")));
        var started = await lead.PostAsJsonAsync("/api/rollouts", new { planId, hostId, acknowledgement = "maintenance window, memory checked by hand" });
        Assert.Equal(HttpStatusCode.Created, started.StatusCode);
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        Assert.Equal("yellow-lead", await App.QueryScalarAsync<string>($"SELECT \"AcknowledgedBy\" FROM rollouts WHERE \"Id\" = '{id}'"));
        Assert.Equal("maintenance window, memory checked by hand", await App.QueryScalarAsync<string>($"SELECT \"Acknowledgement\" FROM rollouts WHERE \"Id\" = '{id}'"));
        Assert.Equal("Yellow", await App.QueryScalarAsync<string>($"SELECT \"Preflight\" -> 'verdict' ->> 'overall' FROM rollouts WHERE \"Id\" = '{id}'"));
        Assert.Equal(1L, await App.QueryScalarAsync<long>("SELECT count(*) FROM audit_entries WHERE \"Action\" = 'host.yellow-acknowledged' AND \"User\" = 'yellow-lead'"));

        var rollout = await RolloutApiTests.WaitForFinalAsync(lead, id, TimeSpan.FromMinutes(2));
        Assert.Equal("Succeeded", rollout.GetProperty("state").GetString());
        var events = rollout.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("kind").GetString()).ToList();
        Assert.Contains("preflight.acknowledged", events);
        Assert.Contains("phase.admitted", events);

        await using var connection = new NpgsqlConnection(App.ConnectionString);
        await connection.OpenAsync();
        await using var update = new NpgsqlCommand("UPDATE audit_entries SET \"Details\" = 'rewritten'", connection);
        var refused = await Assert.ThrowsAsync<PostgresException>(() => update.ExecuteNonQueryAsync());
        Assert.Contains("append-only", refused.MessageText, StringComparison.Ordinal);
        await using var delete = new NpgsqlCommand("DELETE FROM audit_entries", connection);
        await Assert.ThrowsAsync<PostgresException>(() => delete.ExecuteNonQueryAsync());
    }

    [Fact]
    public async Task Prune_lists_first_and_removes_only_the_confirmed_items_never_a_managed_container()
    {
        using var docker = DeployDeckApp.Docker();
        var tag = Guid.NewGuid().ToString("N")[..12];
        var image = $"deploydeck/prune-test:{tag}";
        var tar = new MemoryStream();
        await using (var writer = new TarWriter(tar, leaveOpen: true))
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, "marker.txt") { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(tag)) };
            await writer.WriteEntryAsync(entry);
        }

        var tarPath = Path.Combine(Path.GetTempPath(), $"prune-{tag}.tar");
        await File.WriteAllBytesAsync(tarPath, tar.ToArray());
        await RunAsync("docker", "import", tarPath, image);
        File.Delete(tarPath);
        var imageId = (await docker.Images.InspectImageAsync(image)).ID;
        var volume = (await docker.Volumes.CreateAsync(new VolumesCreateParameters { Name = $"dd-prune-{tag}", Labels = new Dictionary<string, string> { ["deploydeck.test"] = "true" } })).Name;
        var stopped = (await docker.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = "deploydeck/probe:latest", Name = $"dd-prune-{tag}", Labels = new Dictionary<string, string> { ["deploydeck.test"] = "true" },
        })).ID;
        var managed = (await docker.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = "deploydeck/probe:latest", Name = $"dd-managed-{tag}",
            Labels = new Dictionary<string, string> { ["deploydeck.test"] = "true", ["deploydeck.rollout"] = Guid.NewGuid().ToString(), ["deploydeck.managed"] = "true" },
        })).ID;
        try
        {
            var hostId = await App.HostIdAsync();
            using var viewer = App.CreateClient(await App.TokenAsync("prune-viewer", await App.CreateUserAsync("prune-viewer", "Viewer")));
            Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsJsonAsync($"/api/hosts/{hostId}/prune", new { kinds = new[] { "Containers" } })).StatusCode);

            using var op = App.CreateClient(await App.TokenAsync("prune-op", await App.CreateUserAsync("prune-op", "Operator")));
            var usage = await op.GetFromJsonAsync<JsonElement>($"/api/hosts/{hostId}/disk-usage");
            var ids = usage.GetProperty("reclaimable").EnumerateArray().Select(i => i.GetProperty("id").GetString()).ToList();
            Assert.Contains(stopped, ids);
            Assert.Contains(imageId, ids);
            Assert.Contains(volume, ids);
            Assert.DoesNotContain(managed, ids);

            var listing = await op.PostAsJsonAsync($"/api/hosts/{hostId}/prune", new { kinds = new[] { "Containers", "Images", "Volumes" }, confirm = false });
            var listed = await listing.Content.ReadFromJsonAsync<JsonElement>();
            Assert.False(listed.GetProperty("removed").GetBoolean());
            Assert.Contains(listed.GetProperty("items").EnumerateArray(), i => i.GetProperty("id").GetString() == stopped);
            Assert.NotNull(await docker.Containers.InspectContainerAsync(stopped));

            var first = await (await op.PostAsJsonAsync($"/api/hosts/{hostId}/prune", new { kinds = new[] { "Containers", "Images", "Volumes" }, confirm = true, items = new[] { stopped } }))
                .Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal([stopped], first.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetString()));
            await Assert.ThrowsAsync<Docker.DotNet.DockerContainerNotFoundException>(() => docker.Containers.InspectContainerAsync(stopped));
            Assert.Equal(imageId, (await docker.Images.InspectImageAsync(image)).ID);
            Assert.NotNull(await docker.Volumes.InspectAsync(volume));
            Assert.NotNull(await docker.Containers.InspectContainerAsync(managed));

            var second = await (await op.PostAsJsonAsync($"/api/hosts/{hostId}/prune", new { kinds = new[] { "Images", "Volumes" }, confirm = true, items = new[] { imageId, volume, managed } }))
                .Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(2, second.GetProperty("items").GetArrayLength());
            await Assert.ThrowsAsync<Docker.DotNet.DockerImageNotFoundException>(() => docker.Images.InspectImageAsync(image));
            Assert.NotNull(await docker.Containers.InspectContainerAsync(managed));
            Assert.Equal(2L, await App.QueryScalarAsync<long>("SELECT count(*) FROM audit_entries WHERE \"Action\" = 'host.pruned' AND \"User\" = 'prune-op'"));
        }
        finally
        {
            foreach (var id in new[] { stopped, managed })
            {
                try { await docker.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true }); } catch (Docker.DotNet.DockerApiException) { }
            }

            try { await docker.Volumes.RemoveAsync(volume); } catch (Docker.DotNet.DockerApiException) { }
            try { await docker.Images.DeleteImageAsync(image, new ImageDeleteParameters { Force = true }); } catch (Docker.DotNet.DockerApiException) { }
        }
    }
}
