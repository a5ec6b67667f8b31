using DeployDeck.Infrastructure.Live;
using Microsoft.AspNetCore.Authorization;
using DeployDeck.Web.Auth;
using Microsoft.AspNetCore.SignalR;

namespace DeployDeck.Web.Live;

/// <summary>
/// The Worker publishes here; the hub fans out to the Blazor circuits (through the broadcaster) and to
/// other SignalR clients that asked to watch a rollout.
/// </summary>
[Authorize(Policy = Policies.LiveHub)]
public sealed class LiveHub(RolloutBroadcaster broadcaster, HostStatsBroadcaster stats) : Hub
{
    [Authorize(Roles = LiveHubContract.WorkerRole)]
    public async Task PublishRolloutEvent(RolloutEventMessage message)
    {
        broadcaster.Publish(message);
        await Clients.Group(LiveHubContract.RolloutGroup(message.RolloutId)).SendAsync(LiveHubContract.RolloutEvent, message);
    }

    /// <summary>One batched sample of a host per tick: to the circuits through the broadcaster, and to clients watching the host.</summary>
    [Authorize(Roles = LiveHubContract.WorkerRole)]
    public async Task PublishHostStats(HostStatsMessage message)
    {
        stats.Publish(message);
        foreach (var hostId in message.HostIds)
            await Clients.Group(LiveHubContract.HostGroup(hostId)).SendAsync(LiveHubContract.HostStats, message);
    }

    public Task WatchHost(Guid hostId) =>
        Groups.AddToGroupAsync(Context.ConnectionId, LiveHubContract.HostGroup(hostId));

    public Task UnwatchHost(Guid hostId) =>
        Groups.RemoveFromGroupAsync(Context.ConnectionId, LiveHubContract.HostGroup(hostId));

    public Task WatchRollout(Guid rolloutId) =>
        Groups.AddToGroupAsync(Context.ConnectionId, LiveHubContract.RolloutGroup(rolloutId));

    public Task UnwatchRollout(Guid rolloutId) =>
        Groups.RemoveFromGroupAsync(Context.ConnectionId, LiveHubContract.RolloutGroup(rolloutId));
}
