using System.Globalization;
using System.Text;

namespace DeployDeck.Infrastructure.Engine;

/// <summary>
/// The host check's figures read straight from this machine's files, when the engine runs here: the same text the
/// probe container prints (see <see cref="DockerHostInspector"/>), without starting a container for every check.
/// Null when a file the check needs cannot be read here (a remote engine, or a process in a container without the
/// host's /proc, cgroup tree and Docker data root): the caller falls back to the probe container.
/// </summary>
public static class LocalHostFiles
{
    private static readonly string[] CgroupPatterns =
        ["memory/docker/*/", "memory/system.slice/docker-*.scope/", "system.slice/docker-*.scope/", "docker/*/"];

    public static string? Read(string proc, string cgroup, string dataRoot)
    {
        try
        {
            var meminfo = Path.Combine(proc, "meminfo");
            var loadavg = Path.Combine(proc, "loadavg");
            if (!File.Exists(meminfo) || !File.Exists(loadavg) || !Directory.Exists(dataRoot) || !Directory.Exists(cgroup))
                return null;

            var text = new StringBuilder();
            text.Append(File.ReadAllText(meminfo)).Append("\n@@loadavg\n").Append(File.ReadAllText(loadavg));
            var drive = new DriveInfo(dataRoot);
            long Kb(long bytes) => bytes / 1024;
            text.Append(CultureInfo.InvariantCulture,
                $"\n@@df\nlocal {Kb(drive.TotalSize)} {Kb(drive.TotalSize - drive.TotalFreeSpace)} {Kb(drive.AvailableFreeSpace)} - {dataRoot}\n@@cgroup\n");
            var found = 0;
            foreach (var dir in CgroupPatterns.SelectMany(p => Directories(cgroup, p)))
            {
                var usage = FirstLine(Path.Combine(dir, "memory.usage_in_bytes")) ?? FirstLine(Path.Combine(dir, "memory.current"));
                if (usage is null)
                    continue;
                var inactive = File.Exists(Path.Combine(dir, "memory.stat"))
                    ? File.ReadLines(Path.Combine(dir, "memory.stat")).Select(l => l.Split(' ')).FirstOrDefault(p => p.Length == 2 && p[0] is "total_inactive_file" or "inactive_file")?[1]
                    : null;
                text.Append(CultureInfo.InvariantCulture, $"{Path.GetFileName(dir.TrimEnd('/'))} {usage} {inactive}\n");
                found++;
            }

            // No container directory at all: this is not the host's cgroup tree (or no container runs); let the probe decide.
            return found == 0 ? null : text.Append("@@self\n").ToString();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    private static IEnumerable<string> Directories(string root, string pattern)
    {
        // "memory/docker/*/": a fixed parent and one wildcard level, as the probe's shell glob.
        var parts = pattern.TrimEnd('/').Split('/');
        var parent = Path.Combine([root, .. parts[..^1]]);
        return Directory.Exists(parent) ? Directory.EnumerateDirectories(parent, parts[^1]) : [];
    }

    private static string? FirstLine(string path) => File.Exists(path) ? File.ReadLines(path).FirstOrDefault()?.Trim() : null;
}
