using System.Security.Claims;
using DeployDeck.Domain.Rollouts;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Jobs;
using DeployDeck.Web.Auth;
using Hangfire;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Web.Rollouts;

/// <summary>
/// An Operator's abort: recorded at once (one conditional update, so it is requested once), carried out by the Worker
/// at its next safe point — between services, between soak checks, before a phase — by rolling back.
/// </summary>
public sealed class RolloutAborts(IDbContextFactory<DeployDeckDbContext> dbFactory, IBackgroundJobClient jobs, TimeProvider time, ILogger<RolloutAborts> logger)
{
    public async Task<LaunchRefusal?> AbortAsync(Guid rolloutId, ClaimsPrincipal user, string? reason, CancellationToken ct)
    {
        if (LaunchRefusal.ForText("reason", reason) is { } invalid)
            return invalid;
        if (!user.IsInRole(Roles.Operator) && !user.IsInRole(Roles.Admin))
            return new(StatusCodes.Status403Forbidden, "Not allowed", "Aborting a rollout needs the Operator role.");
        var who = user.Identity?.Name ?? "unknown";
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var rollout = await db.Rollouts.AsNoTracking().FirstOrDefaultAsync(r => r.Id == rolloutId, ct);
        if (rollout is null)
            return new(StatusCodes.Status404NotFound, "Unknown rollout", $"There is no rollout {rolloutId}.");
        if (RolloutStateMachine.IsFinal(rollout.State) || rollout.State == RolloutState.RollingBack)
            return new(StatusCodes.Status409Conflict, "Nothing to abort", $"Rollout {rolloutId} is {rollout.State}.");

        var now = time.GetUtcNow();
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var requested = await db.Rollouts
            .Where(r => r.Id == rolloutId && r.AbortRequestedBy == null && RolloutLauncher.ActiveStates.Contains(r.State) && r.State != RolloutState.RollingBack)
            .ExecuteUpdateAsync(u => u.SetProperty(r => r.AbortRequestedBy, who).SetProperty(r => r.AbortRequestedAt, now), ct);
        if (requested == 0)
            return new(StatusCodes.Status409Conflict, "Already aborting", $"An abort of rollout {rolloutId} was requested already.");
        var note = string.IsNullOrWhiteSpace(reason) ? "" : $": {reason.Trim()}";
        db.RolloutEvents.Add(new RolloutEvent { RolloutId = rolloutId, At = now, Kind = "rollout.abort-requested", Actor = who, Key = "rollout:abort-requested", Message = $"{who} aborted the rollout{note}; it stops at the next safe point and rolls back" });
        Audit.AuditTrail.Add(db, now, who, Audit.AuditActions.RolloutAborted, $"rollout {rolloutId}", reason);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);

        // A rollout that waits (approval, pause, queue) has no job running: one is needed to carry the abort out.
        jobs.Enqueue<IRolloutJobs>(j => j.DriveAsync(rolloutId, CancellationToken.None));
        logger.LogInformation("Rollout {RolloutId}: abort requested by {User}", rolloutId, who);
        return null;
    }
}
