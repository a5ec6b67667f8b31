using System.Security.Claims;
using DeployDeck.Domain.Rollouts;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Jobs;
using DeployDeck.Web.Auth;
using Hangfire;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Web.Rollouts;

/// <summary>
/// An Operator's decision on a rollout paused after a failed phase: run that phase again (its failed containers,
/// kept for a look, are removed first). The other decision is an abort, which rolls back.
/// </summary>
public sealed class RolloutResumes(IDbContextFactory<DeployDeckDbContext> dbFactory, IBackgroundJobClient jobs, TimeProvider time, ILogger<RolloutResumes> logger)
{
    public async Task<LaunchRefusal?> ResumeAsync(Guid rolloutId, ClaimsPrincipal user, string? reason, CancellationToken ct)
    {
        if (LaunchRefusal.ForText("reason", reason) is { } invalid)
            return invalid;
        if (!user.IsInRole(Roles.Operator) && !user.IsInRole(Roles.Admin))
            return new(StatusCodes.Status403Forbidden, "Not allowed", "Resuming a rollout needs the Operator role.");
        var who = user.Identity?.Name ?? "unknown";
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var rollout = await db.Rollouts.AsNoTracking().Include(r => r.Phases).FirstOrDefaultAsync(r => r.Id == rolloutId, ct);
        if (rollout is null)
            return new(StatusCodes.Status404NotFound, "Unknown rollout", $"There is no rollout {rolloutId}.");
        if (rollout.State != RolloutState.Paused)
            return new(StatusCodes.Status409Conflict, "Not paused", $"Rollout {rolloutId} is {rollout.State}: only a paused rollout can be resumed.");
        if (rollout.AbortRequestedBy is not null)
            return new(StatusCodes.Status409Conflict, "Aborting", $"{rollout.AbortRequestedBy} aborted rollout {rolloutId}; it is rolling back.");

        var phase = rollout.Phases.FirstOrDefault(p => p.Index == rollout.CurrentPhase)?.Name;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var resumed = await db.Rollouts
            .Where(r => r.Id == rolloutId && r.State == RolloutState.Paused && r.AbortRequestedBy == null)
            .ExecuteUpdateAsync(u => u.SetProperty(r => r.State, RolloutState.Running).SetProperty(r => r.Error, (string?)null), ct);
        if (resumed == 0)
            return new(StatusCodes.Status409Conflict, "Already resumed", $"Rollout {rolloutId} was resumed or aborted by someone else a moment ago.");

        var now = time.GetUtcNow();
        var attempt = 2 + await db.RolloutEvents.CountAsync(e => e.RolloutId == rolloutId && e.Kind == RolloutEventKinds.Resumed && e.Phase == phase, ct);
        var note = string.IsNullOrWhiteSpace(reason) ? "" : $": {reason.Trim()}";
        db.RolloutEvents.Add(new RolloutEvent
        {
            RolloutId = rolloutId, At = now, Kind = RolloutEventKinds.Resumed, Phase = phase, Actor = who,
            Key = $"rollout:resumed:{phase}:{attempt}", Message = $"{who} resumed the rollout{note}; phase '{phase}' runs again (attempt {attempt})",
        });
        Audit.AuditTrail.Add(db, now, who, Audit.AuditActions.RolloutResumed, $"rollout {rolloutId}", $"phase {phase}, attempt {attempt}{note}");
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);

        jobs.Enqueue<IRolloutJobs>(j => j.DriveAsync(rolloutId, CancellationToken.None));
        logger.LogInformation("Rollout {RolloutId}: resumed by {User}, phase {Phase} attempt {Attempt}", rolloutId, who, phase, attempt);
        return null;
    }
}
