using System.Formats.Tar;
using DeployDeck.Domain.Engine;

namespace DeployDeck.Infrastructure.Engine;

/// <summary>Configs and secrets as the tar stream the engine's archive endpoint extracts into a created container.</summary>
internal static class ContainerFiles
{
    public static MemoryStream Tar(IReadOnlyList<FileRequest> files)
    {
        var stream = new MemoryStream();
        using (var writer = new TarWriter(stream, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var file in files)
            {
                // Relative to "/", where the archive is extracted; the engine creates missing parent directories.
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, file.Target.TrimStart('/'))
                {
                    DataStream = new MemoryStream(file.Content, writable: false),
                    Mode = (UnixFileMode)file.Mode,
                    Uid = file.Uid,
                    Gid = file.Gid,
                    ModificationTime = DateTimeOffset.UnixEpoch,
                });
            }
        }

        stream.Position = 0;
        return stream;
    }
}
