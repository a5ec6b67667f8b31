using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using DeployDeck.Infrastructure.Live;

namespace DeployDeck.Web.Live;

/// <summary>
/// Hands rollout events from the hub to the Blazor circuits watching them. Each subscriber has its own
/// bounded channel, so a slow page drops old events instead of holding up the hub.
/// </summary>
public sealed class RolloutBroadcaster
{
    private readonly ConcurrentDictionary<Guid, Channel<RolloutEventMessage>> _subscribers = new();
    private readonly Wakeups<Guid> _waiters = new();

    public int SubscriberCount => _subscribers.Count;

    public void Publish(RolloutEventMessage message)
    {
        foreach (var channel in _subscribers.Values)
            channel.Writer.TryWrite(message);
        if (message.Kind != Domain.Rollouts.RolloutEventKinds.PullProgress) // live only: the record did not change
            _waiters.Wake(message.RolloutId);
    }

    /// <summary>A wake-up for the next event of one rollout, for a reader that then asks the database (the record) what changed.</summary>
    public Wakeups<Guid>.Wait WaitFor(Guid rolloutId) => _waiters.For(rolloutId);

    /// <summary>Events of one rollout (or of all, when <paramref name="rolloutId"/> is null) until cancelled.</summary>
    public async IAsyncEnumerable<RolloutEventMessage> SubscribeAsync(Guid? rolloutId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var id = Guid.NewGuid();
        var channel = Channel.CreateBounded<RolloutEventMessage>(new BoundedChannelOptions(256)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
        _subscribers[id] = channel;
        try
        {
            await foreach (var message in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                if (rolloutId is null || message.RolloutId == rolloutId)
                    yield return message;
            }
        }
        finally
        {
            _subscribers.TryRemove(id, out _);
        }
    }
}
