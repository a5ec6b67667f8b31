using Hangfire;

namespace DeployDeck.Infrastructure.Jobs;

/// <summary>
/// Work the Worker's Hangfire server carries out. Web enqueues against this interface only;
/// arguments are ids, never entities, because a job may run again (at-least-once).
/// </summary>
public interface IRolloutJobs
{
    /// <summary>Drives a rollout from wherever it stands to its next resting state.</summary>
    /// <remarks>
    /// Few retries, spaced out: a drive that failed for a passing reason resumes level-wise; one that keeps failing
    /// must surface, not be retried ten times over an hour (Hangfire's default).
    /// </remarks>
    [AutomaticRetry(Attempts = 3, DelaysInSeconds = [5, 15, 30])]
    [Queue(JobQueues.Rollouts)]
    Task DriveAsync(Guid rolloutId, CancellationToken cancellationToken);
}

/// <summary>Fleet rollouts: the sequencing of many hosts' rollouts, run by the Worker; each host's rollout is its own <see cref="IRolloutJobs"/> job.</summary>
public interface IFleetJobs
{
    /// <summary>Starts the fleet's waves in turn and watches their rollouts until the fleet ends; re-entrant, level-wise.</summary>
    [AutomaticRetry(Attempts = 3, DelaysInSeconds = [5, 15, 30])]
    [Queue(JobQueues.Rollouts)]
    Task DriveAsync(Guid fleetRolloutId, CancellationToken cancellationToken);
}

public static class JobQueues
{
    public const string Rollouts = "rollouts";
    public const string Default = "default";
}

/// <summary>Webhook deliveries, run by the Worker. The argument is the delivery's id; the body was fixed when it was created.</summary>
public interface IWebhookJobs
{
    /// <summary>POSTs the delivery's payload, signed; records the attempt; throws on a non-2xx answer so Hangfire retries with backoff.</summary>
    /// <remarks>Delays 10 s, 30 s, 1.5 min, 5 min, 15 min (Domain.History.WebhookEvents.RetryDelaysSeconds): a receiver down for a deploy catches up; one down for good stops being called within the half hour.</remarks>
    [AutomaticRetry(Attempts = 5, DelaysInSeconds = [10, 30, 90, 300, 900], OnAttemptsExceeded = AttemptsExceededAction.Fail)]
    [Queue(JobQueues.Default)]
    Task DeliverAsync(long deliveryId, CancellationToken cancellationToken);
}
