namespace DeployDeck.Domain.Engine;

/// <summary>
/// Compose's carry-over on recreate: a service's new container mounts the volumes its predecessor had at the
/// directories declared without a name — the file's anonymous volumes and the image's own VOLUMEs — so that a database
/// without a named volume keeps its data across an upgrade (docker-compose's get_container_data_volumes; `up -V` is
/// the way out there). A directory the new definition mounts otherwise (named volume, bind, tmpfs) is its own.
/// </summary>
public static class AnonymousVolumes
{
    /// <param name="Targets">The directories whose volume the new container takes over.</param>
    public sealed record Carried(IReadOnlyList<MountRequest> Mounts, IReadOnlyList<string> Targets);

    public static Carried Carry(ContainerRequest request, ContainerObservation previous)
    {
        var mounts = request.Mounts.ToList();
        var claimed = mounts.Where(m => !IsAnonymous(m)).Select(m => m.Target)
            .Concat(request.Service.Options.Tmpfs.Select(t => t.Split(':', 2)[0]))
            .ToHashSet(StringComparer.Ordinal);
        var declared = mounts.Where(IsAnonymous).Select(m => m.Target).Concat(previous.DeclaredVolumes).Distinct(StringComparer.Ordinal);
        var carried = new List<string>();
        foreach (var target in declared.Where(t => !claimed.Contains(t)).Order(StringComparer.Ordinal))
        {
            // A directory that was a bind or a tmpfs before has no data of the service's own to carry.
            if (previous.Mounts.FirstOrDefault(m => m.Destination == target && m is { Type: "volume", Name: not null }) is not { } old)
                continue;
            var index = mounts.FindIndex(m => IsAnonymous(m) && m.Target == target);
            if (index >= 0)
                mounts[index] = mounts[index] with { Source = old.Name };
            else
                mounts.Add(new MountRequest("volume", old.Name, target, ReadOnly: false));
            carried.Add(target);
        }

        return new(mounts, carried);
    }

    private static bool IsAnonymous(MountRequest m) => m is { Type: "volume", Source: null };
}
