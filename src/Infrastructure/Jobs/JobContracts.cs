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

public static class JobQueues
{
    public const string Rollouts = "rollouts";
    public const string Default = "default";
}
