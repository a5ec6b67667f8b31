using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using DeployDeck.Tests.Shared;
using Docker.DotNet.Models;

namespace DeployDeck.Bench;

/// <summary>
/// The unchanged 20-service plan rolled out again — every service kept, only its gates run — against the same baseline
/// Compose gives: `docker-compose up -d` of the unchanged file (every container "up-to-date") until all are healthy.
/// </summary>
internal static class ReconcileBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var runs = PreflightBench.Option(args, "--runs", 3);
        Console.WriteLine($"reconcile benchmark: the 20-service rollout plan (5 phases, soak 0) rolled out again unchanged, {runs} runs, vs docker-compose up -d of the unchanged file");
        await using var app = await DeployDeckApp.StartAsync();
        using var admin = app.CreateClient(await app.AdminTokenAsync());
        var hostId = await app.HostIdAsync();
        using var docker = DeployDeckApp.Docker();

        var planId = await app.SeedPlanAsync("bench-reconcile", RolloutBench.Plan());
        var first = await RollOutAsync(admin, planId, hostId);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  first rollout (creates all 20, not counted): {first.Elapsed.TotalSeconds:0.00} s"));
        var ours = new List<double>();
        for (var run = 0; run < runs; run++)
        {
            var (elapsed, rollout) = await RollOutAsync(admin, planId, hostId);
            var kept = rollout.GetProperty("reconcile").GetProperty("services").EnumerateArray().Count(s => s.GetProperty("action").GetString() == "Keep");
            var created = rollout.GetProperty("events").EnumerateArray().Count(e => e.GetProperty("kind").GetString() == "service.created");
            // A probe that turned unhealthy under load is recreated, as it should be: said, and counted apart.
            var others = rollout.GetProperty("reconcile").GetProperty("services").EnumerateArray().Where(s => s.GetProperty("action").GetString() != "Keep")
                .Select(s => $"{s.GetProperty("service").GetString()} {s.GetProperty("action").GetString()}: {s.GetProperty("reason").GetString()}").ToList();
            if (kept == 20 && created == 0)
                ours.Add(elapsed.TotalMilliseconds);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  run {run + 1}: DeployDeck again {elapsed.TotalSeconds:0.00} s ({kept} kept, {created} created{(others.Count == 0 ? "" : "; not counted: " + string.Join("; ", others))})"));
        }

        foreach (var c in await app.ContainersAsync())
            await docker.Containers.RemoveContainerAsync(c.ID, new ContainerRemoveParameters { Force = true });

        var baseline = new List<double>();
        var dir = Directory.CreateTempSubdirectory("dd-bench-reconcile-");
        var project = $"ddreconcile{Environment.ProcessId}";
        try
        {
            await File.WriteAllTextAsync(Path.Combine(dir.FullName, "docker-compose.yml"), RolloutBench.ComposeFile());
            await RolloutBench.ComposeCommandAsync(dir.FullName, project, "up", "-d");
            await AllHealthyAsync(docker, project);
            for (var run = 0; run < runs; run++)
            {
                var watch = Stopwatch.StartNew();
                await RolloutBench.ComposeCommandAsync(dir.FullName, project, "up", "-d");
                await AllHealthyAsync(docker, project);
                baseline.Add(watch.Elapsed.TotalMilliseconds);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  run {run + 1}: docker-compose up -d again {watch.Elapsed.TotalSeconds:0.00} s"));
            }
        }
        finally
        {
            await RolloutBench.ComposeCommandAsync(dir.FullName, project, "down", "-t", "1");
            dir.Delete(recursive: true);
        }

        Console.WriteLine();
        Console.WriteLine("| what | median | min | max |");
        Console.WriteLine("|---|---|---|---|");
        if (ours.Count == 0)
            throw new InvalidOperationException("no run kept all 20 services: see the reasons above");
        RolloutBench.Row("DeployDeck rollout of the unchanged plan, all 20 kept (POST → Succeeded)", ours);
        RolloutBench.Row("baseline: docker-compose up -d of the unchanged file + all healthy", baseline);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"\nratio DeployDeck / docker-compose (medians): {RolloutBench.Median(ours) / RolloutBench.Median(baseline):0.00}×"));
        return 0;
    }

    internal static async Task<(TimeSpan Elapsed, JsonElement Rollout)> RollOutAsync(HttpClient admin, Guid planId, Guid hostId)
    {
        var watch = Stopwatch.StartNew();
        var started = await admin.PostAsJsonAsync("/api/rollouts", new { planId, hostId });
        if (!started.IsSuccessStatusCode)
            throw new InvalidOperationException($"rollout refused: {await started.Content.ReadAsStringAsync()}");
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        JsonElement rollout;
        do
            rollout = await admin.GetFromJsonAsync<JsonElement>($"/api/rollouts/{id}?wait=25");
        while (rollout.GetProperty("state").GetString() is not ("Succeeded" or "Failed" or "RolledBack" or "Aborted"));
        watch.Stop();
        if (rollout.GetProperty("state").GetString() != "Succeeded")
        {
            var failures = rollout.GetProperty("events").EnumerateArray().Where(e => e.GetProperty("kind").GetString() is "service.failed" or "gate.failed" or "phase.failed" or "soak.failed")
                .Select(e => $"{e.GetProperty("kind").GetString()} {e.GetProperty("service")}: {e.GetProperty("message").GetString()}");
            throw new InvalidOperationException($"rollout {id} ended {rollout.GetProperty("state")}: {rollout.GetProperty("error")}\n{string.Join("\n", failures)}");
        }
        return (watch.Elapsed, rollout);
    }

    private static async Task AllHealthyAsync(Docker.DotNet.DockerClient docker, string project)
    {
        while (true)
        {
            var list = await docker.Containers.ListContainersAsync(new ContainersListParameters
            {
                All = true,
                Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"com.docker.compose.project={project}"] = true } },
            });
            if (list.Count == 20 && list.All(c => c.Status.Contains("(healthy)", StringComparison.Ordinal)))
                return;
            await Task.Delay(50);
        }
    }
}
