using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeployDeck.Domain.Plans;
using DeployDeck.Integration.Tests.Api;
using DeployDeck.Tests.Shared;

namespace DeployDeck.Integration.Tests.Monitoring;

/// <summary>The Worker's sampler against the real engine and this machine's cgroup files, read back through Web.</summary>
public sealed class MonitoringTests() : AppPerClass()
{
    private async Task<JsonElement?> SampleAsync(HttpClient client)
    {
        var response = await client.GetAsync($"/api/hosts/{await App.HostIdAsync()}/stats");
        return response.StatusCode == HttpStatusCode.OK ? await response.Content.ReadFromJsonAsync<JsonElement>() : null;
    }

    private static JsonElement? Container(JsonElement sample, string id) =>
        sample.GetProperty("containers").EnumerateArray().Cast<JsonElement?>().FirstOrDefault(c => c!.Value.GetProperty("id").GetString() == id);

    /// <summary>Waits for a sample that satisfies the condition, newer than <paramref name="after"/>.</summary>
    private async Task<JsonElement> WaitForSampleAsync(HttpClient client, Func<JsonElement, bool> condition, TimeSpan timeout, DateTimeOffset? after = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        JsonElement? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = await SampleAsync(client);
            if (last is { } s && (after is null || s.GetProperty("at").GetDateTimeOffset() > after) && condition(s))
                return s;
            await Task.Delay(250);
        }

