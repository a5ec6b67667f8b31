namespace DeployDeck.Web.Live;

/// <summary>
/// Coalesces render requests: however many samples arrive, the component renders at most once per interval, the
/// latest state, and never from the thread that delivered the sample.
/// </summary>
public sealed class RenderThrottle(TimeSpan interval, Func<Task> render, TimeProvider clock) : IDisposable
{
    private readonly CancellationTokenSource _disposed = new();
    private DateTimeOffset _last = DateTimeOffset.MinValue;
    private int _pending;

    public RenderThrottle(double maxPerSecond, Func<Task> render, TimeProvider clock)
        : this(TimeSpan.FromSeconds(1 / Math.Max(0.1, maxPerSecond)), render, clock)
    {
    }

    public void Request()
    {
        if (Interlocked.Exchange(ref _pending, 1) == 1)
            return; // a render is already scheduled: it will show this state too
        var wait = _last + interval - clock.GetUtcNow();
        _ = RunAsync(wait > TimeSpan.Zero ? wait : TimeSpan.Zero);
    }

    private async Task RunAsync(TimeSpan wait)
    {
        try
        {
            if (wait > TimeSpan.Zero)
                await Task.Delay(wait, clock, _disposed.Token);
            Volatile.Write(ref _pending, 0);
            _last = clock.GetUtcNow();
            await render();
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
            // the circuit went away between the sample and the render
        }
    }

    public void Dispose()
    {
        _disposed.Cancel();
        _disposed.Dispose();
    }
}
