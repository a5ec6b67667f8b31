using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using DeployDeck.Infrastructure.Live;
using Microsoft.Extensions.Options;

namespace DeployDeck.Web.Live;

public sealed class LiveStatsOptions
{
    public const string Section = "LiveStats";

    /// <summary>How much history the charts keep in memory, per host and container (never in PostgreSQL).</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>At most this many renders per second per live component, however fast samples arrive.</summary>
    public double MaxRendersPerSecond { get; set; } = 1;

    /// <summary>Points drawn per chart line: a 15-minute window at 1 Hz is thinned to this many (every n-th point, the latest kept).</summary>
    public int MaxChartPoints { get; set; } = 120;

    /// <summary>How often a chart is redrawn while the figures and bars around it follow every render.</summary>
    public TimeSpan ChartRedraw { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// Hands host samples from the hub to the Blazor circuits and keeps the bounded history the charts draw. Each
/// subscriber has a one-slot channel: a slow page skips to the latest sample instead of holding up the hub.
/// </summary>
public sealed class HostStatsBroadcaster(IOptions<LiveStatsOptions> options, TimeProvider clock)
{
    private readonly ConcurrentDictionary<Guid, Channel<HostStatsMessage>> _subscribers = new();
    private readonly ConcurrentDictionary<Guid, StatsHistory> _histories = new();
    private volatile HostStatsMessage? _latestAny;

    public int SubscriberCount => _subscribers.Count;

    public event Action<HostStatsMessage>? Received;

    public void Publish(HostStatsMessage message)
    {
        _latestAny = message;
        foreach (var hostId in message.HostIds)
            _histories.GetOrAdd(hostId, _ => new StatsHistory(options.Value.Window)).Add(message);
        Received?.Invoke(message);
        foreach (var channel in _subscribers.Values)
            channel.Writer.TryWrite(message);
    }

    /// <summary>The last samples of a host, oldest first (empty before the first one arrives).</summary>
    public StatsHistory? History(Guid hostId) => _histories.GetValueOrDefault(hostId);

    /// <summary>The latest sample of a host, or of any host when <paramref name="hostId"/> is null.</summary>
    public HostStatsMessage? Latest(Guid? hostId) => hostId is { } id ? History(id)?.Latest : _latestAny;

    /// <summary>How old the latest sample is; null before any.</summary>
    public TimeSpan? Age(Guid? hostId) => Latest(hostId) is { } m ? clock.GetUtcNow() - m.At : null;

    /// <summary>Samples of one host (or of every host when null) until cancelled.</summary>
    public async IAsyncEnumerable<HostStatsMessage> SubscribeAsync(Guid? hostId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var id = Guid.NewGuid();
        var channel = Channel.CreateBounded<HostStatsMessage>(new BoundedChannelOptions(1)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
        _subscribers[id] = channel;
        try
        {
            await foreach (var message in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                if (hostId is null || message.HostIds.Contains(hostId.Value))
                    yield return message;
            }
        }
        finally
        {
            _subscribers.TryRemove(id, out _);
        }
    }
}

/// <summary>A time-bounded window of one host's samples: the host figures and each container's memory and CPU.</summary>
public sealed class StatsHistory(TimeSpan window)
{
    private readonly Lock _lock = new();
    private readonly Queue<HostPoint> _host = new();
    private readonly Dictionary<string, Queue<ContainerPoint>> _containers = new(StringComparer.Ordinal);

    public HostStatsMessage? Latest { get; private set; }

    public void Add(HostStatsMessage message)
    {
        lock (_lock)
        {
            Latest = message;
            _host.Enqueue(new HostPoint(message.At, message.Host.MemoryUsedBytes, message.Containers.Sum(c => c.MemoryBytes ?? 0), message.Host.Load1));
            foreach (var c in message.Containers)
            {
                if (!_containers.TryGetValue(c.Id, out var points))
                    _containers[c.Id] = points = new Queue<ContainerPoint>();
                points.Enqueue(new ContainerPoint(message.At, c.MemoryBytes, c.CpuPercent));
            }

            var cutoff = message.At - window;
            while (_host.TryPeek(out var oldest) && oldest.At < cutoff)
                _host.Dequeue();
            foreach (var (id, points) in _containers.ToList())
            {
                while (points.TryPeek(out var oldest) && oldest.At < cutoff)
                    points.Dequeue();
                if (points.Count == 0)
                    _containers.Remove(id);
            }
        }
    }

    public IReadOnlyList<HostPoint> Host()
    {
        lock (_lock)
            return _host.ToArray();
    }

    public IReadOnlyList<ContainerPoint> Container(string id)
    {
        lock (_lock)
            return _containers.TryGetValue(id, out var points) ? points.ToArray() : [];
    }
}

/// <summary>Thins a series for drawing: every n-th point so that at most the given number remain, always with the latest.</summary>
public static class ChartPoints
{
    public static IReadOnlyList<T> Thin<T>(IReadOnlyList<T> points, int max)
    {
        if (points.Count <= max || max < 2)
            return points;
        var stride = (int)Math.Ceiling(points.Count / (double)max);
        var thinned = new List<T>(max + 1);
        for (var i = (points.Count - 1) % stride; i < points.Count; i += stride)
            thinned.Add(points[i]);
        return thinned;
    }
}

public readonly record struct HostPoint(DateTimeOffset At, long? MemoryUsedBytes, long ContainersMemoryBytes, double? Load1);

public readonly record struct ContainerPoint(DateTimeOffset At, long? MemoryBytes, double? CpuPercent);
