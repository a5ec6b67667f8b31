using System.Globalization;
using DeployDeck.Domain.Hosts;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;

namespace DeployDeck.Domain.Images;

public enum PullReason
{
    /// <summary>Not on the host (pull_policy missing, the default).</summary>
    Missing,

    /// <summary>pull_policy always: pulled on every rollout, as Compose pulls on every up.</summary>
    Always,
}

/// <summary>One image to pull before the first phase, and the services that run it.</summary>
public sealed record PullNeed(ImageReference Reference, string Image, IReadOnlyList<string> Services, PullReason Reason);

/// <summary>What the registry says one image weighs: compressed layers, and unpacked where the registry tells (else estimated).</summary>
public sealed record PullSize(string Image, long? CompressedBytes, long? UnpackedBytes);

/// <param name="Refusals">Why the rollout cannot start, each naming the service and image.</param>
public sealed record PullPlan(IReadOnlyList<PullNeed> Pulls, IReadOnlyList<string> Refusals);

/// <summary>
/// The pulls a rollout makes before anything starts, as Compose pulls before it creates: what is missing (or every image
/// under <c>pull_policy: always</c>), never an image under <c>never</c>; and whether the pulls fit the engine's disk.
/// </summary>
public static class ImagePulls
{
    /// <summary>
    /// A registry's compressed layers unpack to about this much more on the data root: measured here (docs/images.md)
    /// 2.76× for the Debian-based server images, 2.39× for DeployDeck's own, 1.86× for busybox; 3 keeps a margin.
    /// Used only where the registry gives no unpacked size.
    /// </summary>
    public const double UnpackRatio = 3.0;

    public static PullPlan Decide(IEnumerable<ServiceSpec> services, IReadOnlyDictionary<string, ImageFacts> onHost)
    {
        var refusals = new List<string>();
        var pulls = new List<PullNeed>();
        foreach (var group in services.GroupBy(s => s.Image, StringComparer.Ordinal))
        {
            var image = group.Key;
            var present = onHost.GetValueOrDefault(image)?.Present == true;
            var names = group.Select(s => s.Name).ToList();
            var reference = ImageReference.Parse(image);
            if (reference is null)
            {
                refusals.Add($"{Services(names)}: '{image}' is not an image reference");
                continue;
            }

            var always = group.Where(s => s.Options.PullPolicy == PullPolicy.Always).Select(s => s.Name).ToList();
            if (always.Count > 0)
            {
                pulls.Add(new PullNeed(reference, image, names, PullReason.Always));
                continue;
            }

            if (present)
                continue;
            var built = group.Where(s => s.Build is not null || s.Options.PullPolicy == PullPolicy.Build).Select(s => s.Name).ToList();
            var never = group.Where(s => s.Options.PullPolicy == PullPolicy.Never).Select(s => s.Name).ToList();
            if (built.Count > 0)
                refusals.Add($"{Services(built)}: the image {image} is to be built and is not on the host; DeployDeck does not build images yet: build it and load it onto the host, or push it to a registry and drop build:");
            else if (never.Count > 0)
                refusals.Add($"{Services(never)}: the image {image} is not on the host and pull_policy is never: load it onto the host first (docker load)");
            else
                pulls.Add(new PullNeed(reference, image, names, PullReason.Missing));
        }

        return new PullPlan(pulls, refusals);
    }

    /// <summary>What a pull takes on the data root at its height: the compressed download beside the unpacked layers.</summary>
    public static long? Footprint(PullSize size) => size.CompressedBytes is { } compressed
        ? compressed + (size.UnpackedBytes ?? (long)(compressed * UnpackRatio))
        : size.UnpackedBytes;

    /// <summary>
    /// Whether the pulls fit the engine's data root and keep it out of the RED disk band: a refusal with the numbers, or
    /// null. Images of unknown size are left out of the sum (the caller says so); an unknown disk refuses nothing.
    /// </summary>
    public static string? DiskRefusal(IReadOnlyList<PullSize> sizes, long? usedBytes, long? availableBytes, double diskRed)
    {
        if (usedBytes is not { } used || availableBytes is not { } free || used + free <= 0)
            return null;
        var known = sizes.Select(s => (s.Image, Bytes: Footprint(s))).Where(s => s.Bytes is not null).ToList();
        var need = known.Sum(s => s.Bytes!.Value);
        if (need == 0)
            return null;
        var total = used + free;
        var after = 100.0 * (used + need) / total;
        if (need < free && after <= diskRed)
            return null;
        var what = string.Join(", ", known.Select(s => $"{s.Image} ~{Size(s.Bytes!.Value)}"));
        var verdict = need >= free ? "there is no room" : $"it would be {Percent(after)} % full, above the RED band ({Percent(diskRed)} %)";
        return $"the images to pull need about {Size(need)} on the engine's data root ({what}); it has {Size(free)} free of {Size(total)} "
            + $"({Percent(100.0 * used / total)} % used): {verdict}. Free disk (docker image prune, the host's Reclaim) or pull onto a larger disk";
    }

    private static string Services(IReadOnlyList<string> names) => names.Count == 1 ? $"service {names[0]}" : $"services {string.Join(", ", names)}";

    private static string Size(long bytes) => new MemorySize(bytes).ToString();

    private static string Percent(double value) => value.ToString("0.#", CultureInfo.InvariantCulture);
}
