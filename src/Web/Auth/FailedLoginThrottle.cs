using System.Collections.Concurrent;
using System.Net;

namespace DeployDeck.Web.Auth;

/// <summary>
/// Counts failed sign-ins in a sliding window per client address and per user name, and refuses attempts over either
/// limit. The user name is counted whether or not such a user exists, so a throttled name tells nobody who exists;
/// only failures count, so scripts that sign in correctly are never slowed down; and nothing here touches API tokens,
/// so an attacker who guesses at an account cannot stop that account's CI pipelines (Identity's lockout did).
/// The client address is the connection's, or the one a configured proxy forwarded (see ProxyOptions): never a header
/// anyone can send.
/// </summary>
public sealed class FailedLoginThrottle(TimeProvider time, IConfiguration configuration)
{
    /// <summary>Names are tracked once failed; past this many the stale ones are dropped, so random names cannot fill the memory.</summary>
    private const int PruneAbove = 10_000;

    private readonly ConcurrentDictionary<string, Queue<DateTimeOffset>> _failures = new(StringComparer.Ordinal);
    private readonly int _perClient = configuration.GetValue("Auth:FailedLoginsPerWindow", 10);
    private readonly int _perUser = configuration.GetValue("Auth:FailedLoginsPerUser", 5);
    private readonly TimeSpan _window = configuration.GetValue("Auth:FailedLoginWindow", TimeSpan.FromMinutes(5));

    /// <summary>How long the client, or anyone signing in as this user name, must wait; null when they may try.</summary>
    public TimeSpan? RetryAfter(IPAddress? client, string? username)
    {
        var waits = new[] { Wait(ClientKey(client), _perClient), username is null ? null : Wait(UserKey(username), _perUser) };
        return waits.Max();
    }

    public void RecordFailure(IPAddress? client, string? username)
    {
        Record(ClientKey(client));
        if (username is not null)
            Record(UserKey(username));
        if (_failures.Count > PruneAbove)
            Prune();
    }

    /// <summary>Whether sign-ins as this name are refused now (shown to Admins on the users page).</summary>
    public bool IsThrottled(string username) => Wait(UserKey(username), _perUser) is not null;

    private TimeSpan? Wait(string key, int limit)
    {
        if (!_failures.TryGetValue(key, out var failures))
            return null;
        lock (failures)
        {
            Trim(failures);
            return failures.Count < limit ? null : failures.ElementAt(failures.Count - limit) + _window - time.GetUtcNow();
        }
    }

    private void Record(string key)
    {
        var failures = _failures.GetOrAdd(key, _ => new Queue<DateTimeOffset>());
        lock (failures)
        {
            Trim(failures);
            failures.Enqueue(time.GetUtcNow());
        }
    }

    private void Prune()
    {
        foreach (var (key, failures) in _failures)
        {
            lock (failures)
            {
                Trim(failures);
                if (failures.Count == 0)
                    _failures.TryRemove(key, out _);
            }
        }
    }

    private void Trim(Queue<DateTimeOffset> failures)
    {
        var cutoff = time.GetUtcNow() - _window;
        while (failures.Count > 0 && failures.Peek() < cutoff)
            failures.Dequeue();
    }

    private static string ClientKey(IPAddress? address) => "client:" + (address is { IsIPv4MappedToIPv6: true } ? address.MapToIPv4() : address)?.ToString();

    /// <summary>Case and surrounding spaces do not make another name (Identity finds users by the normalised name too).</summary>
    private static string UserKey(string username) => "user:" + username.Trim().ToUpperInvariant();

    public static string Message(TimeSpan wait) =>
        $"Too many failed sign-ins for this user name or from your address; try again in {Seconds(wait)} s.";

    public static int Seconds(TimeSpan wait) => Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
}
