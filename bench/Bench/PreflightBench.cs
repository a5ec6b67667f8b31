using System.Diagnostics;
using System.Globalization;
using DeployDeck.Domain.Hosts;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;
using DeployDeck.Infrastructure.Engine;
using Docker.DotNet;
using Docker.DotNet.Models;
using ServiceSpec = DeployDeck.Domain.Plans.ServiceSpec;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace DeployDeck.Bench;

/// <summary>
/// Host check + admission of a 40-service plan on a host running N probe containers, against the shell runbook's
/// way of getting the same figures (free, df, /proc/loadavg, docker stats --no-stream, docker image inspect).
/// </summary>
internal static class PreflightBench
{
    private const string Label = "deploydeck.bench";

    public static async Task<int> RunAsync(string[] args)
    {
        var containers = Option(args, "--containers", 40);
        var runs = Option(args, "--runs", 5);
        var endpoint = Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } h ? h : "unix:///var/run/docker.sock";
        using var client = new DockerClientBuilder().WithEndpoint(new Uri(endpoint)).Build();
        var dockerOptions = Options.Create(new DockerOptions { Endpoint = endpoint });
        using var raw = new DockerRaw(dockerOptions);
        var inspector = new DockerHostInspector(client, raw, dockerOptions, Options.Create(new PreflightOptions()), TimeProvider.System, NullLogger<DockerHostInspector>.Instance);

        Console.WriteLine($"preflight benchmark: {containers} running probe containers, a 40-service plan in 5 phases, {runs} runs each");
        var ids = await StartContainersAsync(client, containers);
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(3)); // let them settle
            var plan = Plan();
            var planId = Guid.NewGuid();

            var ours = new List<double>();
            var peaks = new List<long>();
            AdmissionForecast? forecast = null;
            for (var i = 0; i < runs; i++)
            {
                var watch = Stopwatch.StartNew();
                var signals = await inspector.MeasureAsync(CancellationToken.None);
                var previous = await inspector.PlanMemoryAsync(planId, signals, CancellationToken.None);
                var images = await inspector.ImagesAsync(plan.AllServices.Select(s => s.Image), CancellationToken.None);
                forecast = Admission.Predict(plan, signals, HostThresholds.Default, previous, images);
                watch.Stop();
                ours.Add(watch.Elapsed.TotalMilliseconds);
                if (signals.ProbePeakBytes is { } p)
                    peaks.Add(p);
                if (i == 0)
                    Console.WriteLine($"  signals: memory {signals.MemoryPercent:0.0} %, disk {signals.DiskPercent:0.0} %, load {signals.Load1:0.00}, {signals.ContainerMemory.Count}/{signals.RunningContainers} containers' memory read; notes: {(signals.Notes.Count == 0 ? "none" : string.Join("; ", signals.Notes))}");
            }

            var baseline = new List<double>();
            for (var i = 0; i < runs; i++)
            {
                var watch = Stopwatch.StartNew();
                await ShellAsync("free", "-b");
                await ShellAsync("df", "-kP", "/var/lib/docker");
                await ShellAsync("cat", "/proc/loadavg");
                await ShellAsync("docker", ["stats", "--no-stream", "--format", "{{.ID}} {{.MemUsage}}"]);
                await ShellAsync("docker", ["image", "inspect", "--format", "{{.Size}}", "deploydeck/probe:latest"]);
                watch.Stop();
                baseline.Add(watch.Elapsed.TotalMilliseconds);
            }

            Console.WriteLine();
            Console.WriteLine("| what | median | min | max |");
            Console.WriteLine("|---|---|---|---|");
            Console.WriteLine($"| DeployDeck host check + admission (40 services) | {Median(ours):0} ms | {ours.Min():0} ms | {ours.Max():0} ms |");
            Console.WriteLine($"| baseline: free + df + loadavg + docker stats --no-stream + docker image inspect | {Median(baseline):0} ms | {baseline.Min():0} ms | {baseline.Max():0} ms |");
            Console.WriteLine();
            Console.WriteLine(peaks.Count > 0
                ? $"probe container peak memory: {new MemorySize(peaks.Max())} (max of {peaks.Count} runs; cgroup memory.max_usage_in_bytes)"
                : "probe container peak memory: not reported by this engine's cgroup");
            Console.WriteLine($"goal: host check + admission ≤ 1000 ms → {(Median(ours) <= 1000 ? "met" : "NOT met")}; vs baseline: {Median(baseline) / Median(ours):0.0}× {(Median(ours) < Median(baseline) ? "faster" : "slower")}");
            Console.WriteLine($"forecast: {forecast!.Phases.Count} phases, fits: {forecast.Fits}");
            return 0;
        }
        finally
        {
            await Task.WhenAll(ids.Select(id => client.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true })));
        }
    }

    private static PlanSpec Plan()
    {
        string[] phases = ["core", "business", "analytics", "advanced", "observability"];
        return new PlanSpec(phases.Select((name, p) => new PhaseSpec
        {
            Name = name,
            Services = Enumerable.Range(0, 8).Select(i => new ServiceSpec
            {
                Name = $"{name}-{i}",
                Image = i == 7 ? $"acme/{name}:absent" : "deploydeck/probe:latest",
                Resources = new ResourceLimits(MemorySize.FromMebibytes(64 + 16 * i), MemorySize.FromMebibytes(32), null, CpuShare.FromCores(0.25)),
                DependsOn = p > 0 ? [new ServiceDependency($"{phases[p - 1]}-0")] : [],
            }).ToList(),
        }).ToList(), MemorySize.FromGibibytes(8));
    }

    private static async Task<List<string>> StartContainersAsync(DockerClient client, int count)
    {
        var ids = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var created = await client.Containers.CreateContainerAsync(new CreateContainerParameters
            {
                Image = "deploydeck/probe:latest",
                Name = $"dd-bench-{Guid.NewGuid():N}"[..20],
                Labels = new Dictionary<string, string> { [Label] = "true", ["deploydeck.test"] = "true" },
                HostConfig = new HostConfig { Memory = 32L * 1024 * 1024 },
            });
            await client.Containers.StartContainerAsync(created.ID, new ContainerStartParameters());
            ids.Add(created.ID);
        }

        return ids;
    }

    private static Task ShellAsync(string file, params string[] args) => ShellAsync(file, (IEnumerable<string>)args);

    private static async Task ShellAsync(string file, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{file} exited {process.ExitCode}");
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    internal static int Option(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : fallback;
    }
}
