using System.Buffers;
using System.Text;
using DeployDeck.Domain.Monitoring;
using Microsoft.Win32.SafeHandles;

namespace DeployDeck.Infrastructure.Monitoring;

/// <summary>
/// Reads a container's figures straight from the kernel's cgroup files (v1 or v2) and /proc: a few small file reads per
/// container and tick, no engine call. A container that vanished reads as null, at once. The files stay open between
/// ticks and are read again from offset 0 (the kernel regenerates them): opening ~8 files by path per container and
/// second was half of the sampler's time. A restarted container gets a new cgroup, so a file that fails is reopened once.
/// Not thread-safe: one sampler loop calls it.
/// </summary>
public sealed class CgroupReader : IDisposable
{
    private readonly string _root;
    private readonly string _proc;
    private readonly Dictionary<string, OpenFiles> _open = new(StringComparer.Ordinal);

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
        if (_open.TryGetValue(containerId, out var files) && Read(files, version) is { } reading)
            return reading;

        // Not open yet, or its files went stale (removed, or restarted into a new cgroup): once more from the paths.
        Forget(containerId);
        if (Resolve(containerId, version) is not { } paths)
            return null; // not kept: the cgroup may appear a moment after the container is listed
        files = new OpenFiles(paths);
        reading = Read(files, version);
        if (reading is null)
        {
            files.Dispose();
            return null; // removed mid-sample
        }

        _open[containerId] = files;
        return reading;
    }

    public void Forget(string containerId)
    {
        if (_open.Remove(containerId, out var files))
            files.Dispose();
    }

    /// <summary>Host memory and load from /proc.</summary>
    public (long Total, long? Used, double? Load1, double? Load5, double? Load15)? Host()
    {
        var mem = CgroupText.Meminfo(ReadOnce(Path.Combine(_proc, "meminfo")));
        if (mem is not { } m)
            return null;
        var load = CgroupText.Loadavg(ReadOnce(Path.Combine(_proc, "loadavg")));
        return (m.Total, m.Available is { } a ? Math.Max(0, m.Total - a) : null, load?.One, load?.Five, load?.Fifteen);
    }

    public void Dispose()
    {
        foreach (var files in _open.Values)
            files.Dispose();
        _open.Clear();
    }

    private CgroupReading? Read(OpenFiles files, CgroupVersion version)
    {
        var paths = files.Paths;
        var usage = CgroupText.Value(files.Read(paths.Memory, version == CgroupVersion.V1 ? "memory.usage_in_bytes" : "memory.current"));
        if (usage is null)
            return null;

        var stat = CgroupText.KeyedValues(files.Read(paths.Memory, "memory.stat"));
        var pid = CgroupText.FirstPid(files.Read(paths.Memory, "cgroup.procs"));
        var net = pid is { } p ? CgroupText.NetDev(files.ReadNetDev(_proc, p)) : null;
        var io = version == CgroupVersion.V1 ? CgroupText.BlkioV1(files.Read(paths.Blkio, "blkio.throttle.io_service_bytes")) : CgroupText.IoStatV2(files.Read(paths.Blkio, "io.stat"));
        return new CgroupReading(
            CgroupText.MemoryWithoutCache(usage, stat, version),
            CgroupText.Limit(files.Read(paths.Memory, version == CgroupVersion.V1 ? "memory.limit_in_bytes" : "memory.max")),
            CgroupText.CpuNanos(files.Read(paths.Cpu, version == CgroupVersion.V1 ? "cpuacct.usage" : "cpu.stat"), version),
            net?.Rx, net?.Tx, io?.Read, io?.Write,
            (int?)CgroupText.Value(files.Read(paths.Pids, "pids.current")),
            pid);
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

    private static string? ReadOnce(string path)
    {
        try
        {
            using var file = File.OpenHandle(path);
            return ReadAll(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    // Read from offset 0 with one pooled buffer: File.ReadAllText's stream and reader buffers made the sampler allocate
    // ~90 KB per container per tick (a larger heap for the GC to keep on a small host).
    private static string ReadAll(SafeFileHandle file)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(8192);
        try
        {
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
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private sealed record Paths(string Memory, string Cpu, string Blkio, string Pids);

    /// <summary>One container's open cgroup files, and its main process's /proc/PID/net/dev while that PID stays.</summary>
    private sealed class OpenFiles(Paths paths) : IDisposable
    {
        // Keyed by file name: each file a container is read from has its own name, whichever controller's directory holds it.
        private readonly Dictionary<string, SafeFileHandle> _handles = new(StringComparer.Ordinal);
        private (int Pid, SafeFileHandle Handle)? _netDev;

        public Paths Paths { get; } = paths;

        /// <summary>The file's text; null when it cannot be read (and it is closed, so the next read opens it afresh).</summary>
        public string? Read(string dir, string name)
        {
            try
            {
                if (!_handles.TryGetValue(name, out var handle))
                    _handles[name] = handle = File.OpenHandle(Path.Combine(dir, name));
                return ReadAll(handle);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                if (_handles.Remove(name, out var stale))
                    stale.Dispose();
                return null;
            }
        }

        /// <summary>The network counters of the process's namespace; a new PID (a restart) opens its file.</summary>
        public string? ReadNetDev(string proc, int pid)
        {
            try
            {
                if (_netDev is not { } open || open.Pid != pid)
                {
                    _netDev?.Handle.Dispose();
                    _netDev = null;
                    _netDev = open = (pid, File.OpenHandle(Path.Combine(proc, pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "net", "dev")));
                }

                return ReadAll(open.Handle);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _netDev?.Handle.Dispose();
                _netDev = null;
                return null;
            }
        }

        public void Dispose()
        {
            foreach (var handle in _handles.Values)
                handle.Dispose();
            _handles.Clear();
            _netDev?.Handle.Dispose();
            _netDev = null;
        }
    }
}

/// <summary>A container's figures as the cgroup files hold them: memory now, CPU time and I/O as running totals.</summary>
public sealed record CgroupReading(
    long? MemoryBytes, long? MemoryLimitBytes, long? CpuNanos, long? NetRxBytes, long? NetTxBytes, long? BlockReadBytes, long? BlockWriteBytes, int? Pids, int? Pid);
