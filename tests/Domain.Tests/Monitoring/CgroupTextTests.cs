using DeployDeck.Domain.Monitoring;

namespace DeployDeck.Domain.Tests.Monitoring;

/// <summary>The parsers against files copied from this machine (cgroup v1, Docker 20.10) and written from a cgroup v2 host's formats.</summary>
public sealed class CgroupTextTests
{
    private static string? Fixture(string path)
    {
        var file = Path.Combine(AppContext.BaseDirectory, "Fixtures", "cgroup", path);
        return File.Exists(file) ? File.ReadAllText(file) : null;
    }

    [Fact]
    public void V1_memory_is_usage_minus_total_inactive_file_as_docker_stats_counts_it()
    {
        var usage = CgroupText.Value(Fixture("v1/memory.usage_in_bytes"));
        var stat = CgroupText.KeyedValues(Fixture("v1/memory.stat"));

        Assert.Equal(6070272, usage);
        Assert.Equal(12288, stat["total_inactive_file"]);
        Assert.Equal(6070272 - 12288, CgroupText.MemoryWithoutCache(usage, stat, CgroupVersion.V1));
    }

    [Fact]
    public void V2_memory_is_memory_current_minus_inactive_file()
    {
        var usage = CgroupText.Value(Fixture("v2/memory.current"));
        var stat = CgroupText.KeyedValues(Fixture("v2/memory.stat"));

        Assert.Equal(52428800 - 8388608, CgroupText.MemoryWithoutCache(usage, stat, CgroupVersion.V2));
    }

    [Fact]
    public void Memory_without_a_readable_stat_is_usage_and_without_usage_unknown()
    {
        Assert.Equal(1000, CgroupText.MemoryWithoutCache(1000, CgroupText.KeyedValues(null), CgroupVersion.V1));
        Assert.Null(CgroupText.MemoryWithoutCache(null, CgroupText.KeyedValues(Fixture("v1/memory.stat")), CgroupVersion.V1));
    }

    [Fact]
    public void Limits_read_as_bytes_and_unlimited_reads_as_no_limit()
    {
        Assert.Equal(64L << 20, CgroupText.Limit(Fixture("v1/memory.limit_in_bytes")));
        Assert.Null(CgroupText.Limit(Fixture("v1/memory.limit_in_bytes.unlimited")));
        Assert.Equal(64L << 20, CgroupText.Limit(Fixture("v2/memory.max")));
        Assert.Null(CgroupText.Limit(Fixture("v2/memory.max.unlimited")));
    }

    [Fact]
    public void Cpu_time_is_nanoseconds_from_cpuacct_usage_or_usage_usec()
    {
        Assert.Equal(468939251, CgroupText.CpuNanos(Fixture("v1/cpuacct.usage"), CgroupVersion.V1));
        Assert.Equal(1753210L * 1000, CgroupText.CpuNanos(Fixture("v2/cpu.stat"), CgroupVersion.V2));
        Assert.Null(CgroupText.CpuNanos(null, CgroupVersion.V2));
    }

    [Fact]
    public void Block_io_sums_reads_and_writes_over_devices()
    {
        Assert.Equal((1228800L + 4096, 4096L), CgroupText.BlkioV1(Fixture("v1/blkio.throttle.io_service_bytes")));
        Assert.Equal((0L, 0L), CgroupText.BlkioV1(Fixture("v1/blkio.throttle.io_service_bytes.idle")));
        Assert.Equal((1228800L + 4096, 8192L), CgroupText.IoStatV2(Fixture("v2/io.stat")));
        Assert.Equal((0L, 0L), CgroupText.IoStatV2(Fixture("v2/io.stat.idle")));
        Assert.Null(CgroupText.BlkioV1(null));
        Assert.Null(CgroupText.IoStatV2(null));
    }

    [Fact]
    public void Network_counts_every_interface_but_loopback()
    {
        Assert.Equal((586L, 0L), CgroupText.NetDev(Fixture("net.dev")));
        const string two = "Inter-|   Receive |  Transmit\n face |bytes packets|bytes\n    lo: 900 9 0 0 0 0 0 0 900 9 0 0 0 0 0 0\n  eth0: 100 1 0 0 0 0 0 0 50 1 0 0 0 0 0 0\n  eth1: 20 1 0 0 0 0 0 0 7 1 0 0 0 0 0 0\n";
        Assert.Equal((120L, 57L), CgroupText.NetDev(two));
        Assert.Null(CgroupText.NetDev(null));
    }

    [Fact]
    public void Pids_and_the_first_process_come_from_pids_current_and_cgroup_procs()
    {
        Assert.Equal(3, CgroupText.Value(Fixture("v1/pids.current")));
        Assert.Equal(11001, CgroupText.FirstPid(Fixture("v1/cgroup.procs")));
        Assert.Equal(2211, CgroupText.FirstPid(Fixture("v2/cgroup.procs")));
        Assert.Null(CgroupText.FirstPid(""));
    }

    [Fact]
    public void Host_memory_and_load_come_from_meminfo_and_loadavg()
    {
        Assert.Equal((24684092L * 1024, (long?)24166996L * 1024), CgroupText.Meminfo(Fixture("meminfo")));
        Assert.Equal((0.56, 2.27, 4.08), CgroupText.Loadavg(Fixture("loadavg")));
        Assert.Null(CgroupText.Meminfo("garbage"));
        Assert.Null(CgroupText.Loadavg("1.0"));
    }

    [Fact]
    public void Cpu_percent_is_cpu_time_over_wall_time_and_unknown_on_the_first_reading_or_a_reset()
    {
        var t0 = new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

        Assert.Equal(50.0, CgroupText.CpuPercent(1_000_000_000, t0, 1_500_000_000, t0.AddSeconds(1)));
        Assert.Equal(150.0, CgroupText.CpuPercent(0, t0, 3_000_000_000, t0.AddSeconds(2)));
        Assert.Null(CgroupText.CpuPercent(null, t0, 5, t0.AddSeconds(1)));
        Assert.Null(CgroupText.CpuPercent(5_000, t0, 10, t0.AddSeconds(1)));
        Assert.Null(CgroupText.CpuPercent(5, t0, 10, t0));
    }
}
