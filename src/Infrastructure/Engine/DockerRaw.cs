using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;

namespace DeployDeck.Infrastructure.Engine;

/// <summary>
/// The few Engine API calls Docker.DotNet cannot make against the engines in the field: <c>GET /system/df</c>
/// (its model follows API 1.52; Debian's engine speaks 1.41) and <c>POST /build/prune</c>.
/// </summary>
public sealed class DockerRaw : IDisposable
{
    private readonly HttpClient _http;

    /// <summary>Over a handler that reaches the engine (TLS, SSH channel): <paramref name="baseAddress"/> is what requests are relative to.</summary>
    public DockerRaw(HttpMessageHandler handler, Uri baseAddress, TimeSpan timeout)
    {
        _http = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = timeout };
    }

    /// <summary>A unix socket, or a plain tcp:// engine.</summary>
    public DockerRaw(IOptions<DockerOptions> options)
    {
        var endpoint = new Uri(options.Value.Endpoint);
        if (endpoint.Scheme == "unix")
        {
            var path = endpoint.LocalPath;
            var handler = new SocketsHttpHandler
            {
                ConnectCallback = async (_, ct) =>
                {
                    var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    try
                    {
                        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), ct);
                        return new NetworkStream(socket, ownsSocket: true);
                    }
                    catch
                    {
                        socket.Dispose();
                        throw;
                    }
                },
            };
            _http = new HttpClient(handler) { BaseAddress = new Uri("http://docker/") };
        }
        else
        {
            _http = new HttpClient { BaseAddress = new Uri($"http://{endpoint.Host}:{endpoint.Port}/") };
        }

        _http.Timeout = options.Value.RequestTimeout;
    }

    public async Task<SystemDf> SystemDfAsync(CancellationToken ct) =>
        await _http.GetFromJsonAsync<SystemDf>("system/df", Json, ct) ?? new SystemDf();

    /// <summary>Removes the build cache records with these ids (BuildKit's prune filter), returns the bytes reclaimed.</summary>
    public async Task<long> PruneBuildCacheAsync(IReadOnlyCollection<string> ids, CancellationToken ct)
    {
        var filters = JsonSerializer.Serialize(new Dictionary<string, string[]> { ["id"] = ids.ToArray() });
        using var response = await _http.PostAsync($"build/prune?filters={Uri.EscapeDataString(filters)}", null, ct);
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<BuildPruneResponse>(Json, ct);
        return body?.SpaceReclaimed ?? 0;
    }

    public void Dispose() => _http.Dispose();

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public sealed record SystemDf
    {
        public long LayersSize { get; init; }

        public List<DfImage>? Images { get; init; }

        public List<DfContainer>? Containers { get; init; }

        public List<DfVolume>? Volumes { get; init; }

        public List<DfBuildCache>? BuildCache { get; init; }
    }

    public sealed record DfImage(string Id, List<string>? RepoTags, long Size, long SharedSize, long Containers);

    public sealed record DfContainer(string Id, List<string>? Names, string? Image, long? SizeRw, string? State, Dictionary<string, string>? Labels);

    public sealed record DfVolume(string Name, DfUsage? UsageData, Dictionary<string, string>? Labels);

    public sealed record DfUsage(long Size, long RefCount);

    public sealed record DfBuildCache([property: JsonPropertyName("ID")] string Id, string? Type, long Size, bool InUse, bool Shared, string? Description);

    private sealed record BuildPruneResponse(long SpaceReclaimed);
}
