using DeployDeck.Infrastructure.Live;
using DeployDeck.Web.Live;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.Options;

namespace DeployDeck.Web.Components.Controls;

/// <summary>
/// Base of the live monitoring controls: shows the latest sample at once, then follows the broadcaster (only once the
/// circuit is interactive, never while prerendering) and re-renders through a <see cref="RenderThrottle"/>. The
/// subscription is cancelled and awaited when the component goes away.
/// </summary>
public abstract class LiveSubscription : ComponentBase, IAsyncDisposable
{
    private readonly CancellationTokenSource _disposed = new();
    private Task? _subscription;
    private RenderThrottle? _throttle;
    private Guid? _subscribedTo;

    [Inject]
    public required HostStatsBroadcaster Stats { get; init; }

    [Inject]
    public required IOptions<LiveStatsOptions> LiveOptions { get; init; }

    [Inject]
    public required TimeProvider Clock { get; init; }

    protected HostStatsMessage? Latest { get; private set; }

    /// <summary>The host to follow; null follows every host (the rollout panel filters by rollout itself).</summary>
    protected abstract Guid? FollowedHost { get; }

    protected int Renders { get; private set; }

    protected override void OnParametersSet()
    {
        Latest ??= Stats.Latest(FollowedHost);
        if (!RendererInfo.IsInteractive || (_subscription is not null && _subscribedTo == FollowedHost))
            return;
        _subscribedTo = FollowedHost;
        _throttle ??= new RenderThrottle(LiveOptions.Value.MaxRendersPerSecond, () => InvokeAsync(StateHasChanged), Clock);
        _subscription = FollowAsync(FollowedHost, _disposed.Token);
    }

    protected override void OnAfterRender(bool firstRender) => Renders++;

    private async Task FollowAsync(Guid? hostId, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var message in Stats.SubscribeAsync(hostId, cancellationToken))
            {
                if (hostId != _subscribedTo)
                    return; // the parameter changed: a newer subscription follows
                Latest = message;
                OnSample(message);
                _throttle!.Request();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Called for every sample, off the render thread; keep it cheap (rendering reads state later).</summary>
    protected virtual void OnSample(HostStatsMessage message)
    {
    }

    public async ValueTask DisposeAsync()
    {
        await _disposed.CancelAsync();
        if (_subscription is not null)
            await _subscription.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _throttle?.Dispose();
        _disposed.Dispose();
        GC.SuppressFinalize(this);
    }
}
