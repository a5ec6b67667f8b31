using System.Diagnostics;
using DeployDeck.Domain.Images;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace DeployDeck.Infrastructure.Images;

/// <summary>What a pull brought: the bytes downloaded (layers the host had already count nothing) and how long it took.</summary>
/// <param name="UpToDate">The registry's image is the one the host has: nothing was downloaded.</param>
public sealed record PullResult(long DownloadedBytes, int Layers, int LayersPresent, TimeSpan Duration, bool UpToDate);

/// <summary>How far a pull is: bytes downloaded of the layers' total so far (layers report their size as they start).</summary>
public sealed record PullProgress(string Image, long Current, long Total, int LayersDone, int Layers);

/// <summary>A pull the engine or the registry refused; the message names the registry and why, never a credential.</summary>
public sealed class PullFailedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Pulls an image through a host's engine (<c>POST /images/create</c>), with the registry login where one is kept.</summary>
public static class ImagePuller
{
    public static async Task<PullResult> PullAsync(DockerClient client, ImageReference image, string reference, RegistryAuth? auth, IProgress<PullProgress>? progress, CancellationToken ct)
    {
        var layers = new Dictionary<string, (long Current, long Total, bool Done, bool Present)>(StringComparer.Ordinal);
        string? error = null;
        var upToDate = false;
        var clock = Stopwatch.StartNew();
        var each = new Engine.Collect<JSONMessage>(m =>
        {
            if (m.Error?.Message is { Length: > 0 } e)
                error = e;
            if (m.Status?.StartsWith("Status: Image is up to date", StringComparison.Ordinal) == true)
                upToDate = true;
            if (string.IsNullOrEmpty(m.ID) || m.ID == image.TagOrDefault || m.ID == image.Digest)
                return;
            var seen = layers.GetValueOrDefault(m.ID);
            switch (m.Status)
            {
                case "Downloading" when m.Progress is { } p:
                    seen = seen with { Current = p.Current ?? seen.Current, Total = Math.Max(p.Total ?? 0, seen.Total) };
                    break;
                case "Download complete" or "Verifying Checksum":
                    seen = seen with { Current = Math.Max(seen.Current, seen.Total) };
                    break;
                case "Already exists":
                    seen = seen with { Done = true, Present = true };
                    break;
                case "Pull complete":
                    seen = seen with { Done = true, Current = Math.Max(seen.Current, seen.Total) };
                    break;
            }

            layers[m.ID] = seen;
            progress?.Report(new PullProgress(reference, layers.Values.Sum(l => l.Current), layers.Values.Sum(l => l.Total), layers.Values.Count(l => l.Done), layers.Count));
        });

        try
        {
            await client.Images.CreateImageAsync(
                // Without a tag the engine would pull every tag of the repository.
                new ImagesCreateParameters { FromImage = reference, Tag = image.Tag is null && image.Digest is null ? image.TagOrDefault : null },
                auth is null ? null : new AuthConfig { Username = auth.Username, Password = auth.Password, ServerAddress = auth.Server },
                each, ct);
        }
        catch (DockerApiException e)
        {
            throw new PullFailedException(Explain(image, reference, auth, e.ResponseBody is { Length: > 0 } body ? body : e.Message), e);
        }

        if (error is not null)
            throw new PullFailedException(Explain(image, reference, auth, error));
        return new PullResult(layers.Values.Where(l => !l.Present).Sum(l => l.Total), layers.Count, layers.Values.Count(l => l.Present), clock.Elapsed, upToDate);
    }

    /// <summary>The engine's words turned into what to do about them; the engine's own message follows, shortened.</summary>
    public static string Explain(ImageReference image, string reference, RegistryAuth? auth, string engineMessage)
    {
        var said = engineMessage.Trim();
        var lower = said.ToLowerInvariant();
        var registry = image.Registry;
        var why = lower switch
        {
            _ when lower.Contains("toomanyrequests") || lower.Contains("rate limit") =>
                $"{registry} refused the pull: rate limited (toomanyrequests); log in to it or try later",
            _ when lower.Contains("unauthorized") || lower.Contains("authentication required") || lower.Contains("no basic auth credentials") || lower.Contains("denied") =>
                auth is null
                    ? $"{registry} refused the pull: unauthorized, and DeployDeck keeps no login for {registry}: an Admin adds one under Registries"
                    : $"{registry} refused the login of {auth.Username}: unauthorized (wrong username or password?): an Admin corrects it under Registries",
            _ when lower.Contains("manifest unknown") || lower.Contains("not found") || lower.Contains("does not exist") =>
                $"{registry} has no image {reference} (not found): check the name and tag",
            _ when lower.Contains("connection refused") || lower.Contains("no such host") || lower.Contains("i/o timeout") || lower.Contains("timeout")
                || lower.Contains("dial tcp") || lower.Contains("network is unreachable") || lower.Contains("connection reset") =>
                $"{registry} is unreachable from the host's engine",
            _ => $"the engine could not pull {reference}",
        };
        return $"pulling {reference} failed: {why} ({Domain.Plans.SecretKeys.Scrub(Shorten(said))})";
    }

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + "…";
}
