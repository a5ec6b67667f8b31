using DeployDeck.Domain.Images;
using DeployDeck.Domain.Rollouts;
using DeployDeck.Domain.Units;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Images;
using DeployDeck.Infrastructure.Live;
using DeployDeck.Infrastructure.Preflight;
using DeployDeck.Infrastructure.Secrets;
using DeployDeck.Worker.Live;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Worker.Rollouts;

/// <summary>
/// Before anything starts, as Compose pulls before it creates: the images the rollout needs and the host lacks (every
/// image under <c>pull_policy: always</c>) are pulled through the host's engine with the Admin's registry login — after
/// their sizes, read from the registry, are checked against the engine's disk, and one pull at a time per host.
/// </summary>
public sealed class ImagePullRunner(
    IDbContextFactory<DeployDeckDbContext> dbFactory,
    RegistryCredentials logins,
    RegistryManifests manifests,
    PreflightRunner preflight,
    RolloutRecorder recorder,
    ILivePublisher live,
    TimeProvider time,
    IConfiguration configuration,
    ILogger<ImagePullRunner> logger)
{
    /// <returns>Why the rollout cannot start (an image that cannot be had, no room, a refused pull), or null.</returns>
    public async Task<string?> PullAsync(RolloutContext context, CancellationToken ct)
    {
        var onHost = await context.Host.Inspector.ImagesAsync(context.Plan.AllServices.Select(s => s.Image), ct);
        var plan = ImagePulls.Decide(context.Plan.AllServices, onHost);
        if (plan.Refusals.Count > 0)
            return string.Join("; ", plan.Refusals);
        if (plan.Pulls.Count == 0)
            return null;

        var auths = new Dictionary<string, RegistryAuth?>(StringComparer.Ordinal);
        foreach (var pull in plan.Pulls)
        {
            try
            {
                auths[pull.Image] = await logins.ForAsync(pull.Reference, ct);
            }
            catch (SecretUnreadableException e)
            {
                return $"the registry login for {pull.Reference.Registry} cannot be read here ({e.Message}): an Admin enters its password again under Registries";
            }
        }

        if (await DiskRefusalAsync(context, plan.Pulls, auths, ct) is { } noRoom)
            return noRoom;

        await using var oneAtATime = await RolloutLock.PullsOnHostAsync(DataServiceCollectionExtensions.RequireConnectionString(configuration), context.HostId, ct);
        foreach (var pull in plan.Pulls)
        {
            var why = pull.Reason == PullReason.Always ? "pull_policy always" : "not on the host";
            await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.ImagePulling, $"Pulling {pull.Image} for {string.Join(", ", pull.Services)} ({why})", ct,
                key: StepKey.Rollout($"pulling:{pull.Image}"));
            PullResult result;
            try
            {
                result = await ImagePuller.PullAsync(context.Host.Client, pull.Reference, pull.Image, auths[pull.Image], Live(context.RolloutId, ct), ct);
            }
            catch (PullFailedException e)
            {
                logger.LogWarning("Rollout {RolloutId}: {Failure}", context.RolloutId, e.Message);
                return e.Message;
            }

            context.PulledImages = true;
            var present = result.LayersPresent > 0 ? $", {result.LayersPresent} of {result.Layers} layers already on the host" : "";
            var what = result.UpToDate
                ? $"Pulled {pull.Image}: up to date, the registry's image is the host's ({result.Duration.TotalSeconds:0.0} s)"
                : $"Pulled {pull.Image}: {new MemorySize(result.DownloadedBytes)} downloaded in {result.Duration.TotalSeconds:0.0} s{present}";
            await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.ImagePulled, what, ct,
                key: StepKey.Rollout($"pulled:{pull.Image}"));
            if (pull.Reason == PullReason.Always)
                await OutdateKeptAsync(context, pull, ct);
        }

        return null;
    }

    /// <summary>
    /// The launcher decided keep from the image the host had then; a container of that decision whose image is not the one
    /// just pulled is replaced like a changed one. Checked after every "always" pull, so a drive run again decides the same.
    /// </summary>
    private async Task OutdateKeptAsync(RolloutContext context, PullNeed pull, CancellationToken ct)
    {
        var current = (await context.Host.Inspector.ImagesAsync([pull.Image], ct)).GetValueOrDefault(pull.Image)?.Id;
        if (current is null)
            return;
        foreach (var service in pull.Services)
        {
            foreach (var id in context.Kept(service))
            {
                var seen = await context.Engine.InspectAsync(id, ct);
                if (seen is null || seen.ImageId == current)
                    continue;
                context.Outdated.Add(id);
                await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.ReconcilePlanned,
                    $"{seen.Name} was to be kept, but the pull brought a newer {pull.Image}: it is recreated", ct, service: service, key: StepKey.Rollout($"outdated:{id}"));
            }
        }
    }

    /// <summary>Progress to the rollout's page, at most about twice a second (the last report of a layer set always goes).</summary>
    private IProgress<PullProgress> Live(Guid rolloutId, CancellationToken ct)
    {
        var last = DateTimeOffset.MinValue;
        return new Progress<PullProgress>(p =>
        {
            var now = time.GetUtcNow();
            if (now - last < TimeSpan.FromMilliseconds(500) && (p.LayersDone < p.Layers || p.Layers == 0))
                return;
            last = now;
            var text = $"Pulling {p.Image}: {new MemorySize(p.Current)} of {new MemorySize(p.Total)}, {p.LayersDone} of {p.Layers} layers";
            _ = live.PublishAsync(new RolloutEventMessage(rolloutId, 0, now, RolloutEventKinds.PullProgress, null, null, text, "Queued", null, null)
            {
                Pull = new PullFigures(p.Image, p.Current, p.Total, p.LayersDone, p.Layers),
            }, ct);
        });
    }

    private async Task<string?> DiskRefusalAsync(RolloutContext context, IReadOnlyList<PullNeed> pulls, IReadOnlyDictionary<string, RegistryAuth?> auths, CancellationToken ct)
    {
        var info = await context.Host.Client.System.GetSystemInfoAsync(ct);
        var architecture = info.Architecture switch { "x86_64" => "amd64", "aarch64" => "arm64", var other => other };
        var sizes = new List<PullSize>();
        var unknown = new List<string>();
        foreach (var pull in pulls)
        {
            var (bytes, why) = await manifests.CompressedSizeAsync(pull.Reference, auths[pull.Image], architecture, ct);
            sizes.Add(new PullSize(pull.Image, bytes, null));
            if (bytes is null)
                unknown.Add($"{pull.Image}: {why}");
        }

        DockerHost? host;
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
            host = await db.Hosts.AsNoTracking().FirstOrDefaultAsync(h => h.Id == context.HostId, ct);
        if (host is null)
            return "the host was deleted";
        var check = await preflight.CheckAsync(host, ct);
        var known = sizes.Where(s => s.CompressedBytes is not null).Select(s => $"{s.Image} {new MemorySize(s.CompressedBytes!.Value)} compressed").ToList();
        var disk = check.Signals.DiskAvailableBytes is { } free ? $"{new MemorySize(free)} free on the engine's data root" : "the engine's free disk is unknown";
        var note = unknown.Count > 0 ? $"; size unknown, not counted: {string.Join("; ", unknown)}" : "";
        await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.PullChecked,
            $"{pulls.Count} image(s) to pull ({(known.Count > 0 ? string.Join(", ", known) : "no size known")}); {disk}{note}", ct, key: StepKey.Rollout("pull-checked"));
        return ImagePulls.DiskRefusal(sizes, check.Signals.DiskUsedBytes, check.Signals.DiskAvailableBytes, check.Thresholds.DiskRed);
    }
}
