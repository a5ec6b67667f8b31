using System.Collections.Concurrent;
using System.Net;

namespace DeployDeck.Web.Auth;

/// <summary>
/// Counts failed sign-ins per client address in a sliding window and refuses further attempts from an address
/// over the limit. Only failures count, so scripts that sign in correctly are never slowed down; together with
/// Identity's per-account lockout this bounds password guessing from one place and against one account.
/// </summary>
public sealed class FailedLoginThrottle(TimeProvider time, IConfiguration configuration)
{
    private readonly ConcurrentDictionary<string, Queue<DateTimeOffset>> _failures = new();
    private readonly int _limit = configuration.GetValue("Auth:FailedLoginsPerWindow", 10);
    private readonly TimeSpan _window = configuration.GetValue("Auth:FailedLoginWindow", TimeSpan.FromMinutes(5));

    /// <summary>How long the address must wait, or null when it may try.</summary>
    public TimeSpan? RetryAfter(IPAddress? address)
    {
        if (!_failures.TryGetValue(Key(address), out var failures))
            return null;
        lock (failures)
        {
            Trim(failures);
            return failures.Count < _limit ? null : failures.Peek() + _window - time.GetUtcNow();
        }
    }

    public void RecordFailure(IPAddress? address)
    {
        var failures = _failures.GetOrAdd(Key(address), _ => new Queue<DateTimeOffset>());
        lock (failures)
        {
            Trim(failures);
            failures.Enqueue(time.GetUtcNow());
        }
    }

    private void Trim(Queue<DateTimeOffset> failures)
    {
        var cutoff = time.GetUtcNow() - _window;
        while (failures.Count > 0 && failures.Peek() < cutoff)
            failures.Dequeue();
    }

    private static string Key(IPAddress? address) => address?.ToString() ?? "unknown";

    public static string Message(TimeSpan wait) =>
        $"Too many failed sign-ins from your address; try again in {Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds))} s.";
}
