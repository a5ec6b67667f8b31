using System.Collections.Concurrent;
using System.Threading.Channels;

namespace DeployDeck.Infrastructure.Live;

/// <summary>
/// Waits that news about a key ends early — a container's engine events, a rollout's recorded steps — for a waiter that
/// then reads the current state itself. A wait is registered when taken, so news between that read and the next
/// <see cref="Wait.NextAsync"/> is not missed; wakes do not pile up (one pending is enough). Dispose to stop.
/// </summary>
public sealed class Wakeups<TKey> where TKey : notnull
{
    private readonly ConcurrentDictionary<Wait, TKey> _waits = new();

    public Wait For(TKey key)
    {
        var wait = new Wait(this);
        _waits[wait] = key;
        return wait;
    }

    public void Wake(TKey key)
    {
        foreach (var (wait, waitedFor) in _waits)
        {
            if (EqualityComparer<TKey>.Default.Equals(waitedFor, key))
                wait.Wake();
        }
    }

    public sealed class Wait : IDisposable
    {
        private readonly Wakeups<TKey> _owner;
        private readonly Channel<bool> _wakes = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

        internal Wait(Wakeups<TKey> owner) => _owner = owner;

        internal void Wake() => _wakes.Writer.TryWrite(true);

        /// <summary>Returns at the next wake (or a pending one), or when <paramref name="atMost"/> has passed.</summary>
        public async Task NextAsync(TimeSpan atMost, CancellationToken ct)
        {
            if (_wakes.Reader.TryRead(out _))
                return;
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
            wait.CancelAfter(atMost);
            try
            {
                await _wakes.Reader.ReadAsync(wait.Token);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // the time passed without a wake
            }
        }

        public void Dispose() => _owner._waits.TryRemove(this, out _);
    }
}
