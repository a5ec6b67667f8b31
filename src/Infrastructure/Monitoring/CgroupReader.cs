using System.Buffers;
using System.Text;
using DeployDeck.Domain.Monitoring;

namespace DeployDeck.Infrastructure.Monitoring;

/// <summary>
/// Reads a container's figures straight from the kernel's cgroup files (v1 or v2) and /proc: a few small file reads per
/// container and tick, no engine call. A container that vanished reads as null, at once.
/// </summary>
public sealed class CgroupReader
{
    private readonly string _root;
    private readonly string _proc;
    private readonly Dictionary<string, Paths?> _paths = new(StringComparer.Ordinal);

    public CgroupReader(string cgroupRoot, string procRoot)
    {
        _root = cgroupRoot;
        _proc = procRoot;
        Version = File.Exists(Path.Combine(cgroupRoot, "cgroup.controllers")) ? CgroupVersion.V2
            : Directory.Exists(Path.Combine(cgroupRoot, "memory")) ? CgroupVersion.V1
            : null;
    }

    /// <summary>Null when no cgroup tree is readable at the root (not Linux, or not mounted into the Worker's container).</summary>
    public CgroupVersion? Version { get; }

    public string SourceName => Version == CgroupVersion.V2 ? "cgroup-v2" : "cgroup-v1";

    /// <summary>Cumulative figures of one container; null when its cgroup is not (or no longer) there.</summary>
    public CgroupReading? Read(string containerId)
    {
        if (Version is not { } version)
            return null;
        if (!_paths.TryGetValue(containerId, out var paths) || paths is null)
        {
            paths = Resolve(containerId, version);
            if (paths is null)
                return null; // not cached: the cgroup may appear a moment after the container is listed
            _paths[containerId] = paths;
        }

        var usage = CgroupText.Value(ReadFile(paths.Memory, version == CgroupVersion.V1 ? "memory.usage_in_bytes" : "memory.current"));
        if (usage is null)
        {
            _paths.Remove(containerId);
            return null; // removed mid-sample
        }

        var stat = CgroupText.KeyedValues(ReadFile(paths.Memory, "memory.stat"));
        var pid = CgroupText.FirstPid(ReadFile(paths.Memory, "cgroup.procs"));
        var net = pid is { } p ? CgroupText.NetDev(ReadFile(Path.Combine(_proc, p.ToString(System.Globalization.CultureInfo.InvariantCulture), "net"), "dev")) : null;
        var io = version == CgroupVersion.V1 ? CgroupText.BlkioV1(ReadFile(paths.Blkio, "blkio.throttle.io_service_bytes")) : CgroupText.IoStatV2(ReadFile(paths.Blkio, "io.stat"));
        return new CgroupReading(
            CgroupText.MemoryWithoutCache(usage, stat, version),
            CgroupText.Limit(ReadFile(paths.Memory, version == CgroupVersion.V1 ? "memory.limit_in_bytes" : "memory.max")),
            CgroupText.CpuNanos(ReadFile(paths.Cpu, version == CgroupVersion.V1 ? "cpuacct.usage" : "cpu.stat"), version),
            net?.Rx, net?.Tx, io?.Read, io?.Write,
            (int?)CgroupText.Value(ReadFile(paths.Pids, "pids.current")),
            pid);
    }

    public void Forget(string containerId) => _paths.Remove(containerId);

    /// <summary>Host memory and load from /proc.</summary>
    public (long Total, long? Used, double? Load1, double? Load5, double? Load15)? Host()
    {
        var mem = CgroupText.Meminfo(ReadFile(_proc, "meminfo"));
        if (mem is not { } m)
            return null;
        var load = CgroupText.Loadavg(ReadFile(_proc, "loadavg"));
        return (m.Total, m.Available is { } a ? Math.Max(0, m.Total - a) : null, load?.One, load?.Five, load?.Fifteen);
    }

    private Paths? Resolve(string id, CgroupVersion version)
    {
        if (version == CgroupVersion.V2)
        {
            var dir = FirstExisting(Path.Combine(_root, "system.slice", $"docker-{id}.scope"), Path.Combine(_root, "docker", id));
            return dir is null ? null : new Paths(dir, dir, dir, dir);
        }

        string? V1(string controller) => FirstExisting(
            Path.Combine(_root, controller, "docker", id), Path.Combine(_root, controller, "system.slice", $"docker-{id}.scope"));
        var memory = V1("memory");
        return memory is null ? null : new Paths(memory, V1("cpuacct") ?? V1("cpu,cpuacct") ?? memory, V1("blkio") ?? memory, V1("pids") ?? memory);
    }

    private static string? FirstExisting(params string[] dirs) => dirs.FirstOrDefault(Directory.Exists);

    // Read with one pooled buffer: ~8 files per container and second, and File.ReadAllText's stream and reader buffers
    // made the sampler allocate ~90 KB per container per tick (a larger heap for the GC to keep on a small host).
    private static string? ReadFile(string dir, string name)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(8192);
        try
        {
            using var file = File.OpenHandle(Path.Combine(dir, name));
            var length = 0;
            int read;
            while ((read = RandomAccess.Read(file, buffer.AsSpan(length), length)) > 0)
            {
                length += read;
                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
            }

            return Encoding.ASCII.GetString(buffer, 0, length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private sealed record Paths(string Memory, string Cpu, string Blkio, string Pids);
}

/// <summary>A container's figures as the cgroup files hold them: memory now, CPU time and I/O as running totals.</summary>
public sealed record CgroupReading(
    long? MemoryBytes, long? MemoryLimitBytes, long? CpuNanos, long? NetRxBytes, long? NetTxBytes, long? BlockReadBytes, long? BlockWriteBytes, int? Pids, int? Pid);
