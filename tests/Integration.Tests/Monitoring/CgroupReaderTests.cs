using DeployDeck.Infrastructure.Monitoring;
using DeployDeck.Tests.Shared;
using Docker.DotNet.Models;

namespace DeployDeck.Integration.Tests.Monitoring;

/// <summary>
/// The cgroup reader against this machine's kernel and engine. It keeps a container's files open between ticks, so what
/// matters is what happens when those files go stale: a restart moves the container into a new cgroup, a removal ends it.
/// </summary>
public sealed class CgroupReaderTests
{
    private static async Task<CgroupReading> ReadingAsync(CgroupReader reader, string id, Func<CgroupReading, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        CgroupReading? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = reader.Read(id);
            if (last is not null && condition(last))
                return last;
            await Task.Delay(200);
        }

        throw new TimeoutException($"no such reading of {id} within 30 s; last: {last}");
    }

    [Fact]
    public async Task A_restarted_container_is_read_from_its_new_cgroup_and_a_removed_one_reads_as_null()
    {
        using var docker = DeployDeckApp.Docker();
        using var reader = new CgroupReader("/sys/fs/cgroup", "/proc");
        Assert.NotNull(reader.Version);
        var id = await ProbeContainers.StartHoldingAsync(docker, "reopen", 20, memoryLimit: 128L << 20);
        try
        {
            var before = await ReadingAsync(reader, id, r => r.MemoryBytes > 20L << 20 && r.Pid is not null);
            Assert.Equal(128L << 20, before.MemoryLimitBytes);
            var again = reader.Read(id)!; // read through the files kept open
            Assert.Equal(before.Pid, again.Pid);
            Assert.True(again.CpuNanos >= before.CpuNanos, $"{again.CpuNanos} < {before.CpuNanos}");

            await docker.Containers.RestartContainerAsync(id, new ContainerRestartParameters { WaitBeforeKillSeconds = 0 });

            // The new main process, in the new cgroup, holding its 20 MB again.
            var after = await ReadingAsync(reader, id, r => r.Pid != before.Pid && r.MemoryBytes > 20L << 20);
            Assert.Equal(128L << 20, after.MemoryLimitBytes);
            Assert.True(after.Pids >= 1, after.ToString());
            Assert.NotNull(after.NetRxBytes); // the new process's /proc/PID/net/dev

            await ProbeContainers.RemoveAsync(docker, [id]);
            var gone = DateTime.UtcNow.AddSeconds(5);
            while (reader.Read(id) is not null && DateTime.UtcNow < gone)
                await Task.Delay(100);
            Assert.Null(reader.Read(id));
        }
        finally
        {
            await ProbeContainers.RemoveAsync(docker, [id]);
        }
    }
}
