using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;
using DeployDeck.Tests.Shared;
using Docker.DotNet.Models;
using RestartPolicy = DeployDeck.Domain.Plans.RestartPolicy;
using ServiceSpec = DeployDeck.Domain.Plans.ServiceSpec;

namespace DeployDeck.Bench;

/// <summary>
/// 20 probe services with health checks in 5 phases, soak 0, automatic promotion: a DeployDeck rollout against the fair
/// baseline, `docker-compose up -d` of the same services where each phase's services depend (service_healthy) on the
/// previous phase's, plus waiting until all are healthy. DeployDeck's overhead is its wall time less, per phase, the
/// engine's own time from the phase's first create to its last health_status: healthy event.
/// </summary>
internal static class RolloutBench
{
    private const int Phases = 5;
    private const int PerPhase = 4;

    public static async Task<int> RunAsync(string[] args)
    {
        var runs = PreflightBench.Option(args, "--runs", 3);
        var warmups = PreflightBench.Option(args, "--warmup", 1);
        Console.WriteLine($"rollout benchmark: {Phases * PerPhase} probe services with health checks (interval 1 s) in {Phases} phases, soak 0, automatic promotion; {runs} runs each after {warmups} warm-up run(s)");
        await using var app = await DeployDeckApp.StartAsync();
        using var admin = app.CreateClient(await app.AdminTokenAsync());
        var hostId = await app.HostIdAsync();
        using var docker = DeployDeckApp.Docker();

        var ours = new List<double>();
        var engineTimes = new List<double>();
        var baseline = new List<double>();
        // Warm-up runs (not counted) take the one-time costs of a server that just started — JIT compilation of every
        // step's code, EF Core's first queries, connection pools — which a long-running DeployDeck has paid long before.
        for (var run = -warmups; run < runs; run++)
        {
            // Alternate, so that neither side always runs on a warmer engine.
            var compose = await ComposeAsync(docker, run + warmups);

            var planId = await app.SeedPlanAsync($"bench-{run + warmups}", Plan());
            // The engine keeps only its last 256 events for later queries: health checks flood that, so listen live.
            await using var engineEvents = EngineEvents.Listen(docker);
            var watch = Stopwatch.StartNew();
            var started = await admin.PostAsJsonAsync("/api/rollouts", new { planId, hostId });
            var posted = watch.Elapsed;
            if (!started.IsSuccessStatusCode)
                throw new InvalidOperationException($"rollout refused: {await started.Content.ReadAsStringAsync()}");
            var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
            // The long-poll a CI step uses: it answers when the Worker's last event reaches Web.
            JsonElement rollout;
            do
                rollout = await admin.GetFromJsonAsync<JsonElement>($"/api/rollouts/{id}?wait=25");
            while (rollout.GetProperty("state").GetString() is not ("Succeeded" or "Failed" or "RolledBack" or "Aborted"));
            watch.Stop();
            await engineEvents.StopAsync();
            if (rollout.GetProperty("state").GetString() != "Succeeded")
                throw new InvalidOperationException($"rollout {id} ended {rollout.GetProperty("state")}:\n{app.WorkerLog}");
            foreach (var c in await app.ContainersAsync())
                await docker.Containers.RemoveContainerAsync(c.ID, new ContainerRemoveParameters { Force = true });
            if (run < 0)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  warm-up: DeployDeck {watch.Elapsed.TotalSeconds:0.00} s (engine time {engineEvents.EngineTime(id) / 1000:0.00} s), docker-compose {compose / 1000:0.00} s — not counted"));
                continue;
            }

            baseline.Add(compose);
            ours.Add(watch.Elapsed.TotalMilliseconds);
            engineTimes.Add(engineEvents.EngineTime(id));
            if (args.Contains("--verbose"))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"      POST answered after {posted.TotalMilliseconds:0} ms; the long-poll answered {watch.Elapsed.TotalSeconds:0.00} s after the POST was sent"));
                PrintTimeline(rollout, every: args.Contains("--every-step"));
                engineEvents.PrintGaps(id, rollout);
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  run {run + 1}: DeployDeck {ours[^1] / 1000:0.00} s (engine time {engineTimes[^1] / 1000:0.00} s), docker-compose {baseline[^1] / 1000:0.00} s"));
        }

        var overhead = ours.Zip(engineTimes, (a, b) => a - b).ToList();
        Console.WriteLine();
        Console.WriteLine("| what | median | min | max |");
        Console.WriteLine("|---|---|---|---|");
        Row("DeployDeck rollout (POST → Succeeded)", ours);
        Row("baseline: docker-compose up -d + all healthy", baseline);
        Row("engine time (Σ per phase: first create → last healthy)", engineTimes);
        Row("DeployDeck overhead (rollout − engine time)", overhead);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"\nratio DeployDeck / docker-compose (medians): {Median(ours) / Median(baseline):0.00}× (goal ≤ 1.10×)"));
        return 0;
    }

    private static ServiceSpec Probe(string name) => new()
    {
        Name = name,
        Image = "deploydeck/probe:latest",
        Resources = new ResourceLimits(MemorySize.Parse("32m"), null, null, CpuShare.Parse("0.25")),
        Restart = new RestartPolicy(RestartMode.UnlessStopped),
        HealthCheck = new HealthCheck(["CMD", "/bin/wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"],
            TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), 3, TimeSpan.Zero),
    };

    internal static PlanSpec Plan() => new(Enumerable.Range(0, Phases).Select(p => new PhaseSpec
    {
        Name = $"phase{p + 1}",
        Services = Enumerable.Range(0, PerPhase).Select(i => Probe($"s{p + 1}-{i + 1}")).ToList(),
    }).ToList());

    private static void PrintTimeline(JsonElement rollout, bool every)
    {
        var events = rollout.GetProperty("events").EnumerateArray().ToList();
        var t0 = DateTimeOffset.Parse(rollout.GetProperty("createdAt").GetString()!, CultureInfo.InvariantCulture);
        foreach (var e in events.Where(e => every || e.GetProperty("kind").GetString() is "rollout.started" or "phase.admitted" or "phase.started" or "phase.passed" or "rollout.succeeded"))
        {
            var at = DateTimeOffset.Parse(e.GetProperty("at").GetString()!, CultureInfo.InvariantCulture);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"      +{(at - t0).TotalSeconds,6:0.00} s  {e.GetProperty("kind").GetString()} {e.GetProperty("phase").GetString()} {e.GetProperty("service").GetString()}"));
        }
    }

    /// <summary>Container create and health events of DeployDeck's containers, streamed while a rollout runs.</summary>
    private sealed class EngineEvents : IAsyncDisposable
    {
        private readonly List<Message> _events = [];
        private readonly CancellationTokenSource _stop = new();
        private Task _listening = Task.CompletedTask;

        public static EngineEvents Listen(Docker.DotNet.DockerClient docker)
        {
            var listener = new EngineEvents();
            listener._listening = docker.System.MonitorEventsAsync(new ContainerEventsParameters
            {
                Filters = new Dictionary<string, IDictionary<string, bool>>
                {
                    ["type"] = new Dictionary<string, bool> { ["container"] = true },
                    ["event"] = new Dictionary<string, bool> { ["create"] = true, ["health_status"] = true },
                    ["label"] = new Dictionary<string, bool> { ["deploydeck.managed=true"] = true },
                },
            }, new Collect(m => { lock (listener._events) listener._events.Add(m); }), listener._stop.Token);
            return listener;
        }

        public async Task StopAsync()
        {
            await Task.Delay(200); // the last healthy event may trail the state change by a moment
            await _stop.CancelAsync();
            await _listening.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        /// <summary>Σ per phase: from its first container's create to its last health_status: healthy, by the engine's clock.</summary>
        public double EngineTime(Guid rolloutId)
        {
            List<Message> mine;
            lock (_events)
                mine = _events.Where(e => e.Actor?.Attributes is { } a && a.TryGetValue("deploydeck.rollout", out var r) && r == rolloutId.ToString()).ToList();
            double total = 0;
            foreach (var phase in mine.GroupBy(e => e.Actor!.Attributes.TryGetValue("deploydeck.phase", out var p) ? p : ""))
            {
                var creates = phase.Where(e => e.Action == "create").Select(e => e.TimeNano ?? 0).ToList();
                var healthy = phase.Where(e => e.Action == "health_status: healthy").Select(e => e.TimeNano ?? 0).ToList();
                if (creates.Count > 0 && healthy.Count > 0)
                    total += (healthy.Max() - creates.Min()) / 1e6;
            }

            return total;
        }

        /// <summary>Per phase: from "phase.started" to the engine's first create, and from its last healthy to "phase.passed".</summary>
        public void PrintGaps(Guid rolloutId, JsonElement rollout)
        {
            List<Message> mine;
            lock (_events)
                mine = _events.Where(e => e.Actor?.Attributes is { } a && a.TryGetValue("deploydeck.rollout", out var r) && r == rolloutId.ToString()).ToList();
            DateTimeOffset At(long nano) => DateTimeOffset.FromUnixTimeMilliseconds(nano / 1_000_000);
            var events = rollout.GetProperty("events").EnumerateArray().ToList();
            foreach (var phase in mine.GroupBy(e => e.Actor!.Attributes["deploydeck.phase"]))
            {
                DateTimeOffset Event(string kind) => DateTimeOffset.Parse(events.First(e => e.GetProperty("kind").GetString() == kind && e.GetProperty("phase").GetString() == phase.Key).GetProperty("at").GetString()!, CultureInfo.InvariantCulture);
                var firstCreate = At(phase.Where(e => e.Action == "create").Min(e => e.TimeNano ?? 0));
                var lastHealthy = At(phase.Where(e => e.Action == "health_status: healthy").Max(e => e.TimeNano ?? 0));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"      {phase.Key}: started → first create {(firstCreate - Event("phase.started")).TotalMilliseconds:0} ms, engine {(lastHealthy - firstCreate).TotalMilliseconds:0} ms, last healthy → passed {(Event("phase.passed") - lastHealthy).TotalMilliseconds:0} ms"));
            }
        }

        public async ValueTask DisposeAsync()
        {
            await StopAsync();
            _stop.Dispose();
        }
    }

    private sealed class Collect(Action<Message> each) : IProgress<Message>
    {
        public void Report(Message value) => each(value);
    }

    private static async Task<double> ComposeAsync(Docker.DotNet.DockerClient docker, int run)
    {
        var dir = Directory.CreateTempSubdirectory("dd-bench-compose-");
        var project = $"ddbench{run}{Environment.ProcessId}";
        try
        {
            await File.WriteAllTextAsync(Path.Combine(dir.FullName, "docker-compose.yml"), ComposeFile());
            var watch = Stopwatch.StartNew();
            await ComposeCommandAsync(dir.FullName, project, "up", "-d");
            // up -d returns once the last phase's containers started; "all healthy" is the finish line for both sides.
            while (true)
            {
                var list = await docker.Containers.ListContainersAsync(new ContainersListParameters
                {
                    All = true,
                    Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"com.docker.compose.project={project}"] = true } },
                });
                if (list.Count == Phases * PerPhase && list.All(c => c.Status.Contains("(healthy)", StringComparison.Ordinal)))
                    break;
                await Task.Delay(50);
            }

            watch.Stop();
            return watch.Elapsed.TotalMilliseconds;
        }
        finally
        {
            await ComposeCommandAsync(dir.FullName, project, "down", "-t", "1");
            dir.Delete(recursive: true);
        }
    }

    internal static string ComposeFile()
    {
        var yaml = new StringBuilder("version: \"2.4\"\nservices:\n");
        for (var p = 1; p <= Phases; p++)
        {
            for (var i = 1; i <= PerPhase; i++)
            {
                yaml.Append(CultureInfo.InvariantCulture, $"""
                      s{p}-{i}:
                        image: deploydeck/probe:latest
                        mem_limit: 32m
                        memswap_limit: 32m
                        cpus: 0.25
                        restart: unless-stopped
                        labels: ["deploydeck.test=true", "deploydeck.bench=true"]
                        healthcheck:
                          test: ["CMD", "/bin/wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]
                          interval: 1s
                          timeout: 2s
                          retries: 3

                    """);
                if (p > 1)
                {
                    yaml.Append("    depends_on:\n");
                    for (var d = 1; d <= PerPhase; d++)
                        yaml.Append(CultureInfo.InvariantCulture, $"      s{p - 1}-{d}:\n        condition: service_healthy\n");
                }
            }
        }

        return yaml.ToString();
    }

    internal static async Task ComposeCommandAsync(string dir, string project, params string[] args)
    {
        var info = new ProcessStartInfo("docker-compose") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("-p");
        info.ArgumentList.Add(project);
        foreach (var a in args)
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"docker-compose {string.Join(' ', args)} failed: {await stderr}");
    }

    internal static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    internal static void Row(string what, List<double> ms) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {what} | {Median(ms) / 1000:0.00} s | {ms.Min() / 1000:0.00} s | {ms.Max() / 1000:0.00} s |"));
}
