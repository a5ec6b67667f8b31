using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using DeployDeck.Domain.Images;

namespace DeployDeck.Infrastructure.Images;

/// <summary>
/// Reads an image's size from its registry before it is pulled (the Registry HTTP API v2: the manifest's layer sizes,
/// through a platform index where there is one), with Basic or token authentication as the registry asks. The engine
/// pulls; DeployDeck only asks what the pull will weigh, so a registry it cannot reach leaves the size unknown.
/// </summary>
public sealed class RegistryManifests : IDisposable
{
    private static readonly string[] Accepted =
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.index.v1+json",
    ];

    private const int MaxManifest = 4 * 1024 * 1024;

    private readonly HttpClient _http;

    public RegistryManifests(TimeSpan? timeout = null)
    {
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), AllowAutoRedirect = true })
        {
            Timeout = timeout ?? TimeSpan.FromSeconds(15),
        };
    }

    /// <returns>The compressed size of the image's layers for linux/<paramref name="architecture"/>; or why it is unknown.</returns>
    public async Task<(long? Bytes, string? Unknown)> CompressedSizeAsync(ImageReference image, RegistryAuth? auth, string architecture, CancellationToken ct)
    {
        try
        {
            var bearer = (string?)null;
            var (status, body, challenge) = await GetAsync(image, image.ManifestReference, auth, bearer, ct);
            if (status == HttpStatusCode.Unauthorized && challenge is { Scheme: "Bearer" })
            {
                bearer = await TokenAsync(challenge, image, auth, ct);
                if (bearer is null)
                    return (null, $"{image.Registry} gave no token for {image.Repository}");
                (status, body, _) = await GetAsync(image, image.ManifestReference, auth, bearer, ct);
            }

            if (status != HttpStatusCode.OK)
                return (null, $"{image.Registry} answered {(int)status} for the manifest of {image.Repository}:{image.ManifestReference}");
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.TryGetProperty("manifests", out var manifests))
            {
                var chosen = Pick(manifests, architecture);
                if (chosen is null)
                    return (null, $"{image} has no linux/{architecture} image");
                (status, body, _) = await GetAsync(image, chosen, auth, bearer, ct);
                if (status != HttpStatusCode.OK)
                    return (null, $"{image.Registry} answered {(int)status} for the linux/{architecture} manifest of {image}");
                using var platform = JsonDocument.Parse(body);
                return (Layers(platform.RootElement), null);
            }

            return (Layers(doc.RootElement), null);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or InvalidOperationException)
        {
            if (ct.IsCancellationRequested)
                throw;
            return (null, $"{image.Registry} did not answer DeployDeck ({e.GetType().Name}: {e.Message})");
        }
    }

    private static long? Layers(JsonElement manifest) =>
        manifest.TryGetProperty("layers", out var layers) ? layers.EnumerateArray().Sum(l => l.TryGetProperty("size", out var s) ? s.GetInt64() : 0) : null;

    private static string? Pick(JsonElement manifests, string architecture)
    {
        foreach (var m in manifests.EnumerateArray())
        {
            if (m.TryGetProperty("platform", out var p) && p.TryGetProperty("os", out var os) && os.GetString() == "linux"
                && p.TryGetProperty("architecture", out var arch) && arch.GetString() == architecture)
                return m.GetProperty("digest").GetString();
        }

        return null;
    }

    private static Uri Base(ImageReference image)
    {
        // The engine speaks plain HTTP to registries on 127.0.0.0/8 (insecure by default); everything else is HTTPS.
        var host = image.Registry == ImageReference.DockerHub ? "registry-1.docker.io" : image.Registry;
        return new Uri($"{(image.IsLoopback ? "http" : "https")}://{host}/");
    }

    private async Task<(HttpStatusCode Status, byte[] Body, AuthenticationHeaderValue? Challenge)> GetAsync(
        ImageReference image, string reference, RegistryAuth? auth, string? bearer, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(Base(image), $"v2/{image.Repository}/manifests/{Uri.EscapeDataString(reference)}"));
        foreach (var type in Accepted)
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
        if (bearer is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        else if (auth is not null)
            request.Headers.Authorization = Basic(auth);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        var challenge = response.Headers.WwwAuthenticate.FirstOrDefault();
        if (response.Content.Headers.ContentLength > MaxManifest)
            return (HttpStatusCode.RequestEntityTooLarge, [], challenge);
        return (response.StatusCode, await response.Content.ReadAsByteArrayAsync(ct), challenge);
    }

    private async Task<string?> TokenAsync(AuthenticationHeaderValue challenge, ImageReference image, RegistryAuth? auth, CancellationToken ct)
    {
        var fields = (challenge.Parameter ?? "").Split(',').Select(f => f.Split('=', 2)).Where(f => f.Length == 2)
            .ToDictionary(f => f[0].Trim(), f => f[1].Trim().Trim('"'), StringComparer.OrdinalIgnoreCase);
        if (!fields.TryGetValue("realm", out var realm) || !Uri.TryCreate(realm, UriKind.Absolute, out var realmUri) || realmUri.Scheme is not ("https" or "http"))
            return null;
        var query = new StringBuilder($"scope=repository:{Uri.EscapeDataString(image.Repository)}:pull");
        if (fields.TryGetValue("service", out var service))
            query.Append("&service=").Append(Uri.EscapeDataString(service));
        using var request = new HttpRequestMessage(HttpMethod.Get, new UriBuilder(realmUri) { Query = query.ToString() }.Uri);
        if (auth is not null)
            request.Headers.Authorization = Basic(auth);
        using var response = await _http.SendAsync(request, ct);
        if (!response.IsSuccessStatusCode)
            return null;
        using var doc = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(ct));
        return doc.RootElement.TryGetProperty("token", out var token) ? token.GetString()
            : doc.RootElement.TryGetProperty("access_token", out var access) ? access.GetString() : null;
    }

    private static AuthenticationHeaderValue Basic(RegistryAuth auth) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{auth.Username}:{auth.Password}")));

    public void Dispose() => _http.Dispose();
}
