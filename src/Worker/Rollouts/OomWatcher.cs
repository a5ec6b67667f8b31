using System.Collections.Concurrent;
using DeployDeck.Domain.Engine;

namespace DeployDeck.Worker.Rollouts;

/// <summary>
/// Listens to the engine's OOM events of DeployDeck's containers for as long as the Worker runs. Gates and soak ask it
/// what happened to a container since a moment; what happened before this Worker started is asked of the engine's
/// own (short) event log.
/// </summary>
public sealed class OomWatcher(IContainerEngine engine, TimeProvider time, ILogger<OomWatcher> logger) : BackgroundService
{
    private static readonly TimeSpan Keep = TimeSpan.FromHours(2);
    private const int MaxKept = 10_000;

    private readonly ConcurrentQueue<OomEvent> _seen = new();
    private DateTimeOffset? _listeningSince;

    /// <summary>OOM events of the container at or after <paramref name="since"/>.</summary>
    public async Task<IReadOnlyList<OomEvent>> SinceAsync(Guid rolloutId, string containerId, DateTimeOffset since, CancellationToken ct)
    {
        var found = _seen.Where(e => e.ContainerId == containerId && e.At >= since).ToList();
        if (_listeningSince is not { } listening || listening > since)
        {
            var history = await engine.OomEventsAsync(new Dictionary<string, string> { [OwnershipLabels.Rollout] = rolloutId.ToString() }, since, time.GetUtcNow(), ct);
            found.AddRange(history.Where(e => e.ContainerId == containerId && found.All(f => f.At != e.At)));
        }

        return found.OrderBy(e => e.At).ToList();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var connected = time.GetUtcNow();
                _listeningSince ??= connected;
                await engine.WatchOomAsync(new Dictionary<string, string> { [OwnershipLabels.Managed] = "true" }, Record, stoppingToken);
                delay = TimeSpan.FromSeconds(1);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Events missed while disconnected are asked of the engine's log by SinceAsync.
                _listeningSince = null;
                logger.LogWarning("Engine event stream lost ({Reason}); reconnecting in {Delay}", ex.Message, delay);
                await Task.Delay(delay, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                delay = TimeSpan.FromSeconds(Math.Min(30, delay.TotalSeconds * 2));
            }
        }
    }

    private void Record(OomEvent oom)
    {
        _seen.Enqueue(oom);
        logger.LogWarning("OOM kill in container {Container} ({Service})", oom.ContainerName, oom.Labels.GetValueOrDefault(OwnershipLabels.Service));
        var horizon = time.GetUtcNow() - Keep;
        while (_seen.Count > MaxKept || (_seen.TryPeek(out var oldest) && oldest.At < horizon))
            _seen.TryDequeue(out _);
    }
}
