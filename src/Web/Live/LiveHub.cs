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
public sealed class LiveHub(RolloutBroadcaster broadcaster) : Hub
{
    [Authorize(Roles = LiveHubContract.WorkerRole)]
    public async Task PublishRolloutEvent(RolloutEventMessage message)
    {
        broadcaster.Publish(message);
        await Clients.Group(LiveHubContract.RolloutGroup(message.RolloutId)).SendAsync(LiveHubContract.RolloutEvent, message);
    }

    public Task WatchRollout(Guid rolloutId) =>
        Groups.AddToGroupAsync(Context.ConnectionId, LiveHubContract.RolloutGroup(rolloutId));

    public Task UnwatchRollout(Guid rolloutId) =>
        Groups.RemoveFromGroupAsync(Context.ConnectionId, LiveHubContract.RolloutGroup(rolloutId));
}
