using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DeployDeck.Tests.Shared;
using Docker.DotNet.Models;

namespace DeployDeck.Bench;

/// <summary>
/// The real demo stack (src/Web/Data/Demo: PostgreSQL, Redis, an API, a web front, an nginx gateway on a fixed port) rolled
/// out by DeployDeck against `docker-compose up -d` of the same files until every health check passes and the gateway
/// answers; then an upgrade of the web front by each, with the gateway asked every 20 ms: how long it answered nothing.
/// </summary>
internal static partial class DemoBench
{
    private static readonly string[] Healthchecked = ["db", "cache", "api", "web"];

    public static async Task<int> RunAsync(string[] args)
    {
        var runs = PreflightBench.Option(args, "--runs", 3);
        var port = DeployDeckApp.FreePort();
        var demo = Path.Combine(DeployDeckApp.RepoRoot, "src", "Web", "Data", "Demo");
        // The file names its project "shop", the seeded demo's: each side here gets its own. Soak is a wait on purpose that
        // Compose has no counterpart of, so DeployDeck rolls out with soak 0: both stop at "all healthy, the gateway answers".
        var file = SoakPattern().Replace(NamePattern().Replace(await File.ReadAllTextAsync(Path.Combine(demo, "docker-compose.yml")), ""), "soak: 0s");
        // --monitor 0s: each service counts as ready as soon as it is healthy, without the 5 s it must stay so by default
        // (deploy.update_config.monitor): what DeployDeck adds besides that deliberate wait.
        var monitor = args.SkipWhile(a => a != "--monitor").Skip(1).FirstOrDefault();
        if (monitor is not null)
            file = PhaseLabel().Replace(file, m => $"{m.Value}\n    deploy: {{update_config: {{monitor: {monitor}}}}}");
        var gatewayConf = await File.ReadAllTextAsync(Path.Combine(demo, "gateway.conf"));
        // docker-compose v1 ignores `configs:` outside a swarm (the gateway would serve nginx's own page): its side binds the
        // same file where the config goes, as a v1 user writes it; `docker compose` v2 and DeployDeck place the config.
        const string config = "    configs:\n      - source: gateway\n        target: /etc/nginx/conf.d/default.conf\n";
        if (!file.Contains(config, StringComparison.Ordinal))
            throw new InvalidOperationException("the demo's gateway no longer takes its config as `configs: gateway`: the baseline's bind mount needs a new edit");
        var composeFile = file.Replace(config, "    volumes:\n      - ./gateway.conf:/etc/nginx/conf.d/default.conf:ro\n", StringComparison.Ordinal);
        var env = $"DB_PASSWORD=bench{Guid.NewGuid():N}\nGATEWAY_PORT={port}\n";
        Console.WriteLine($"demo benchmark: the shop (5 services in 3 phases, real PostgreSQL, Redis and nginx images) on port {port}, soak 0, monitor {monitor ?? "5s (default)"}, {runs} runs each after 1 warm-up, vs docker-compose up -d of the same files");

        await using var app = await DeployDeckApp.StartAsync();
        using var admin = app.CreateClient(await app.AdminTokenAsync());
        var hostId = await app.HostIdAsync();
        using var docker = DeployDeckApp.Docker();

        var ours = new List<double>();
        var baseline = new List<double>();
        for (var run = -1; run < runs; run++)
        {
            var composeMs = await ComposeOnceAsync(docker, composeFile, gatewayConf, env, port, $"ddshop{run + 1}x{Environment.ProcessId}");
            var (deckMs, _) = await DeckOnceAsync(admin, docker, hostId, file, gatewayConf, env, $"shopbench{run + 1}x{Environment.ProcessId}", keep: false);
            var line = string.Create(CultureInfo.InvariantCulture, $"DeployDeck {deckMs / 1000:0.00} s, docker-compose {composeMs / 1000:0.00} s");
            if (run < 0)
            {
                Console.WriteLine($"  warm-up: {line} — not counted");
                continue;
            }

            ours.Add(deckMs);
            baseline.Add(composeMs);
            Console.WriteLine($"  run {run + 1}: {line}");
        }

        static string Upgrade(string yaml) => yaml.Replace("PROBE_VERSION: \"1.0\"\n      API_URL", "PROBE_VERSION: \"1.1\"\n      API_URL", StringComparison.Ordinal);
        if (Upgrade(file) == file)
            throw new InvalidOperationException("the demo's web front no longer sets PROBE_VERSION \"1.0\" before API_URL: the upgrade step needs a new edit");
        var composeGap = await ComposeUpgradeAsync(docker, composeFile, Upgrade(composeFile), gatewayConf, env, port, $"ddshopup{Environment.ProcessId}");
        var deckGap = await DeckUpgradeAsync(admin, docker, hostId, file, gatewayConf, env, port, $"shopbenchup{Environment.ProcessId}");

        Console.WriteLine();
        Console.WriteLine("| what | median | min | max |");
        Console.WriteLine("|---|---|---|---|");
        RolloutBench.Row("DeployDeck rollout of the demo (POST → Succeeded, gates passed)", ours);
        RolloutBench.Row("baseline: docker-compose up -d + all healthy + the gateway answers", baseline);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"\nratio DeployDeck / docker-compose (medians): {RolloutBench.Median(ours) / RolloutBench.Median(baseline):0.00}× (goal ≤ 1.0×)"));
        Console.WriteLine();
        Console.WriteLine("| upgrade of the web front | longest time the gateway answered nothing | failed requests | requests |");
        Console.WriteLine("|---|---|---|---|");
        Console.WriteLine(gapRow("DeployDeck (start-first, then the old one stops)", deckGap));
        Console.WriteLine(gapRow("docker-compose up -d (recreates it)", composeGap));
        return 0;

        static string gapRow(string what, Gap gap) => string.Create(CultureInfo.InvariantCulture, $"| {what} | {gap.LongestMs:0} ms | {gap.Failed} | {gap.Requests} |");
    }

    private static async Task<string> ProjectDirAsync(string file, string gatewayConf, string env)
    {
        var dir = Directory.CreateTempSubdirectory("dd-bench-demo-").FullName;
        await File.WriteAllTextAsync(Path.Combine(dir, "docker-compose.yml"), file);
        await File.WriteAllTextAsync(Path.Combine(dir, "gateway.conf"), gatewayConf);
        await File.WriteAllTextAsync(Path.Combine(dir, ".env"), env);
        return dir;
    }

    private static async Task<double> ComposeOnceAsync(Docker.DotNet.DockerClient docker, string file, string gatewayConf, string env, int port, string project)
    {
        var dir = await ProjectDirAsync(file, gatewayConf, env);
        try
        {
            var watch = Stopwatch.StartNew();
            await RolloutBench.ComposeCommandAsync(dir, project, "up", "-d");
            await ComposeReadyAsync(docker, project, port, "probe 1.0");
            return watch.Elapsed.TotalMilliseconds;
        }
        finally
        {
            await RolloutBench.ComposeCommandAsync(dir, project, "down", "-v", "-t", "1");
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<Gap> ComposeUpgradeAsync(Docker.DotNet.DockerClient docker, string file, string upgrade, string gatewayConf, string env, int port, string project)
    {
        var dir = await ProjectDirAsync(file, gatewayConf, env);
        try
        {
            await RolloutBench.ComposeCommandAsync(dir, project, "up", "-d");
            await ComposeReadyAsync(docker, project, port, "probe 1.0");
            await using var poller = Poller.Start(port);
            await File.WriteAllTextAsync(Path.Combine(dir, "docker-compose.yml"), upgrade);
            await RolloutBench.ComposeCommandAsync(dir, project, "up", "-d");
            await ComposeReadyAsync(docker, project, port, "probe 1.1");
            return await poller.StopAsync();
        }
        finally
        {
            await RolloutBench.ComposeCommandAsync(dir, project, "down", "-v", "-t", "1");
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Every container with a health check healthy, and the gateway's page is the version wanted.</summary>
    private static async Task ComposeReadyAsync(Docker.DotNet.DockerClient docker, string project, int port, string version)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (DateTime.UtcNow < deadline)
        {
            var list = await docker.Containers.ListContainersAsync(new ContainersListParameters
            {
                Filters = ComposeProjects.Filter(project),
            });
            var healthy = Healthchecked.All(s => list.Any(c => c.Labels["com.docker.compose.service"] == s && c.Status.Contains("(healthy)", StringComparison.Ordinal)));
            if (healthy && await AnswersAsync(http, port, version))
                return;
            await Task.Delay(50);
        }

        throw new TimeoutException($"docker-compose's {project} was not healthy with the gateway answering {version} in 2 minutes");
    }

    private static async Task<bool> AnswersAsync(HttpClient http, int port, string version)
    {
        try
        {
            using var response = await http.GetAsync($"http://127.0.0.1:{port}/");
            return response.IsSuccessStatusCode && (await response.Content.ReadAsStringAsync()).StartsWith(version, StringComparison.Ordinal);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    private static async Task<Guid> ImportAsync(HttpClient admin, string name, string file, string gatewayConf, string env)
    {
        var imported = await admin.PostAsJsonAsync("/api/plans/import", new
        {
            name,
            files = new[] { new { name = "docker-compose.yml", content = file } },
            env,
            projectFiles = new[] { new { name = "./gateway.conf", content = gatewayConf } },
        });
        var body = await imported.Content.ReadAsStringAsync();
        if (!imported.IsSuccessStatusCode)
            throw new InvalidOperationException($"import refused: {body}");
        return JsonDocument.Parse(body).RootElement.GetProperty("plan").GetProperty("id").GetGuid();
    }

    private static async Task<(double Ms, Guid PlanId)> DeckOnceAsync(HttpClient admin, Docker.DotNet.DockerClient docker, Guid hostId,
        string file, string gatewayConf, string env, string name, bool keep)
    {
        var planId = await ImportAsync(admin, name, file, gatewayConf, env);
        var watch = Stopwatch.StartNew();
        await ReconcileBench.RollOutAsync(admin, planId, hostId);
        var ms = watch.Elapsed.TotalMilliseconds;
        if (!keep)
            await ComposeProjects.RemoveAsync(docker, name);
        return (ms, planId);
    }

    private static async Task<Gap> DeckUpgradeAsync(HttpClient admin, Docker.DotNet.DockerClient docker, Guid hostId,
        string file, string gatewayConf, string env, int port, string name)
    {
        var (_, planId) = await DeckOnceAsync(admin, docker, hostId, file, gatewayConf, env, name, keep: true);
        try
        {
            await using var poller = Poller.Start(port);
            var plan = JsonNode.Parse(await admin.GetStringAsync($"/api/plans/{planId}"))!;
            var web = plan["phases"]!.AsArray().SelectMany(p => p!["services"]!.AsArray()).First(s => (string)s!["name"]! == "web")!;
            web["environment"]!["PROBE_VERSION"] = "1.1";
            var saved = await admin.PutAsJsonAsync($"/api/plans/{planId}", new JsonObject { ["baseRevision"] = (int)plan["revision"]!, ["phases"] = plan["phases"]!.DeepClone() });
            if (!saved.IsSuccessStatusCode)
                throw new InvalidOperationException($"the edit was refused: {await saved.Content.ReadAsStringAsync()}");
            await ReconcileBench.RollOutAsync(admin, planId, hostId);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
            while (!await AnswersAsync(http, port, "probe 1.1"))
                await Task.Delay(50);
            return await poller.StopAsync();
        }
        finally
        {
            await ComposeProjects.RemoveAsync(docker, name);
        }
    }

    private sealed record Gap(double LongestMs, int Failed, int Requests);

    /// <summary>Asks the gateway every 20 ms (1 s timeout each) and measures the longest stretch from a failure to the next answer.</summary>
    private sealed class Poller : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private Task<Gap> _polling = Task.FromResult(new Gap(0, 0, 0));

        public static Poller Start(int port)
        {
            var poller = new Poller();
            poller._polling = Task.Run(() => poller.PollAsync(port));
            return poller;
        }

        private async Task<Gap> PollAsync(int port)
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
            var clock = Stopwatch.StartNew();
            double longest = 0;
            double? failingSince = null;
            int failed = 0, requests = 0;
            while (!_stop.IsCancellationRequested)
            {
                var at = clock.Elapsed.TotalMilliseconds;
                var ok = await AnswersAsync(http, port, "probe");
                requests++;
                if (ok && failingSince is { } since)
                {
                    longest = Math.Max(longest, clock.Elapsed.TotalMilliseconds - since);
                    failingSince = null;
                }
                else if (!ok)
                {
                    failed++;
                    failingSince ??= at;
                }

                await Task.Delay(20);
            }

            if (failingSince is { } still)
                longest = Math.Max(longest, clock.Elapsed.TotalMilliseconds - still);
            return new Gap(longest, failed, requests);
        }

        public async Task<Gap> StopAsync()
        {
            await _stop.CancelAsync();
            return await _polling;
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await ((Task)_polling).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _stop.Dispose();
        }
    }

    [GeneratedRegex(@"^name: shop\n", RegexOptions.Multiline)]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"^    labels: \{deploydeck\.phase: \w+\}$", RegexOptions.Multiline)]
    private static partial Regex PhaseLabel();

    [GeneratedRegex(@"soak: \d+s")]
    private static partial Regex SoakPattern();
}
