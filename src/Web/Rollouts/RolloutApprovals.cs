using System.Security.Claims;
using DeployDeck.Domain.Rollouts;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Jobs;
using DeployDeck.Web.Auth;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace DeployDeck.Web.Rollouts;

public sealed class ApprovalOptions
{
    public const string Section = "Approvals";

    /// <summary>Four eyes: whoever started a rollout cannot approve its promotions.</summary>
    public bool FourEyes { get; set; }
}

/// <summary>
/// Promotes a rollout waiting for an Approver. The state change is one conditional UPDATE, so of any number of
/// simultaneous approvals exactly one promotes; the others are told it happened already.
/// </summary>
public sealed class RolloutApprovals(
    IDbContextFactory<DeployDeckDbContext> dbFactory, IBackgroundJobClient jobs, IOptions<ApprovalOptions> options, TimeProvider time, ILogger<RolloutApprovals> logger)
{
    public async Task<LaunchRefusal?> ApproveAsync(Guid rolloutId, ClaimsPrincipal user, string? comment, CancellationToken ct)
    {
        if (LaunchRefusal.ForText("comment", comment) is { } invalid)
            return invalid;
        if (!user.IsInRole(Roles.Approver) && !user.IsInRole(Roles.Admin))
            return new(StatusCodes.Status403Forbidden, "Not allowed", "Approving a promotion needs the Approver role.");
        var who = user.Identity?.Name ?? "unknown";

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var rollout = await db.Rollouts.AsNoTracking().Include(r => r.Phases).FirstOrDefaultAsync(r => r.Id == rolloutId, ct);
        if (rollout is null)
            return new(StatusCodes.Status404NotFound, "Unknown rollout", $"There is no rollout {rolloutId}.");
        if (rollout.State != RolloutState.AwaitingApproval)
            return new(StatusCodes.Status409Conflict, "Not waiting for approval", $"Rollout {rolloutId} is {rollout.State}: there is nothing to approve.");
        if (options.Value.FourEyes && string.Equals(rollout.StartedBy, who, StringComparison.OrdinalIgnoreCase))
            return new(StatusCodes.Status403Forbidden, "Four eyes", $"{who} started this rollout; another Approver must approve its promotion.");

        var next = rollout.Phases.OrderBy(p => p.Index).ElementAtOrDefault(rollout.CurrentPhase)?.Name ?? $"phase {rollout.CurrentPhase + 1}";
        var passed = rollout.Phases.OrderBy(p => p.Index).ElementAtOrDefault(rollout.CurrentPhase - 1)?.Name;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var promoted = await db.Rollouts
            .Where(r => r.Id == rolloutId && r.State == RolloutState.AwaitingApproval && r.CurrentPhase == rollout.CurrentPhase)
            .ExecuteUpdateAsync(u => u.SetProperty(r => r.State, RolloutState.Running), ct);
        if (promoted == 0)
            return new(StatusCodes.Status409Conflict, "Already approved", $"The promotion to '{next}' was approved by someone else a moment ago.");

        var now = time.GetUtcNow();
        var note = string.IsNullOrWhiteSpace(comment) ? "" : $": {comment.Trim()}";
        db.RolloutEvents.Add(new RolloutEvent
        {
            RolloutId = rolloutId, At = now, Kind = "phase.approved", Phase = passed, Actor = who,
            Key = $"phase:{rollout.CurrentPhase - 1}:approved", Message = $"{who} approved the promotion to '{next}'{note}",
        });
        Audit.AuditTrail.Add(db, now, who, Audit.AuditActions.RolloutApproved, $"rollout {rolloutId}", $"promotion to {next}{note}");
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);

        jobs.Enqueue<IRolloutJobs>(j => j.DriveAsync(rolloutId, CancellationToken.None));
        logger.LogInformation("Rollout {RolloutId}: promotion to {Phase} approved by {User}", rolloutId, next, who);
        return null;
    }
}
