using System.Diagnostics;
using System.Globalization;
using DeployDeck.Domain.Engine;
using DeployDeck.Domain.Hosts;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DeployDeck.Infrastructure.Engine;

public sealed class PreflightOptions
{
    public const string Section = "Preflight";

    /// <summary>A busybox image on the host: it reads /proc, df and the cgroup files for one host check.</summary>
    public string ProbeImage { get; set; } = "deploydeck/probe:latest";

    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Auto: read this machine's files when the engine is local and they are the host's (no container per check),
    /// else run the probe container. Probe: always the container. Local: files only.
    /// </summary>
    public HostCheckMethod Method { get; set; } = HostCheckMethod.Auto;

    /// <summary>Where the host's /proc and cgroup tree are seen from this process (a container may mount them elsewhere).</summary>
    public string LocalProc { get; set; } = "/proc";

    public string LocalCgroup { get; set; } = "/sys/fs/cgroup";
}

public enum HostCheckMethod
{
    Auto,
    Probe,
    Local,
}

/// <summary>
/// Host checks through the engine alone, so a remote engine works as a local one: the Engine API gives total
/// memory and CPUs; one short-lived probe container (16 MB, no network) with the host's /proc, cgroup tree and
/// Docker data root mounted read-only prints meminfo, loadavg, df and every container's memory in one go.
/// What it cannot read stays unknown, with the reason in <see cref="HostSignals.Notes"/>.
/// </summary>
public sealed class DockerHostInspector(
    DockerClient client, DockerRaw raw, IOptions<DockerOptions> docker, IOptions<PreflightOptions> options, TimeProvider clock,
    ILogger<DockerHostInspector> logger) : IHostInspector
{
    public const string ProbeLabel = "deploydeck.probe";

    // A fixed script: nothing in it comes from users.
    private const string Script = """
        cat /host/proc/meminfo
        echo @@loadavg
        cat /host/proc/loadavg
        echo @@df
        df -kP /host/data | tail -n 1
        echo @@cgroup
        for d in /host/cgroup/memory/docker/*/ /host/cgroup/memory/system.slice/docker-*.scope/ /host/cgroup/system.slice/docker-*.scope/ /host/cgroup/docker/*/; do
          [ -d "$d" ] || continue
          u=$(cat "$d/memory.usage_in_bytes" 2>/dev/null || cat "$d/memory.current" 2>/dev/null)
          i=$(grep -E '^(total_inactive_file|inactive_file) ' "$d/memory.stat" 2>/dev/null | head -n 1 | cut -d ' ' -f 2)
          echo "$(basename "$d") $u $i"
        done
        echo @@self
        cat /sys/fs/cgroup/memory/memory.max_usage_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.peak 2>/dev/null
        """;

    private readonly TimeSpan _timeout = docker.Value.RequestTimeout;

    public async Task<HostSignals> MeasureAsync(CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(_timeout);
        var listed = client.Containers.ListContainersAsync(new ContainersListParameters { All = false }, cts.Token);
        var info = await client.System.GetSystemInfoAsync(cts.Token);
        var running = await listed;
        var notes = new List<string>();

        string? output = null;
        var local = options.Value.Method != HostCheckMethod.Probe && docker.Value.Endpoint.StartsWith("unix://", StringComparison.Ordinal)
            ? LocalHostFiles.Read(options.Value.LocalProc, options.Value.LocalCgroup, info.DockerRootDir)
            : null;
        if (local is null && options.Value.Method == HostCheckMethod.Local)
            notes.Add("the host's files could not be read here (Preflight:Method is Local): memory in use, disk and load are unknown");
        try
        {
            output = local ?? (options.Value.Method == HostCheckMethod.Local ? null : await RunProbeAsync(info.DockerRootDir, cancellationToken));
        }
        // The figures the engine gave are still true when the probe fails on the way (over SSH a probe that outlived its
        // timeout ends as a closed channel, not a cancellation): it is a note, not a failed check.
        catch (Exception e) when (!cancellationToken.IsCancellationRequested
                                  && (e is DockerApiException or TimeoutException or OperationCanceledException || EngineProblem.Of(e, cancellationToken) is not null))
        {
            notes.Add($"the probe container could not run ({Reason(e)}): memory in use, disk and load are unknown");
            logger.LogWarning("Host probe failed: {Reason}", Reason(e));
        }

        var signals = new HostSignals
        {
            MemoryTotalBytes = info.MemTotal,
            Cpus = (int)info.NCPU,
            RunningContainers = running.Count(c => c.Labels?.ContainsKey(ProbeLabel) != true),
            MeasuredAt = clock.GetUtcNow(),
        };
        if (output is not null)
        {
            // A container that stopped while the files were read has no memory to report: only those still running count.
            var still = await client.Containers.ListContainersAsync(new ContainersListParameters { All = false }, cts.Token);
            // One waiting between restarts (state "restarting") is listed too, but has no cgroup until it runs again.
            var ids = running.Where(c => c.State == "running").Select(c => c.ID)
                .Intersect(still.Select(c => c.ID), StringComparer.Ordinal).ToHashSet(StringComparer.Ordinal);
            signals = Parse(output, signals, ids, notes);
        }
        return signals with { Notes = notes, Took = watch.Elapsed };
    }

    private async Task<string> RunProbeAsync(string dataRoot, CancellationToken cancellationToken)
    {
        var image = options.Value.ProbeImage;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(options.Value.ProbeTimeout);
        CreateContainerResponse created;
        try
        {
            created = await client.Containers.CreateContainerAsync(new CreateContainerParameters
            {
                Image = image,
                Entrypoint = ["/bin/sh", "-c"],
                Cmd = [Script],
                Labels = new Dictionary<string, string> { [ProbeLabel] = "host-check" },
                NetworkDisabled = true,
                HostConfig = new HostConfig
                {
                    Memory = 16L * 1024 * 1024,
                    MemorySwap = 16L * 1024 * 1024,
                    NetworkMode = "none",
                    ReadonlyRootfs = true,
                    Binds = ["/proc:/host/proc:ro", "/sys/fs/cgroup:/host/cgroup:ro", $"{dataRoot}:/host/data:ro"],
                },
            }, cts.Token);
        }
        catch (DockerImageNotFoundException)
        {
            throw new TimeoutException($"the probe image {image} is not on the host (build it with ./deploydeck images, or set Preflight:ProbeImage to a busybox image)");
        }

        try
        {
            await client.Containers.StartContainerAsync(created.ID, new ContainerStartParameters(), cts.Token);
            var exit = await client.Containers.WaitContainerAsync(created.ID, cts.Token);
            using var logs = await client.Containers.GetContainerLogsAsync(created.ID, new ContainerLogsParameters { ShowStdout = true, ShowStderr = true }, cts.Token);
            var (stdout, stderr) = await logs.ReadOutputToEndAsync(cts.Token);
            if (exit.StatusCode != 0 && stdout.Length == 0)
                throw new TimeoutException($"the probe exited {exit.StatusCode}: {stderr.Trim()}");
            return stdout;
        }
        finally
        {
            try
            {
                await client.Containers.RemoveContainerAsync(created.ID, new ContainerRemoveParameters { Force = true }, CancellationToken.None);
            }
            catch (DockerApiException e)
            {
                logger.LogWarning("Could not remove probe container {Id}: {Reason}", created.ID[..12], e.Message);
            }
        }
    }

    internal static HostSignals Parse(string output, HostSignals signals, IReadOnlySet<string> running, List<string> notes)
    {
        var section = "meminfo";
        var meminfo = new Dictionary<string, long>(StringComparer.Ordinal);
        var memory = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var raw in output.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith("@@", StringComparison.Ordinal))
            {
                section = line[2..];
                continue;
            }

            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            switch (section)
            {
                case "meminfo" when parts.Length >= 2 && long.TryParse(parts[1], CultureInfo.InvariantCulture, out var kb):
                    meminfo[parts[0].TrimEnd(':')] = kb * 1024;
                    break;
                case "loadavg" when parts.Length >= 3:
                    signals = signals with { Load1 = Number(parts[0]), Load5 = Number(parts[1]), Load15 = Number(parts[2]) };
                    break;
                case "df" when parts.Length >= 6:
                    signals = signals with
                    {
                        DiskTotalBytes = Kilobytes(parts[1]),
                        DiskUsedBytes = Kilobytes(parts[2]),
                        DiskAvailableBytes = Kilobytes(parts[3]),
                    };
                    break;
                case "self" when parts.Length == 1 && long.TryParse(parts[0], CultureInfo.InvariantCulture, out var peak):
                    signals = signals with { ProbePeakBytes = peak };
                    break;
                case "cgroup" when parts.Length >= 2 && long.TryParse(parts[1], CultureInfo.InvariantCulture, out var usage):
                {
                    var id = parts[0].StartsWith("docker-", StringComparison.Ordinal) ? parts[0]["docker-".Length..].Replace(".scope", "", StringComparison.Ordinal) : parts[0];
                    var inactive = parts.Length >= 3 && long.TryParse(parts[2], CultureInfo.InvariantCulture, out var i) ? i : 0;
                    if (running.Contains(id))
                        memory[id] = Math.Max(0, usage - inactive);
                    break;
                }
            }
        }

        if (meminfo.TryGetValue("MemTotal", out var total) && meminfo.TryGetValue("MemAvailable", out var available))
            signals = signals with { MemoryUsedBytes = Math.Max(0, total - available), MemoryTotalBytes = total };
        else
            notes.Add("/proc/meminfo had no MemAvailable: memory in use is unknown");
        if (signals.Load1 is null)
            notes.Add("/proc/loadavg could not be read: load is unknown");
        if (signals.DiskUsedBytes is null)
            notes.Add("df of the Docker data root could not be read: disk is unknown");
        if (memory.Count < running.Count)
            notes.Add($"the cgroup memory of {running.Count - memory.Count} running container(s) could not be read");
        return signals with { ContainerMemory = memory };
    }

    public async Task<IReadOnlyDictionary<string, ImageFacts>> ImagesAsync(IEnumerable<string> images, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, ImageFacts>(StringComparer.Ordinal);
        foreach (var image in images.Distinct(StringComparer.Ordinal))
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(_timeout);
            try
            {
                var inspect = await client.Images.InspectImageAsync(image, cts.Token);
                result[image] = new ImageFacts(true, inspect.Size)
                {
                    Id = inspect.ID,
                    Volumes = inspect.Config?.Volumes?.Keys.Order(StringComparer.Ordinal).ToList() ?? [],
                };
            }
            catch (DockerImageNotFoundException)
            {
                result[image] = new ImageFacts(false, null);
            }
            catch (DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.BadRequest)
            {
                result[image] = new ImageFacts(false, null); // not even a valid reference
            }
        }

        return result;
    }

    public async Task<IReadOnlyDictionary<string, long>> PlanMemoryAsync(Guid planId, HostSignals signals, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(_timeout);
        var containers = await client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = false,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"{OwnershipLabels.Plan}={planId}"] = true } },
        }, cts.Token);
        return containers
            .Where(c => c.Labels is not null && c.Labels.ContainsKey(OwnershipLabels.Service))
            .GroupBy(c => c.Labels[OwnershipLabels.Service], StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Sum(c => signals.ContainerMemory.GetValueOrDefault(c.ID)), StringComparer.Ordinal);
    }

    public async Task<DiskUsageReport> DiskUsageAsync(CancellationToken cancellationToken)
    {
        var df = await raw.SystemDfAsync(cancellationToken);
        var items = new List<ReclaimableItem>();
        var notes = new List<string>();
        foreach (var i in df.Images ?? [])
        {
            if (i.Containers == 0)
            {
                var tags = i.RepoTags?.Where(t => t != "<none>:<none>").ToList() ?? [];
                items.Add(new(ReclaimKind.Images, i.Id, tags.Count > 0 ? string.Join(", ", tags) : i.Id.Replace("sha256:", "", StringComparison.Ordinal)[..12],
                    i.Size - i.SharedSize, tags.Count > 0 ? "unused" : "dangling"));
            }
        }

        foreach (var c in df.Containers ?? [])
        {
            if (c.State is "running" or "paused" or "restarting")
                continue;
            if (c.Labels is not null && (c.Labels.ContainsKey(OwnershipLabels.Rollout) || c.Labels.ContainsKey(ProbeLabel)))
                continue; // DeployDeck removes its own containers; a prune never touches them
            items.Add(new(ReclaimKind.Containers, c.Id, c.Names?.FirstOrDefault()?.TrimStart('/') ?? c.Id[..12], c.SizeRw, $"{c.State}, image {c.Image}"));
        }

        foreach (var v in df.Volumes ?? [])
        {
            if (v.UsageData is { RefCount: 0 } usage)
                items.Add(new(ReclaimKind.Volumes, v.Name, v.Name, usage.Size >= 0 ? usage.Size : null, "not used by any container"));
        }

        foreach (var b in df.BuildCache ?? [])
        {
            if (!b.InUse && !b.Shared)
                items.Add(new(ReclaimKind.BuildCache, b.Id, b.Description ?? b.Id, b.Size, b.Type ?? "cache"));
        }

        if (df.Volumes?.Any(v => v.UsageData is null || v.UsageData.Size < 0) == true)
            notes.Add("the engine did not report some volume sizes");
        return new DiskUsageReport(
            df.LayersSize, (df.Containers ?? []).Sum(c => c.SizeRw ?? 0), (df.Volumes ?? []).Sum(v => Math.Max(0, v.UsageData?.Size ?? 0)),
            (df.BuildCache ?? []).Sum(b => b.Size), items, notes);
    }

    public async Task<PruneResult> PruneAsync(IReadOnlyCollection<ReclaimKind> kinds, IReadOnlyCollection<string> confirmed, CancellationToken cancellationToken)
    {
        // Only what was confirmed and is still reclaimable now: anything that changed in between is skipped, never forced.
        var now = (await DiskUsageAsync(cancellationToken)).Reclaimable.Where(i => kinds.Contains(i.Kind)).ToDictionary(i => i.Id, StringComparer.Ordinal);
        var removed = new List<ReclaimableItem>();
        var skipped = new List<string>();
        var cacheIds = new List<string>();
        foreach (var id in confirmed.Distinct(StringComparer.Ordinal))
        {
            if (!now.TryGetValue(id, out var item))
            {
                skipped.Add($"{id}: not reclaimable (any more)");
                continue;
            }

            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(_timeout);
            try
            {
                switch (item.Kind)
                {
                    case ReclaimKind.Images:
                        // Several tags of one unused image: removing by id needs force; no container uses it (checked above).
                        await client.Images.DeleteImageAsync(item.Id, new ImageDeleteParameters { Force = item.Name.Contains(',', StringComparison.Ordinal) }, cts.Token);
                        break;
                    case ReclaimKind.Containers:
                        await client.Containers.RemoveContainerAsync(item.Id, new ContainerRemoveParameters { Force = false }, cts.Token);
                        break;
                    case ReclaimKind.Volumes:
                        await client.Volumes.RemoveAsync(item.Id, force: false, cts.Token);
                        break;
                    case ReclaimKind.BuildCache:
                        cacheIds.Add(item.Id);
                        continue;
                }

                removed.Add(item);
            }
            catch (DockerApiException e)
            {
                skipped.Add($"{item.Kind} {item.Name}: {Reason(e)}");
            }
        }

        var freed = removed.Sum(r => r.SizeBytes ?? 0);
        if (cacheIds.Count > 0)
        {
            freed += await raw.PruneBuildCacheAsync(cacheIds, cancellationToken);
            removed.AddRange(cacheIds.Select(id => now[id]));
        }

        return new PruneResult(removed, freed, skipped);
    }

    private static double? Number(string text) => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : null;

    private static long? Kilobytes(string text) => long.TryParse(text, CultureInfo.InvariantCulture, out var v) ? v * 1024 : null;

    private static string Reason(Exception e) => e is DockerApiException d ? d.ResponseBody?.Trim() is { Length: > 0 } body ? body : d.Message : e.Message;
}
