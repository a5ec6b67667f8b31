using System.Collections.Concurrent;
using DeployDeck.Domain.Engine;
using DeployDeck.Infrastructure.Live;
using DeployDeck.Infrastructure.Monitoring;

namespace DeployDeck.Worker.Rollouts;

/// <summary>
/// Listens to the engine's events of DeployDeck's containers for as long as the Worker runs. It keeps OOM kills, which
/// gates and soak ask for since a moment (what happened before this Worker started is asked of the engine's own short
/// event log), wakes whoever follows a container when it starts, dies or changes health, so a rollout reacts to a
/// container turning healthy at once instead of at its next poll, and has the sampler list containers again when one
/// starts or stops.
/// </summary>
public sealed class ContainerWatch(IContainerEngine engine, ManagedContainers sampled, TimeProvider time, ILogger<ContainerWatch> logger) : BackgroundService
{
    private static readonly TimeSpan Keep = TimeSpan.FromHours(2);
    private const int MaxKept = 10_000;

    private readonly ConcurrentQueue<ContainerEvent> _ooms = new();
    private readonly Wakeups<string> _followers = new();
    private DateTimeOffset? _listeningSince;

    /// <summary>OOM events of the container at or after <paramref name="since"/>.</summary>
    public async Task<IReadOnlyList<ContainerEvent>> OomsSinceAsync(Guid rolloutId, string containerId, DateTimeOffset since, CancellationToken ct)
    {
        var found = _ooms.Where(e => e.ContainerId == containerId && e.At >= since).ToList();
        if (_listeningSince is not { } listening || listening > since)
        {
            var history = await engine.OomEventsAsync(new Dictionary<string, string> { [OwnershipLabels.Rollout] = rolloutId.ToString() }, since, time.GetUtcNow(), ct);
            found.AddRange(history.Where(e => e.ContainerId == containerId && found.All(f => f.At != e.At)));
        }

        return found.OrderBy(e => e.At).ToList();
    }

    /// <summary>
    /// Follows a container from now on: the wait's <c>NextAsync</c> returns when the engine reports a change of it, or
    /// after a fallback interval, since an event stream can drop. A change between two waits is not lost.
    /// </summary>
    public Wakeups<string>.Wait Follow(string containerId) => _followers.For(containerId);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var connected = time.GetUtcNow();
                _listeningSince ??= connected;
                await engine.WatchAsync(new Dictionary<string, string> { [OwnershipLabels.Managed] = "true" }, Seen, stoppingToken);
                delay = TimeSpan.FromSeconds(1);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // OOM kills missed while disconnected are asked of the engine's log; followers fall back to polling.
                _listeningSince = null;
                logger.LogWarning("Engine event stream lost ({Reason}); reconnecting in {Delay}", ex.Message, delay);
                await Task.Delay(delay, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                delay = TimeSpan.FromSeconds(Math.Min(30, delay.TotalSeconds * 2));
            }
        }
    }

    private void Seen(ContainerEvent e)
    {
        if (e.Action is "start" or "die")
            sampled.Changed();

        _followers.Wake(e.ContainerId);

        if (!e.IsOom)
            return;
        _ooms.Enqueue(e);
        logger.LogWarning("OOM kill in container {Container} ({Service})", e.ContainerName, e.Labels.GetValueOrDefault(OwnershipLabels.Service));
        var horizon = time.GetUtcNow() - Keep;
        while (_ooms.Count > MaxKept || (_ooms.TryPeek(out var oldest) && oldest.At < horizon))
            _ooms.TryDequeue(out _);
    }
}
