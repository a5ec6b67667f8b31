using System.Collections.Concurrent;
using System.Diagnostics;
using DeployDeck.Domain.Engine;
using DeployDeck.Domain.Hosts;
using DeployDeck.Domain.Monitoring;
using DeployDeck.Infrastructure.Engine;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DeployDeck.Infrastructure.Monitoring;

/// <summary>One tick's figures: the host and each managed container that could be read.</summary>
public sealed record StatsSample(string Source, DateTimeOffset At, TimeSpan Took, HostFigures Host, IReadOnlyList<ContainerFigures> Containers);

/// <summary>
/// Takes one sample of the host and every managed container, from the cheapest correct source: the cgroup files and
/// /proc when the engine is local (a few file reads per container), else one-shot stats calls (one engine call per
/// container, bounded concurrency, each with a timeout) with this collector's own previous reading for CPU deltas.
/// Never a long-lived stats stream. Not thread-safe: one sampler loop calls it.
/// </summary>
public sealed class StatsCollector : IDisposable
{
    private readonly DockerClient _client;
    private readonly ManagedContainers _containers;
    private readonly IHostInspector _inspector;
    private readonly MonitoringOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger<StatsCollector> _logger;
    private readonly CgroupReader? _cgroup;
    private readonly ConcurrentDictionary<string, (long Nanos, DateTimeOffset At)> _previousCpu = new(StringComparer.Ordinal);
    private EngineInfoCache? _engine;
    private (DateTimeOffset At, HostFigures Figures)? _remoteHost;

    public StatsCollector(
        DockerClient client, ManagedContainers containers, IHostInspector inspector, IOptions<MonitoringOptions> options, IOptions<DockerOptions> docker,
        TimeProvider clock, ILogger<StatsCollector> logger)
    {
        _client = client;
        _containers = containers;
        _inspector = inspector;
        _options = options.Value;
        _clock = clock;
        _logger = logger;
        var local = new Uri(docker.Value.Endpoint).Scheme == "unix";
        if (_options.Source == StatsSourceKind.Engine || (_options.Source == StatsSourceKind.Auto && !local))
            return;
        var reader = new CgroupReader(_options.CgroupRoot, _options.ProcRoot);
        if (reader.Version is null)
        {
            if (_options.Source == StatsSourceKind.Cgroup)
                throw new InvalidOperationException($"Monitoring:Source is Cgroup but no cgroup tree is readable at {_options.CgroupRoot}");
            logger.LogWarning("No cgroup tree at {CgroupRoot}: sampling through one-shot engine stats calls", _options.CgroupRoot);
            return;
        }

        _cgroup = reader;
    }

    public void Dispose() => _cgroup?.Dispose();

    /// <summary>cgroup-v1, cgroup-v2 or engine.</summary>
    public string Source => _cgroup?.SourceName ?? "engine";

    public async Task<StatsSample> SampleAsync(CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        var at = _clock.GetUtcNow();
        await _containers.RefreshAsync(cancellationToken);
        var host = await HostAsync(cancellationToken);

        var tracked = _containers.Current.ToList();
        var figures = new List<ContainerFigures>(tracked.Count);
        var viaEngine = new List<TrackedContainer>();
        foreach (var container in tracked)
        {
            if (container.State != "running")
            {
                // Restarting or paused: shown with its state, not read — stats of a container that is not running are
                // known to hang, and a restart loop would otherwise cost a time-out every tick.
                figures.Add(Figures(container, null, container.MemoryLimitBytes, null, null, null, null, null, null));
                continue;
            }

            if (_cgroup is null)
            {
                viaEngine.Add(container);
                continue;
            }

            var reading = _cgroup.Read(container.Id);
            if (reading is null)
            {
                // No cgroup directory: gone (the one-shot call says so at once and the container is dropped), not created yet,
                // or a cgroup tree this process cannot see (a Worker in a container without the host's tree mounted).
                viaEngine.Add(container);
                continue;
            }

            figures.Add(Figures(container, reading.MemoryBytes, reading.MemoryLimitBytes ?? container.MemoryLimitBytes, Cpu(container.Id, reading.CpuNanos, at),
                reading.NetRxBytes, reading.NetTxBytes, reading.BlockReadBytes, reading.BlockWriteBytes, reading.Pids));
        }

        if (viaEngine.Count > 0)
            figures.AddRange(await EngineStatsAsync(viaEngine, cancellationToken));

        var ids = tracked.Select(t => t.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var gone in _previousCpu.Keys.Where(id => !ids.Contains(id)).ToList())
        {
            _previousCpu.TryRemove(gone, out _);
            _cgroup?.Forget(gone);
        }

        return new StatsSample(Source, at, watch.Elapsed, host, figures.OrderBy(f => f.Name, StringComparer.Ordinal).ToList());
    }

    private double? Cpu(string id, long? nanos, DateTimeOffset at)
    {
        if (nanos is not { } now)
            return null;
        var percent = _previousCpu.TryGetValue(id, out var previous) ? CgroupText.CpuPercent(previous.Nanos, previous.At, now, at) : null;
        _previousCpu[id] = (now, at);
        return percent;
    }

