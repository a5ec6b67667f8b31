using System.Threading.Channels;

namespace DeployDeck.Infrastructure.Live;

/// <summary>
/// A wait that something else ends early: <see cref="Wake"/> makes the current or the next <see cref="WaitAsync"/>
/// return at once. Wakes do not pile up — one pending wake is enough for a waiter that then reads the current state.
/// </summary>
public sealed class Wakeup
{
    private readonly Channel<bool> _wakes = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public void Wake() => _wakes.Writer.TryWrite(true);

    /// <summary>Returns at the next wake (or a pending one), or when <paramref name="atMost"/> has passed.</summary>
    public async Task WaitAsync(TimeSpan atMost, CancellationToken ct)
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
}
