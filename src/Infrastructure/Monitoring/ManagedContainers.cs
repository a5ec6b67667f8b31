using DeployDeck.Domain.Engine;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DeployDeck.Infrastructure.Monitoring;

/// <summary>A managed container as the sampler knows it between engine calls.</summary>
public sealed class TrackedContainer
{
    public required string Id { get; init; }

    public required string Name { get; set; }

    public IReadOnlyDictionary<string, string> Labels { get; set; } = new Dictionary<string, string>();

    public string State { get; set; } = "running";

    public string Health { get; set; } = "none";

    public int RestartCount { get; set; }

    public long? MemoryLimitBytes { get; set; }

    public DateTimeOffset InspectedAt { get; set; }

    /// <summary>Set by a source that saw the container change (a new process, unreadable files): inspect it at the next refresh.</summary>
    public bool Stale { get; set; }
}

/// <summary>
/// The engine's managed containers (label deploydeck.managed=true), refreshed by one list call every
/// <see cref="MonitoringOptions.ContainerListInterval"/>; each new container is inspected once (limit, restart count),
/// then again every <see cref="MonitoringOptions.InspectInterval"/> or when a source marks it stale. Every call has a
/// timeout: a container that vanishes between the list and the inspect is dropped, never waited for.
/// </summary>
public sealed class ManagedContainers(DockerClient client, IOptions<MonitoringOptions> options, TimeProvider clock, ILogger<ManagedContainers> logger)
{
    private readonly Dictionary<string, TrackedContainer> _containers = new(StringComparer.Ordinal);
    private DateTimeOffset _listedAt = DateTimeOffset.MinValue;
    private int _changed;

    public IReadOnlyCollection<TrackedContainer> Current => _containers.Values;

    /// <summary>
    /// The engine reported a managed container starting or stopping: list again at the next tick instead of up to an
    /// interval later, so a container a rollout just started is sampled (and counted in its phase) from its first second.
    /// </summary>
    public void Changed() => Interlocked.Exchange(ref _changed, 1);

    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        var now = clock.GetUtcNow();
        if (Interlocked.Exchange(ref _changed, 0) == 1 || now - _listedAt >= o.ContainerListInterval)
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(o.StatsTimeout);
            var listed = await client.Containers.ListContainersAsync(new ContainersListParameters
            {
                All = false,
                Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"{OwnershipLabels.Managed}=true"] = true } },
            }, cts.Token);
            _listedAt = now;

            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var c in listed)
            {
                seen.Add(c.ID);
                var health = HealthOf(c.Status);
                if (!_containers.TryGetValue(c.ID, out var tracked))
                {
                    tracked = new TrackedContainer { Id = c.ID, Name = c.Names?.FirstOrDefault()?.TrimStart('/') ?? c.ID[..12], Stale = true };
                    _containers[c.ID] = tracked;
                }
                else if (tracked.State != c.State || tracked.Health != health)
                {
                    tracked.Stale = true; // a restart passes through another state, a health change may follow one
                }

                tracked.Labels = c.Labels is null ? new Dictionary<string, string>() : new Dictionary<string, string>(c.Labels, StringComparer.Ordinal);
                tracked.State = c.State ?? "running";
                tracked.Health = health;
            }

            foreach (var gone in _containers.Keys.Where(id => !seen.Contains(id)).ToList())
                _containers.Remove(gone);
        }

        foreach (var tracked in _containers.Values.Where(t => t.Stale || now - t.InspectedAt >= o.InspectInterval).ToList())
            await InspectAsync(tracked, now, cancellationToken);
    }

    private async Task InspectAsync(TrackedContainer tracked, DateTimeOffset now, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(options.Value.StatsTimeout);
        try
        {
            var inspect = await client.Containers.InspectContainerAsync(tracked.Id, cts.Token);
            tracked.RestartCount = (int)inspect.RestartCount;
            tracked.MemoryLimitBytes = inspect.HostConfig?.Memory is > 0 and var limit ? limit : null;
            tracked.Name = inspect.Name?.TrimStart('/') ?? tracked.Name;
            tracked.InspectedAt = now;
            tracked.Stale = false;
        }
        catch (DockerContainerNotFoundException)
        {
            _containers.Remove(tracked.Id);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("Inspect of container {Container} took longer than {Timeout}: skipped this tick", tracked.Name, options.Value.StatsTimeout);
        }
    }

    /// <summary>The health in the list's status text: "Up 3 minutes (healthy)", "(health: starting)", "(unhealthy)".</summary>
    internal static string HealthOf(string? status) => status switch
    {
        null => "none",
        _ when status.Contains("(unhealthy)", StringComparison.Ordinal) => "unhealthy",
        _ when status.Contains("(healthy)", StringComparison.Ordinal) => "healthy",
        _ when status.Contains("(health: starting)", StringComparison.Ordinal) => "starting",
        _ => "none",
    };
}