        throw new TimeoutException($"no such sample within {timeout}; last: {last}\n--- worker ---\n{App.WorkerLog}");
    }

    private static async Task<string> DockerStatsMemoryAsync(string id)
    {
        var start = new ProcessStartInfo("docker") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "stats", "--no-stream", "--format", "{{.MemUsage}}", id })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, await process.StandardError.ReadToEndAsync());
        return output.Trim();
    }

    /// <summary>"81.23MiB / 256MiB" → bytes of the first figure.</summary>
    private static long ParseDockerBytes(string memUsage)
    {
        var figure = memUsage.Split('/')[0].Trim();
        var unit = new string(figure.SkipWhile(ch => char.IsDigit(ch) || ch == '.').ToArray());
        var number = double.Parse(figure[..^unit.Length], CultureInfo.InvariantCulture);
        return (long)(number * unit switch
        {
            "B" => 1,
            "KiB" => 1024,
            "MiB" => 1024 * 1024,
            "GiB" => 1024 * 1024 * 1024,
            _ => throw new FormatException($"unknown unit in '{memUsage}'"),
        });
    }

    [Fact]
    public async Task Sampled_memory_of_a_probe_allocating_40_MB_is_within_10_percent_of_docker_stats()
    {
        using var docker = DeployDeckApp.Docker();
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        var id = await ProbeContainers.StartHoldingAsync(docker, "hog", 40);
        try
        {
            var sample = await WaitForSampleAsync(admin, s => Container(s, id)?.GetProperty("memoryBytes").GetInt64() > 40L << 20, TimeSpan.FromSeconds(60));
            await Task.Delay(TimeSpan.FromSeconds(2)); // let the shell settle after filling its variable

            var before = await WaitForSampleAsync(admin, s => Container(s, id) is not null, TimeSpan.FromSeconds(10), sample.GetProperty("at").GetDateTimeOffset());
            var dockerText = await DockerStatsMemoryAsync(id);
            var after = await WaitForSampleAsync(admin, s => Container(s, id) is not null, TimeSpan.FromSeconds(10), before.GetProperty("at").GetDateTimeOffset());

            var expected = ParseDockerBytes(dockerText);
            foreach (var s in new[] { before, after })
            {
                var ours = Container(s, id)!.Value.GetProperty("memoryBytes").GetInt64();
                Assert.True(Math.Abs(ours - expected) <= expected * 0.10,
                    $"sampler {ours / 1048576.0:0.0} MiB vs docker stats {dockerText} ({expected / 1048576.0:0.0} MiB)");
            }

            var figures = Container(after, id)!.Value;
            Assert.Equal(256L << 20, figures.GetProperty("memoryLimitBytes").GetInt64());
            Assert.True(figures.GetProperty("pids").GetInt32() >= 1, figures.ToString());
            Assert.Equal(JsonValueKind.Number, figures.GetProperty("cpuPercent").ValueKind);
            Assert.StartsWith("cgroup-v", after.GetProperty("source").GetString(), StringComparison.Ordinal);
            Assert.True(after.GetProperty("host").GetProperty("memoryUsedBytes").GetInt64() > 0, after.ToString());
            Assert.True(after.GetProperty("host").GetProperty("diskTotalBytes").GetInt64() > 0, after.ToString());
            Assert.Equal(Environment.ProcessorCount, after.GetProperty("host").GetProperty("cpus").GetInt32());
        }
        finally
        {
            await ProbeContainers.RemoveAsync(docker, [id]);
        }
    }

    [Fact]
    public async Task Containers_removed_while_being_sampled_do_not_break_or_stall_sampling()
    {
        using var docker = DeployDeckApp.Docker();
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        var survivor = await ProbeContainers.StartAsync(docker, "survivor");
        var churned = new List<string>();
        try
        {
            await WaitForSampleAsync(admin, s => Container(s, survivor) is not null, TimeSpan.FromSeconds(30));

            // Containers come and go faster than the 1 s tick and the 5 s list refresh: some are listed and gone before
            // their cgroup is read, some vanish between list and inspect.
            var until = DateTime.UtcNow.AddSeconds(12);
            var round = 0;
            while (DateTime.UtcNow < until)
            {
                var batch = new List<string>();
                for (var i = 0; i < 3; i++)
                    batch.Add(await ProbeContainers.StartAsync(docker, $"churn{round}x{i}"));
                churned.AddRange(batch);
                await Task.Delay(TimeSpan.FromMilliseconds(300 + 400 * (round % 3)));
                await ProbeContainers.RemoveAsync(docker, batch);
                round++;
            }

            var last = await WaitForSampleAsync(admin, _ => true, TimeSpan.FromSeconds(5));
            // Sampling goes on at its pace: fresh samples keep arriving, the survivor is in them, the removed are not.
            var fresh = await WaitForSampleAsync(admin, s => Container(s, survivor) is not null && churned.All(id => Container(s, id) is null),
                TimeSpan.FromSeconds(10), last.GetProperty("at").GetDateTimeOffset());
            Assert.InRange(fresh.GetProperty("sampleMilliseconds").GetDouble(), 0, 1000);
            var next = await WaitForSampleAsync(admin, _ => true, TimeSpan.FromSeconds(4), fresh.GetProperty("at").GetDateTimeOffset());
            Assert.True(next.GetProperty("at").GetDateTimeOffset() - fresh.GetProperty("at").GetDateTimeOffset() < TimeSpan.FromSeconds(3), next.ToString());
            Assert.DoesNotContain("Sampling failed", App.WorkerLog, StringComparison.Ordinal);
        }
        finally
        {
            await ProbeContainers.RemoveAsync(docker, [survivor, .. churned]);
        }
    }

    [Fact]
    public async Task A_rollout_phase_records_peak_and_average_memory_for_its_services_the_rollout_and_the_host()
    {
        var service = Probe("hog", "128m") with { Environment = new Dictionary<string, string> { ["PROBE_ALLOC_MB"] = "20" } };
        var planId = await App.SeedPlanAsync("monitored", new PlanSpec([new PhaseSpec { Name = "core", Soak = TimeSpan.FromSeconds(8), Services = [service] }]));
        using var admin = App.CreateClient(await App.AdminTokenAsync());
        var started = await admin.PostAsJsonAsync("/api/rollouts", new { planId, hostId = await App.HostIdAsync() });
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var rollout = await RolloutApiTests.WaitForFinalAsync(admin, id, TimeSpan.FromMinutes(2));
        Assert.True(rollout.GetProperty("state").GetString() == "Succeeded", $"{rollout}\n--- worker ---\n{App.WorkerLog}");

        // The Worker writes every flush (5 s): wait for the one after the phase ended.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        List<JsonElement> rows = [];
        while (DateTime.UtcNow < deadline)
        {
            rows = (await admin.GetFromJsonAsync<List<JsonElement>>($"/api/rollouts/{id}/usage"))!;
            if (rows.Select(r => r.GetProperty("subject").GetString()).Distinct().Count() == 3)
                break;
            await Task.Delay(500);
        }

        JsonElement Row(string subject) => rows.Single(r => r.GetProperty("subject").GetString() == subject);
        var hog = Row("Service");
        Assert.Equal("hog", hog.GetProperty("service").GetString());
        Assert.Equal("core", hog.GetProperty("phase").GetString());
        Assert.True(hog.GetProperty("samples").GetInt32() >= 3, hog.ToString());
        // 20 MB held by the shell: about twice that resident, never more than the 128 MB limit.
        Assert.InRange(hog.GetProperty("peakMemoryBytes").GetInt64(), 20L << 20, 128L << 20);
        Assert.InRange(hog.GetProperty("averageMemoryBytes").GetInt64(), 1, hog.GetProperty("peakMemoryBytes").GetInt64());
        Assert.Equal(hog.GetProperty("peakMemoryBytes").GetInt64(), Row("Rollout").GetProperty("peakMemoryBytes").GetInt64());
        Assert.True(Row("Host").GetProperty("peakMemoryBytes").GetInt64() > hog.GetProperty("peakMemoryBytes").GetInt64(), Row("Host").ToString());
        Assert.Equal(JsonValueKind.Null, Row("Host").GetProperty("maxCpuPercent").ValueKind);
    }

    [Fact]
    public async Task Metrics_need_a_token_and_show_rollouts_sampler_and_sampled_figures()
    {
        using var anonymous = App.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/metrics")).StatusCode);

        using var admin = App.CreateClient(await App.AdminTokenAsync());
        await WaitForSampleAsync(admin, _ => true, TimeSpan.FromSeconds(30));
        var response = await admin.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        var host = await App.HostIdAsync();
        Assert.Contains("deploydeck_rollouts{state=\"Succeeded\"}", text, StringComparison.Ordinal);
        Assert.Contains("deploydeck_sampler_duration_seconds_count{source=\"cgroup-v", text, StringComparison.Ordinal);
        Assert.Contains($"deploydeck_host_memory_used_bytes{{host=\"{host}\"}}", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE deploydeck_gate_results_total counter", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE deploydeck_phase_duration_seconds_total counter", text, StringComparison.Ordinal);
        Assert.Contains("process_cpu_seconds_total", text, StringComparison.Ordinal);
    }
}

/// <summary>/metrics for a scraper on an allow-listed network, without a token.</summary>
public sealed class MetricsAllowListTests() : AppPerClass(new Dictionary<string, string> { ["Metrics__AllowedNetworks__0"] = "127.0.0.0/8" })
{
    [Fact]
    public async Task A_scraper_on_an_allow_listed_network_reads_metrics_without_a_token()
    {
        using var anonymous = App.CreateClient();
        var response = await anonymous.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("deploydeck_rollouts{state=", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // The allow-list opens /metrics only.
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/plans")).StatusCode);
    }
}