    private async Task<IEnumerable<ContainerFigures>> EngineStatsAsync(List<TrackedContainer> containers, CancellationToken cancellationToken)
    {
        var results = new ConcurrentBag<ContainerFigures>();
        await Parallel.ForEachAsync(containers, new ParallelOptions { MaxDegreeOfParallelism = _options.MaxParallelStats, CancellationToken = cancellationToken }, async (container, ct) =>
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(_options.StatsTimeout); // stats of a stopping container are known to hang
            var latest = new Latest<ContainerStatsResponse>();
            try
            {
                await _client.Containers.GetContainerStatsAsync(container.Id, new ContainerStatsParameters { Stream = false, OneShot = true }, latest, cts.Token);
            }
            catch (DockerContainerNotFoundException)
            {
                container.Stale = true;
                return;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                _logger.LogDebug("Stats of {Container} took longer than {Timeout}: skipped this tick", container.Name, _options.StatsTimeout);
                container.Stale = true;
                return;
            }

            if (latest.Value is not { } stats || stats.MemoryStats?.Usage is not { } usage || usage == 0)
                return; // a stopped container answers with zeros
            var memoryStat = (stats.MemoryStats.Stats ?? new Dictionary<string, ulong>()).ToDictionary(kv => kv.Key, kv => (long)kv.Value, StringComparer.Ordinal);
            var memory = CgroupText.MemoryWithoutCache((long)usage, memoryStat, memoryStat.ContainsKey("total_inactive_file") ? CgroupVersion.V1 : CgroupVersion.V2);
            var at = stats.Read == default ? _clock.GetUtcNow() : new DateTimeOffset(stats.Read.ToUniversalTime());
            var io = stats.BlkioStats?.IoServiceBytesRecursive;
            results.Add(Figures(container, memory,
                stats.MemoryStats.Limit is > 0 and < (1UL << 60) ? (long)stats.MemoryStats.Limit : container.MemoryLimitBytes,
                Cpu(container.Id, stats.CPUStats?.CPUUsage?.TotalUsage is { } total ? (long)total : null, at),
                stats.Networks?.Values.Sum(n => (long)n.RxBytes), stats.Networks?.Values.Sum(n => (long)n.TxBytes),
                io?.Where(e => string.Equals(e.Op, "read", StringComparison.OrdinalIgnoreCase)).Sum(e => (long)e.Value),
                io?.Where(e => string.Equals(e.Op, "write", StringComparison.OrdinalIgnoreCase)).Sum(e => (long)e.Value),
                stats.PidsStats?.Current is { } pids ? (int)pids : null));
        });
        return results;
    }

    private async Task<HostFigures> HostAsync(CancellationToken cancellationToken)
    {
        _engine ??= await EngineInfoCache.ReadAsync(_client, _options, cancellationToken);
        if (_cgroup is not null && _cgroup.Host() is { } local)
        {
            var disk = Disk(string.IsNullOrWhiteSpace(_options.DataRoot) ? _engine.DockerRootDir : _options.DataRoot);
            return new HostFigures
            {
                MemoryTotalBytes = local.Total,
                MemoryUsedBytes = local.Used,
                Load1 = local.Load1,
                Load5 = local.Load5,
                Load15 = local.Load15,
                Cpus = _engine.Cpus,
                DiskTotalBytes = disk?.Total,
                DiskUsedBytes = disk?.Used,
                DiskAvailableBytes = disk?.Available,
            };
        }

        // A remote engine: its host is measured through a probe container, seldom; between measurements the last one stands.
        var now = _clock.GetUtcNow();
        if (_remoteHost is not { } cached || now - cached.At >= _options.RemoteHostInterval)
        {
            var s = await _inspector.MeasureAsync(cancellationToken);
            _remoteHost = (now, new HostFigures
            {
                MemoryTotalBytes = s.MemoryTotalBytes,
                MemoryUsedBytes = s.MemoryUsedBytes,
                DiskTotalBytes = s.DiskTotalBytes,
                DiskUsedBytes = s.DiskUsedBytes,
                DiskAvailableBytes = s.DiskAvailableBytes,
                Load1 = s.Load1,
                Load5 = s.Load5,
                Load15 = s.Load15,
                Cpus = s.Cpus,
            });
        }

        return _remoteHost.Value.Figures;
    }

    /// <summary>As df counts: used = total − free, percent = used / (used + available to users).</summary>
    private static (long Total, long Used, long Available)? Disk(string path)
    {
        try
        {
            var drive = new DriveInfo(path);
            return (drive.TotalSize, drive.TotalSize - drive.TotalFreeSpace, drive.AvailableFreeSpace);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    private static ContainerFigures Figures(
        TrackedContainer c, long? memory, long? limit, double? cpu, long? rx, long? tx, long? read, long? write, int? pids) => new()
    {
        Id = c.Id,
        Name = c.Name,
        Rollout = c.Labels.GetValueOrDefault(OwnershipLabels.Rollout),
        Phase = c.Labels.GetValueOrDefault(OwnershipLabels.Phase),
        Service = c.Labels.GetValueOrDefault(OwnershipLabels.Service),
        State = c.State,
        Health = c.Health,
        RestartCount = c.RestartCount,
        MemoryBytes = memory,
        MemoryLimitBytes = limit,
        CpuPercent = cpu,
        NetRxBytes = rx,
        NetTxBytes = tx,
        BlockReadBytes = read,
        BlockWriteBytes = write,
        Pids = pids,
    };

    private sealed record EngineInfoCache(int Cpus, string DockerRootDir)
    {
        public static async Task<EngineInfoCache> ReadAsync(DockerClient client, MonitoringOptions options, CancellationToken cancellationToken)
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(options.StatsTimeout);
            var info = await client.System.GetSystemInfoAsync(cts.Token);
            return new EngineInfoCache((int)info.NCPU, info.DockerRootDir);
        }
    }
}
