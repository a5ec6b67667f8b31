using DeployDeck.Infrastructure.Live;
using DeployDeck.Web.Live;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Rendering;
using Microsoft.Extensions.Options;

namespace DeployDeck.Web.Components.Controls;

/// <summary>
/// Follows a host's samples for the live controls inside it and hands each new one down: every control of the page
/// renders in the same batch, at most <see cref="LiveStatsOptions.MaxRendersPerSecond"/> — a page whose two panels
/// followed the samples themselves sent two batches (and got two acknowledgements) per sample and tab. Shows the
/// latest sample at once; follows only once the circuit is interactive, never while prerendering; the subscription is
/// cancelled and awaited when the component goes away.
/// </summary>
public sealed class LiveSample : ComponentBase, IAsyncDisposable
{
    private readonly CancellationTokenSource _disposed = new();
    private Task? _subscription;
    private RenderThrottle? _throttle;
    private Guid? _subscribedTo;
    private HostStatsMessage? _latest;
    private HostStatsMessage? _rendered;
    private bool _firstRender = true;

    [Inject]
    public required HostStatsBroadcaster Stats { get; init; }

    [Inject]
    public required IOptions<LiveStatsOptions> LiveOptions { get; init; }

    [Inject]
    public required TimeProvider Clock { get; init; }

    /// <summary>The host to follow; null follows every host (a rollout's panel filters by rollout itself).</summary>
    [Parameter]
    public Guid? HostId { get; set; }

    /// <summary>The live controls, given the latest sample (null until the Worker sent one).</summary>
    [Parameter, EditorRequired]
    public required RenderFragment<HostStatsMessage?> ChildContent { get; set; }

    protected override void OnParametersSet()
    {
        if (_subscribedTo != HostId)
            _latest = null;
        _latest ??= Stats.Latest(HostId);
        if (!RendererInfo.IsInteractive || (_subscription is not null && _subscribedTo == HostId))
            return;
        _subscribedTo = HostId;
        _throttle ??= new RenderThrottle(LiveOptions.Value.MaxRendersPerSecond, () => InvokeAsync(StateHasChanged), Clock);
        _subscription = FollowAsync(HostId, _disposed.Token);
    }

    // The page around renders for its own reasons (a rollout's every step): the controls wait for the next sample
    // (at most a second) instead of rendering again with the one they show.
    protected override bool ShouldRender() => _firstRender || !ReferenceEquals(_latest, _rendered);

    protected override void BuildRenderTree(RenderTreeBuilder builder)
    {
        _firstRender = false;
        _rendered = _latest;
        builder.AddContent(0, ChildContent(_latest));
    }

    private async Task FollowAsync(Guid? hostId, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var message in Stats.SubscribeAsync(hostId, cancellationToken))
            {
                if (hostId != _subscribedTo)
                    return; // the parameter changed: a newer subscription follows
                _latest = message;
                _throttle!.Request();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _disposed.CancelAsync();
        if (_subscription is not null)
            await _subscription.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _throttle?.Dispose();
        _disposed.Dispose();
    }
}
