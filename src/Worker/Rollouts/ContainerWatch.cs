using System.Collections.Concurrent;
using DeployDeck.Domain.Engine;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Engine;
using DeployDeck.Infrastructure.Live;
using DeployDeck.Worker.Hosting;
using DeployDeck.Worker.Monitoring;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Worker.Rollouts;

/// <summary>
/// Listens to every host's engine events of DeployDeck's containers for as long as the Worker runs, one stream per host.
/// It keeps OOM kills, which gates and soak ask for since a moment (what happened before this Worker listened is asked of
/// the engine's own short event log), wakes whoever follows a container when it starts, dies or changes health, so a
/// rollout reacts to a container turning healthy at once instead of at its next poll, and has the host's sampler list
/// containers again when one starts or stops. Container ids are unique across engines: followers are keyed by them alone.
/// </summary>
public sealed class ContainerWatch(
    IDbContextFactory<DeployDeckDbContext> dbFactory, EngineConnections engines, SampledHosts sampled, TimeProvider time, ILogger<ContainerWatch> logger)
    : PerHostService(dbFactory, engines, time, logger)
{
    private static readonly TimeSpan Keep = TimeSpan.FromHours(2);
    private const int MaxKept = 10_000;

    private readonly ConcurrentQueue<ContainerEvent> _ooms = new();
    private readonly Wakeups<string> _followers = new();
    private readonly ConcurrentDictionary<Guid, DateTimeOffset> _listeningSince = new();

    /// <summary>OOM events of the container at or after <paramref name="since"/>.</summary>
    public async Task<IReadOnlyList<ContainerEvent>> OomsSinceAsync(HostEngine host, Guid rolloutId, string containerId, DateTimeOffset since, CancellationToken ct)
    {
        var found = _ooms.Where(e => e.ContainerId == containerId && e.At >= since).ToList();
        if (!_listeningSince.TryGetValue(host.HostId, out var listening) || listening > since)
        {
            var history = await host.Engine.OomEventsAsync(new Dictionary<string, string> { [OwnershipLabels.Rollout] = rolloutId.ToString() }, since, Time.GetUtcNow(), ct);
            found.AddRange(history.Where(e => e.ContainerId == containerId && found.All(f => f.At != e.At)));
        }

        return found.OrderBy(e => e.At).ToList();
    }

    /// <summary>
    /// Follows a container from now on: the wait's <c>NextAsync</c> returns when the engine reports a change of it, or
    /// after a fallback interval, since an event stream can drop. A change between two waits is not lost.
    /// </summary>
    public Wakeups<string>.Wait Follow(string containerId) => _followers.For(containerId);

    protected override async Task RunHostAsync(DockerHost host, HostEngine engine, CancellationToken ct)
    {
        try
        {
            _listeningSince.TryAdd(host.Id, Time.GetUtcNow());
            await engine.Engine.WatchAsync(new Dictionary<string, string> { [OwnershipLabels.Managed] = "true" }, e => Seen(host.Id, e), ct);
        }
        finally
        {
            // OOM kills missed while disconnected are asked of the engine's log; followers fall back to polling.
            _listeningSince.TryRemove(host.Id, out _);
        }
    }

    private void Seen(Guid hostId, ContainerEvent e)
    {
        if (e.Action is "start" or "die")
            sampled.Changed(hostId);

        _followers.Wake(e.ContainerId);

        if (!e.IsOom)
            return;
        _ooms.Enqueue(e);
        logger.LogWarning("OOM kill in container {Container} ({Service})", e.ContainerName, e.Labels.GetValueOrDefault(OwnershipLabels.Service));
        var horizon = Time.GetUtcNow() - Keep;
        while (_ooms.Count > MaxKept || (_ooms.TryPeek(out var oldest) && oldest.At < horizon))
            _ooms.TryDequeue(out _);
    }
}
