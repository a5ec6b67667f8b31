using System.Globalization;

namespace DeployDeck.Domain.Monitoring;

public enum CgroupVersion
{
    V1,
    V2,
}

/// <summary>
/// What the kernel's cgroup and /proc files say, one parser per file format. Each takes the file's text (null when it
/// could not be read) and returns null for what it cannot tell — never a guess.
/// </summary>
public static class CgroupText
{
    // cgroup v1 writes "unlimited" as the largest page-aligned long (9223372036854771712); anything this big is no limit.
    private const long NoLimitFrom = 1L << 60;

    /// <summary>A file holding one integer (memory.usage_in_bytes, memory.current, cpuacct.usage, pids.current).</summary>
    public static long? Value(string? text) =>
        long.TryParse(text?.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null;

    /// <summary>memory.limit_in_bytes (v1) or memory.max (v2, "max" when none): null when there is no limit.</summary>
    public static long? Limit(string? text) => text?.Trim() == "max" ? null : Value(text) is { } v and < NoLimitFrom and > 0 ? v : null;

    /// <summary>"key value" lines: memory.stat, cpu.stat.</summary>
    public static IReadOnlyDictionary<string, long> KeyedValues(string? text)
    {
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in Lines(text))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && long.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var v))
                result[parts[0]] = v;
        }

        return result;
    }

    /// <summary>
    /// Memory without page cache, as <c>docker stats</c> computes it: usage − total_inactive_file (v1, whole hierarchy)
    /// or usage − inactive_file (v2); usage alone when the stat lacks it.
    /// </summary>
    public static long? MemoryWithoutCache(long? usage, IReadOnlyDictionary<string, long> stat, CgroupVersion version)
    {
        if (usage is not { } u)
            return null;
        var key = version == CgroupVersion.V1 ? "total_inactive_file" : "inactive_file";
        return stat.TryGetValue(key, out var inactive) && inactive < u ? u - inactive : u;
    }

    /// <summary>CPU time in nanoseconds: cpuacct.usage (v1) as is, or cpu.stat's usage_usec (v2) × 1000.</summary>
    public static long? CpuNanos(string? text, CgroupVersion version) => version == CgroupVersion.V1
        ? Value(text)
        : KeyedValues(text).TryGetValue("usage_usec", out var usec) ? usec * 1000 : null;

    /// <summary>blkio.throttle.io_service_bytes (v1): "8:0 Read 4096" lines, summed over devices.</summary>
    public static (long Read, long Write)? BlkioV1(string? text)
    {
        long read = 0, write = 0;
        var any = false;
        foreach (var line in Lines(text))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && parts[0] == "Total")
            {
                any = true; // a cgroup that did no I/O yet has only "Total 0"
                continue;
            }

            if (parts.Length != 3 || !long.TryParse(parts[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var v))
                continue;
            any = true;
            if (parts[1] == "Read")
                read += v;
            else if (parts[1] == "Write")
                write += v;
        }

        return any ? (read, write) : null;
    }

    /// <summary>io.stat (v2): "8:0 rbytes=4096 wbytes=0 rios=1 …" lines, summed over devices; empty when no I/O yet.</summary>
    public static (long Read, long Write)? IoStatV2(string? text)
    {
        if (text is null)
            return null;
        long read = 0, write = 0;
        foreach (var line in Lines(text))
        {
            foreach (var field in line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1))
            {
                var eq = field.IndexOf('=', StringComparison.Ordinal);
                if (eq < 0 || !long.TryParse(field.AsSpan(eq + 1), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v))
                    continue;
                if (field.StartsWith("rbytes=", StringComparison.Ordinal))
                    read += v;
                else if (field.StartsWith("wbytes=", StringComparison.Ordinal))
                    write += v;
            }
        }

        return (read, write);
    }

    /// <summary>/proc/PID/net/dev of a container's process: bytes received and sent on every interface but loopback.</summary>
    public static (long Rx, long Tx)? NetDev(string? text)
    {
        if (text is null)
            return null;
        long rx = 0, tx = 0;
        var any = false;
        foreach (var line in Lines(text))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
                continue; // the two header lines
            var name = line[..colon].Trim();
            var fields = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 9)
                continue;
            any = true;
            if (name == "lo")
                continue;
            rx += long.Parse(fields[0], CultureInfo.InvariantCulture);
            tx += long.Parse(fields[8], CultureInfo.InvariantCulture);
        }

        return any ? (rx, tx) : null;
    }

    /// <summary>cgroup.procs: the first process of the container (its network namespace is the container's).</summary>
    public static int? FirstPid(string? text) =>
        Lines(text).Select(l => int.TryParse(l, NumberStyles.Integer, CultureInfo.InvariantCulture, out var p) ? p : (int?)null).FirstOrDefault(p => p is not null);

    /// <summary>/proc/meminfo: MemTotal and MemAvailable in bytes.</summary>
    public static (long Total, long? Available)? Meminfo(string? text)
    {
        long? total = null, available = null;
        foreach (var line in Lines(text))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 2 || !long.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var kb))
                continue;
            if (parts[0] == "MemTotal:")
                total = kb * 1024;
            else if (parts[0] == "MemAvailable:")
                available = kb * 1024;
        }

        return total is { } t ? (t, available) : null;
    }

    /// <summary>/proc/loadavg: the 1, 5 and 15 minute averages.</summary>
    public static (double One, double Five, double Fifteen)? Loadavg(string? text)
    {
        var parts = text?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts is not { Length: >= 3 })
            return null;
        return double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var one)
            && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var five)
            && double.TryParse(parts[2], NumberStyles.Float, CultureInfo.InvariantCulture, out var fifteen)
                ? (one, five, fifteen)
                : null;
    }

    /// <summary>CPU % of one core between two readings of cumulative CPU time; null for the first reading or a counter reset (a restart).</summary>
    public static double? CpuPercent(long? previousNanos, DateTimeOffset previousAt, long? nanos, DateTimeOffset at)
    {
        if (previousNanos is not { } before || nanos is not { } now || now < before)
            return null;
        var wall = (at - previousAt).Ticks * 100.0; // 1 tick = 100 ns
        return wall <= 0 ? null : Math.Round(100.0 * (now - before) / wall, 2);
    }

    private static IEnumerable<string> Lines(string? text) =>
        text is null ? [] : text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
