using DeployDeck.Infrastructure.Live;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Options;

namespace DeployDeck.Worker.Live;

public sealed class LiveOptions
{
    public const string Section = "Live";

    /// <summary>The Web hub, e.g. http://127.0.0.1:5080/hubs/live.</summary>
    public Uri HubUrl { get; set; } = new("http://127.0.0.1:5080/hubs/live");

    /// <summary>Shared secret that authenticates the Worker to the hub. Never logged.</summary>
    public string WorkerKey { get; set; } = "";
}

/// <summary>Pushes rollout events to the Web hub. Best effort: the database is the record, the push is a courtesy.</summary>
public interface ILivePublisher
{
    Task PublishAsync(RolloutEventMessage message, CancellationToken cancellationToken);

    /// <summary>One batched sample of a host; dropped (not queued) while the hub is unreachable.</summary>
    Task PublishAsync(HostStatsMessage message, CancellationToken cancellationToken);
}

/// <summary>
/// The Worker's SignalR client of the Web hub. It connects in the background and reconnects forever,
/// so a Worker started before Web, or a Web restart, loses only the pushes of that moment.
/// </summary>
public sealed class SignalRLivePublisher : ILivePublisher, IHostedService, IAsyncDisposable
{
    private readonly HubConnection _connection;
    private readonly ILogger<SignalRLivePublisher> _logger;
    private readonly CancellationTokenSource _stopping = new();
    private Task _connectLoop = Task.CompletedTask;

    public SignalRLivePublisher(IOptions<LiveOptions> options, ILogger<SignalRLivePublisher> logger)
    {
        _logger = logger;
        var key = options.Value.WorkerKey;
        _connection = new HubConnectionBuilder()
            .WithUrl(options.Value.HubUrl, o => o.AccessTokenProvider = () => Task.FromResult<string?>(key))
            .WithAutomaticReconnect(new ForeverRetry())
            .Build();
        _connection.Closed += _ =>
        {
            if (!_stopping.IsCancellationRequested)
                _connectLoop = ConnectLoopAsync(_stopping.Token);
            return Task.CompletedTask;
        };
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _connectLoop = ConnectLoopAsync(_stopping.Token);
        return Task.CompletedTask;
    }

    private async Task ConnectLoopAsync(CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromSeconds(1);
        while (!cancellationToken.IsCancellationRequested && _connection.State == HubConnectionState.Disconnected)
        {
            try
            {
                await _connection.StartAsync(cancellationToken);
                _logger.LogInformation("Connected to the live hub");
                return;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                _logger.LogWarning("Live hub not reachable yet ({Reason}); retrying in {Delay}", ex.Message, delay);
                await Task.Delay(delay, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                delay = TimeSpan.FromSeconds(Math.Min(delay.TotalSeconds * 2, 10));
            }
        }
    }

    public Task PublishAsync(RolloutEventMessage message, CancellationToken cancellationToken) =>
        SendAsync(LiveHubContract.PublishRolloutEvent, message, TimeSpan.FromSeconds(5), cancellationToken,
            reason => _logger.LogWarning("Live push of {Kind} for rollout {RolloutId} failed: {Reason}", message.Kind, message.RolloutId, reason));

    public Task PublishAsync(HostStatsMessage message, CancellationToken cancellationToken) =>
        SendAsync(LiveHubContract.PublishHostStats, message, TimeSpan.FromSeconds(2), cancellationToken,
            reason => _logger.LogDebug("Live push of host stats failed: {Reason}", reason));

    /// <summary>Sends when connected, within a time-out; a failure is reported, never thrown (the push is a courtesy).</summary>
    private async Task SendAsync(string method, object message, TimeSpan timeout, CancellationToken cancellationToken, Action<string> failed)
    {
        if (_connection.State != HubConnectionState.Connected)
            return;
        try
        {
            using var within = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            within.CancelAfter(timeout);
            await _connection.SendAsync(method, message, within.Token);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            failed(ex.Message);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _connectLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _connection.StopAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Dispose();
        await _connection.DisposeAsync();
    }

    private sealed class ForeverRetry : IRetryPolicy
    {
        public TimeSpan? NextRetryDelay(RetryContext retryContext) =>
            TimeSpan.FromSeconds(Math.Min(10, 1 + retryContext.PreviousRetryCount));
    }
}
