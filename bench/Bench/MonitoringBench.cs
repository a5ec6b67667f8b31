using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using DeployDeck.Tests.Shared;
using Microsoft.Playwright;
using Npgsql;

namespace DeployDeck.Bench;

/// <summary>
/// Live monitoring under load: N managed probe containers sampled at 1 Hz by the real Worker, T browser tabs on the host
/// page of the real Web, for a duration. Measures Web's and Worker's RSS and CPU, the engine's added CPU (dockerd,
/// containerd and shims against the same containers with no sampler), sample-to-browser latency in the tabs, and then
/// `docker stats` on the same containers; before the tabs open, PostgreSQL's idle load (pg_stat_database) and Hangfire's
/// worker count.
/// </summary>
internal static class MonitoringBench
{
    private static readonly string[] EngineProcesses = ["dockerd", "containerd", "containerd-shim", "containerd-shim-runc-v2"];
    private static readonly double ClockTicks = 100; // USER_HZ on Linux

    public static async Task<int> RunAsync(string[] args)
    {
        var containers = Option(args, "--containers", 40);
        var tabs = Option(args, "--tabs", 5);
        var duration = TimeSpan.FromSeconds(Option(args, "--seconds", 300));
        var idle = TimeSpan.FromSeconds(Option(args, "--idle-seconds", 60));
        var baselineFor = TimeSpan.FromSeconds(Math.Min(60, Math.Max(20, duration.TotalSeconds / 5)));
        Console.WriteLine($"monitoring benchmark: {containers} probe containers sampled at 1 Hz, {tabs} tabs on the host page for {duration.TotalSeconds:0} s; engine baseline and docker stats {baselineFor.TotalSeconds:0} s each; PostgreSQL idle {idle.TotalSeconds:0} s");

        using var docker = DeployDeckApp.Docker();
        await using var app = await DeployDeckApp.StartAsync(startWorker: false);
        var ids = new List<string>();
        try
        {
            for (var i = 0; i < containers; i++)
                ids.Add(await ProbeContainers.StartAsync(docker, $"bench{i:00}", memoryLimit: 32L << 20));
            await Task.Delay(TimeSpan.FromSeconds(5)); // let them settle

            // 1. The engine with these containers and nobody sampling them.
            var engineIdle = await CpuOfAsync(EngineProcesses, baselineFor);
            Console.WriteLine($"  engine CPU, no sampler: {engineIdle:0.00} % of one core");

            // 2. The Worker starts sampling; PostgreSQL's load while nothing is deployed.
            app.StartWorker();
            using var admin = app.CreateClient(await app.AdminTokenAsync());
            var hostId = await app.HostIdAsync();
            await WaitForSampleAsync(admin, hostId, containers);
            var (transactions, hangfireWorkers) = await PostgresIdleAsync(app, idle);
            Console.WriteLine($"  PostgreSQL idle: {transactions:0.00} transactions/s; Hangfire workers: {hangfireWorkers}");

            // 3. Tabs open on the host page for the duration.
            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = Environment.GetEnvironmentVariable("PLAYWRIGHT_CHROMIUM_EXECUTABLE") ?? "/usr/bin/chromium",
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
            });
            var pages = new List<IPage>();
            for (var i = 0; i < tabs; i++)
                pages.Add(await OpenHostPageAsync(browser, app, hostId));
            foreach (var page in pages)
                await page.EvaluateAsync(LatencyProbe);

            var web = app.WebProcessId!.Value;
            var worker = app.WorkerProcessId!.Value;
            var webCpu = Cpu(web);
            var workerCpu = Cpu(worker);
            var engineCpu = CpuOf(EngineProcesses);
            var rss = new List<(long Web, long Worker)>();
            var pss = new List<long>();
            var sampleMs = new List<double>();
            var watch = Stopwatch.StartNew();
            while (watch.Elapsed < duration)
            {
                await Task.Delay(TimeSpan.FromSeconds(5));
                rss.Add((Rss(web), Rss(worker)));
                pss.Add(Pss(web) + Pss(worker));
                var sample = await admin.GetFromJsonAsync<JsonElement>($"/api/hosts/{hostId}/stats");
                sampleMs.Add(sample.GetProperty("sampleMilliseconds").GetDouble());
            }

            var seconds = watch.Elapsed.TotalSeconds;
            var webPercent = (Cpu(web) - webCpu) / ClockTicks / seconds * 100;
            var workerPercent = (Cpu(worker) - workerCpu) / ClockTicks / seconds * 100;
            var enginePercent = (CpuOf(EngineProcesses) - engineCpu) / ClockTicks / seconds * 100;
            var latencies = new List<double>();
            foreach (var page in pages)
                latencies.AddRange(await page.EvaluateAsync<double[]>("() => window.__latencies"));
            var sampled = (await admin.GetFromJsonAsync<JsonElement>($"/api/hosts/{hostId}/stats")).GetProperty("containers").GetArrayLength();
            foreach (var page in pages)
                await page.Context.CloseAsync();

            // 4. The same containers through `docker stats` (one stats stream per container), with the Worker stopped.
            app.KillWorker();
            await Task.Delay(TimeSpan.FromSeconds(3));
            var (statsEngine, statsCli, statsRss) = await DockerStatsAsync(baselineFor);

            Console.WriteLine();
            Console.WriteLine($"| what ({containers} containers, {tabs} tabs, {seconds:0} s) | DeployDeck | `docker stats` |");
            Console.WriteLine("|---|---|---|");
            Console.WriteLine($"| RSS, Web + Worker (max) | {Mb(rss.Max(r => r.Web + r.Worker))} ({Mb(rss.Max(r => r.Web))} + {Mb(rss.Max(r => r.Worker))}) | CLI {Mb(statsRss)} |");
            Console.WriteLine($"| RSS, Web + Worker (first → last sample) | {Mb(rss[0].Web + rss[0].Worker)} → {Mb(rss[^1].Web + rss[^1].Worker)} | |");
            Console.WriteLine($"| PSS, Web + Worker (max; the runtime's shared files counted once between them) | {Mb(pss.Max())} | |");
            Console.WriteLine($"| CPU, Web + Worker | {webPercent + workerPercent:0.00} % of a core ({webPercent:0.00} + {workerPercent:0.00}) | CLI {statsCli:0.00} % |");
            Console.WriteLine($"| engine CPU added (dockerd, containerd, shims; idle {engineIdle:0.00} %) | {enginePercent - engineIdle:0.00} % | {statsEngine - engineIdle:0.00} % |");
            Console.WriteLine($"| sample → browser latency, p50 / p95 ({latencies.Count} updates in {tabs} tabs) | {Percentile(latencies, 50):0} ms / {Percentile(latencies, 95):0} ms | – |");
            Console.WriteLine($"| sampler tick (Worker), median / max | {Percentile(sampleMs, 50):0.0} ms / {sampleMs.DefaultIfEmpty().Max():0.0} ms for {sampled} containers | – |");
            Console.WriteLine($"| PostgreSQL, idle (no rollout, sampler on) | {transactions:0.00} transactions/s, {hangfireWorkers} Hangfire workers | – |");
            return 0;
        }
        finally
        {
            await ProbeContainers.RemoveAsync(docker, ids);
        }
    }

    /// <summary>Records, in the page, how old each sample is when the page shows it.</summary>
    private const string LatencyProbe = """
        () => {
          window.__latencies = [];
          let last = null;
          const seen = () => {
            const at = document.querySelector('[data-testid=host-live]')?.dataset.sampledAt;
            if (at && at !== last) {
              if (last !== null) window.__latencies.push(Date.now() - Number(at));
              last = at;
            }
          };
          // The whole document: a re-render may replace the panel's element.
          new MutationObserver(seen).observe(document.body, { attributes: true, childList: true, subtree: true, attributeFilter: ['data-sampled-at'] });
          seen();
        }
        """;

    private static async Task<IPage> OpenHostPageAsync(IBrowser browser, DeployDeckApp app, Guid hostId)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = app.BaseUrl.ToString() });
        context.SetDefaultTimeout(60_000);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/login");
        await page.FillAsync("#username", DeployDeckApp.AdminUser);
        await page.FillAsync("#password", app.AdminPassword);
        await page.ClickAsync("button[type=submit]");
        await page.WaitForSelectorAsync("[data-testid=current-user][data-interactive=true]");
        await page.GotoAsync($"/hosts/{hostId}");
        await page.WaitForSelectorAsync("[data-testid=current-user][data-interactive=true]");
        await page.WaitForSelectorAsync("[data-testid=host-live][data-sampled-at]");
        await page.WaitForSelectorAsync("[data-testid=container-row]");
        return page;
    }

    private static async Task WaitForSampleAsync(HttpClient admin, Guid hostId, int containers)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            var response = await admin.GetAsync($"/api/hosts/{hostId}/stats");
            if (response.IsSuccessStatusCode && (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("containers").GetArrayLength() >= containers)
                return;
            await Task.Delay(500);
        }

        throw new TimeoutException("the Worker's samples did not reach Web within 90 s");
    }

    /// <summary>Transactions per second in the app's database (pg_stat_database, measured from another database) and Hangfire's workers.</summary>
    private static async Task<(double PerSecond, int Workers)> PostgresIdleAsync(DeployDeckApp app, TimeSpan period)
    {
        await using var connection = new NpgsqlConnection(DeployDeckApp.AdminConnectionString);
        await connection.OpenAsync();
        async Task<long> CountAsync()
        {
            await using var command = new NpgsqlCommand("SELECT pg_stat_clear_snapshot(); SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = @db", connection);
            command.Parameters.AddWithValue("db", app.Database);
            await using var reader = await command.ExecuteReaderAsync();
            await reader.NextResultAsync();
            await reader.ReadAsync();
            return reader.GetInt64(0);
        }

        // Backends report their counters at most every second and idle ones within ~10 s: a long window evens that out.
        await Task.Delay(TimeSpan.FromSeconds(11));
        var before = await CountAsync();
        var watch = Stopwatch.StartNew();
        await Task.Delay(period);
        var after = await CountAsync();
        var perSecond = (after - before) / watch.Elapsed.TotalSeconds;

        var server = await app.QueryScalarAsync<string>("SELECT data::text FROM hangfire.server LIMIT 1");
        var workers = JsonDocument.Parse(server).RootElement.GetProperty("WorkerCount").GetInt32();
        return (perSecond, workers);
    }

    private static async Task<(double EnginePercent, double CliPercent, long CliRss)> DockerStatsAsync(TimeSpan period)
    {
        var start = new ProcessStartInfo("docker") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "stats", "--format", "{{.ID}} {{.CPUPerc}} {{.MemUsage}}" })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        await Task.Delay(TimeSpan.FromSeconds(3)); // its streams are open
        var engine = CpuOf(EngineProcesses);
        var cli = Cpu(process.Id);
        var watch = Stopwatch.StartNew();
        long rss = 0;
        while (watch.Elapsed < period)
        {
            await Task.Delay(TimeSpan.FromSeconds(2));
            rss = Math.Max(rss, Rss(process.Id));
        }

        var seconds = watch.Elapsed.TotalSeconds;
        var result = ((CpuOf(EngineProcesses) - engine) / ClockTicks / seconds * 100, (Cpu(process.Id) - cli) / ClockTicks / seconds * 100, rss);
        process.Kill();
        await process.WaitForExitAsync();
        return result;
    }

    private static async Task<double> CpuOfAsync(string[] names, TimeSpan period)
    {
        var before = CpuOf(names);
        var watch = Stopwatch.StartNew();
        await Task.Delay(period);
        return (CpuOf(names) - before) / ClockTicks / watch.Elapsed.TotalSeconds * 100;
    }

    /// <summary>utime + stime of every process with one of these names, in clock ticks.</summary>
    private static long CpuOf(string[] names)
    {
        long total = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
                continue;
            try
            {
                if (names.Contains(File.ReadAllText(Path.Combine(dir, "comm")).Trim()))
                    total += Cpu(pid);
            }
            catch (IOException)
            {
            }
        }

        return total;
    }

    private static long Cpu(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static long Rss(int pid) => KilobytesField($"/proc/{pid}/status", "VmRSS:");

    /// <summary>Proportional set size: pages shared with other processes (the .NET runtime's files) divided among them.</summary>
    private static long Pss(int pid) => KilobytesField($"/proc/{pid}/smaps_rollup", "Pss:");

    /// <summary>A "Name:  123 kB" line of a /proc file, in bytes; 0 when the process is gone.</summary>
    private static long KilobytesField(string file, string name)
    {
        try
        {
            var line = File.ReadLines(file).FirstOrDefault(l => l.StartsWith(name, StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static string Mb(long bytes) => $"{bytes / 1048576.0:0} MB";

    private static double Percentile(List<double> values, double p)
    {
        if (values.Count == 0)
            return double.NaN;
        var sorted = values.Order().ToList();
        return sorted[(int)Math.Min(sorted.Count - 1, Math.Ceiling(p / 100 * sorted.Count) - 1)];
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : fallback;
    }
}
