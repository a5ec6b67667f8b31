using System.Security.Claims;
using DeployDeck.Domain.Hosts;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Rollouts;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Engine;
using DeployDeck.Infrastructure.Jobs;
using DeployDeck.Infrastructure.Preflight;
using DeployDeck.Web.Auth;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace DeployDeck.Web.Rollouts;

/// <summary>Why a rollout was not started, as an HTTP status and a sentence for the user.</summary>
/// <param name="CanAcknowledge">The host is YELLOW: an Approver may start it anyway, giving a reason.</param>
public sealed record LaunchRefusal(int Status, string Title, string Detail, bool CanAcknowledge = false)
{
    /// <summary>The text rules for what a page sends directly (the API's filter checks it before): a refusal naming the field, or null.</summary>
    public static LaunchRefusal? ForText(string field, string? value) =>
        value is not null && Domain.Input.TextRules.Problem(value, Domain.Input.TextRules.For(field)) is { } reason
            ? new LaunchRefusal(400, "Invalid request", $"{field}: {reason}")
            : null;
}

/// <summary>
/// Starts a rollout for the UI and the API alike: checks the caller's role, the plan and the host, records the
/// rollout with its pinned revision, and enqueues the job that drives it.
/// </summary>
public sealed class RolloutLauncher(
    IDbContextFactory<DeployDeckDbContext> dbFactory,
    IBackgroundJobClient jobs,
    PreflightRunner preflight,
    ProjectReconciler reconciler,
    EngineConnections engines,
    TimeProvider time,
    ILogger<RolloutLauncher> logger)
{
    /// <param name="acknowledgement">An Approver's reason to start on a YELLOW host.</param>
    /// <param name="forceRecreate">Recreate every service, even those the host runs unchanged.</param>
    public async Task<(Guid? RolloutId, LaunchRefusal? Refusal)> StartAsync(Guid planId, Guid hostId, ClaimsPrincipal user, CancellationToken cancellationToken,
        string? acknowledgement = null, bool forceRecreate = false)
    {
        if (LaunchRefusal.ForText("acknowledgement", acknowledgement) is { } invalid)
            return (null, invalid);
        if (!user.IsInRole(Roles.Operator) && !user.IsInRole(Roles.Admin))
            return (null, new(StatusCodes.Status403Forbidden, "Not allowed", "Starting a rollout needs the Operator role."));

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var plan = await db.Plans.AsNoTracking().FirstOrDefaultAsync(p => p.Id == planId, cancellationToken);
        if (plan is null)
            return (null, new(StatusCodes.Status404NotFound, "Unknown plan", $"There is no plan {planId}."));
        var host = await db.Hosts.AsNoTracking().InService().FirstOrDefaultAsync(h => h.Id == hostId, cancellationToken);
        if (host is null)
            return (null, new(StatusCodes.Status404NotFound, "Unknown host", $"There is no host {hostId}."));
        var revision = await db.PlanRevisions.AsNoTracking().Where(r => r.PlanId == planId)
            .OrderByDescending(r => r.Number).FirstOrDefaultAsync(cancellationToken);
        if (revision is null)
            return (null, new(StatusCodes.Status409Conflict, "Empty plan", $"Plan '{plan.Name}' has no revision yet."));

        var spec = revision.ToSpec();
        var errors = PlanValidation.Validate(spec).Where(i => i.Severity == Severity.Error).ToList();
        if (errors.Count > 0)
            return (null, new(StatusCodes.Status422UnprocessableEntity, "The plan is not valid", string.Join("; ", errors)));

        var active = await db.Rollouts.AsNoTracking()
            .Where(r => r.HostId == hostId && ActiveStates.Contains(r.State))
            .Select(r => new { r.Id, r.State }).FirstOrDefaultAsync(cancellationToken);
        if (active is not null)
            return (null, BusyHost(host.Name, active.Id));

        // ALWAYS RUN FIRST: the host check and the admission forecast of every phase, before anything is recorded or started.
        // What each service needs, from what the host runs now (stored on the record, carried out by the Worker), comes
        // with it: a service kept as it runs adds no container to the host.
        PreflightResult check;
        try
        {
            var reconcile = await reconciler.PlanAsync(host, plan.ProjectName, spec, forceRecreate, cancellationToken);
            check = await preflight.ForecastAsync(spec, planId, host, 0, cancellationToken, reconcile);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && EngineProblem.Of(ex, cancellationToken) is { } problem)
        {
            logger.LogWarning("Host check of {Host} failed: {Reason}", host.Name, problem.Reason);
            await HostStatus.UnreachableAsync(dbFactory, host.Id, time.GetUtcNow(), problem.Reason, CancellationToken.None);
            return (null, new(problem.Status, "Host check failed", $"The engine of host '{host.Name}' did not answer the host check: {problem.Reason}"));
        }

        if (check.Refusal is { } refusal)
            return (null, new(StatusCodes.Status409Conflict, "Preflight refused", $"Not started: {refusal}."));
        try
        {
            if (await ProjectCheck.RefusalAsync(engines.For(host).Engine, new Domain.Engine.ProjectLayout(plan.ProjectName, spec, plan.ProjectDirectory), spec, plan.ProjectDirectory, cancellationToken) is { } missing)
                return (null, new(StatusCodes.Status409Conflict, "The project is not ready on the host", $"Not started: {missing}."));
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && EngineProblem.Of(ex, cancellationToken) is { } problem)
        {
            return (null, new(problem.Status, "Host check failed", $"The engine of host '{host.Name}' did not answer the project check: {problem.Reason}"));
        }

        var who = user.Identity?.Name ?? "unknown";
        var reason = acknowledgement?.Trim();
        if (check.NeedsAcknowledgement)
        {
            if (string.IsNullOrEmpty(reason))
            {
                return (null, new(StatusCodes.Status409Conflict, "Host is YELLOW",
                    $"Host '{host.Name}' is YELLOW ({check.Verdict.Summary}). An Approver may start anyway with a reason (\"acknowledgement\").", CanAcknowledge: true));
            }

            if (!user.IsInRole(Roles.Approver) && !user.IsInRole(Roles.Admin))
                return (null, new(StatusCodes.Status403Forbidden, "Not allowed", $"Host '{host.Name}' is YELLOW ({check.Verdict.Summary}); only an Approver can acknowledge it."));
            if (reason.Length is < 5 or > 1000)
                return (null, new(StatusCodes.Status400BadRequest, "Reason needed", "Acknowledging a YELLOW host needs a reason of 5 to 1000 characters."));
        }

        var now = time.GetUtcNow();
        var rollout = new Rollout
        {
            Preflight = check,
            AcknowledgedBy = check.NeedsAcknowledgement ? who : null,
            Acknowledgement = check.NeedsAcknowledgement ? reason : null,
            PlanId = planId,
            PlanRevisionId = revision.Id,
            HostId = hostId,
            State = RolloutState.Queued,
            StartedBy = who,
            CreatedAt = now,
            Phases = spec.Phases.Select((p, i) => new RolloutPhase { Index = i, Name = p.Name, State = PhaseState.Pending }).ToList(),
            Services = spec.Phases.SelectMany((p, i) => p.Services.Select(s => new RolloutService
            {
                PhaseIndex = i,
                Name = s.Name,
                State = ServiceState.Pending,
                UpdatedAt = now,
            })).ToList(),
            Events =
            [
                new RolloutEvent
                {
                    At = now,
                    Kind = "rollout.queued",
                    Actor = who,
                    Key = "rollout:queued",
                    Message = $"{who} started plan '{plan.Name}' revision {revision.Number} on host '{host.Name}'",
                },
                new RolloutEvent
                {
                    At = now,
                    Kind = check.NeedsAcknowledgement ? "preflight.acknowledged" : "preflight.passed",
                    Actor = who,
                    Key = "preflight:0",
                    Message = check.NeedsAcknowledgement
                        ? $"Host {check.Verdict.Overall.ToString().ToUpperInvariant()} ({check.Verdict.Summary}) acknowledged by {who}: {reason}"
                        : $"Host GREEN ({check.Verdict.Summary}); every phase fits: peak {Peak(check)}",
                },
                new RolloutEvent
                {
                    At = now,
                    Kind = RolloutEventKinds.ReconcilePlanned,
                    Actor = who,
                    Key = "reconcile:planned",
                    Message = $"Reconcile plan: {check.Reconcile!.Summary}{(forceRecreate ? $" (recreate forced by {who})" : "")}",
                },
            ],
        };
        if (check.NeedsAcknowledgement)
            Audit.AuditTrail.Add(db, now, who, Audit.AuditActions.YellowAcknowledged, $"host {host.Name}", $"{check.Verdict.Summary}; reason: {reason}");
        Audit.AuditTrail.Add(db, now, who, Audit.AuditActions.RolloutStarted, $"rollout {rollout.Id}", $"plan '{plan.Name}' revision {revision.Number} on host '{host.Name}'");
        if (forceRecreate)
            Audit.AuditTrail.Add(db, now, who, Audit.AuditActions.RecreateForced, $"rollout {rollout.Id}", $"every service of plan '{plan.Name}' recreated on host '{host.Name}'");
        db.Rollouts.Add(rollout);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException ex) when (ex.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
        {
            return (null, BusyHost(host.Name, null)); // another start won the race for this host
        }

        jobs.Enqueue<IRolloutJobs>(j => j.DriveAsync(rollout.Id, CancellationToken.None));
        logger.LogInformation("Rollout {RolloutId} of plan {Plan} rev {Revision} on host {Host} queued by {User}", rollout.Id, plan.Name, revision.Number, host.Name, who);
        return (rollout.Id, null);
    }

    private static string Peak(PreflightResult check) =>
        check.Forecast?.Phases.Max(p => p.PredictedPeak) is { } peak ? $"{new Domain.Units.MemorySize(peak)} of {new Domain.Units.MemorySize(check.Signals.MemoryTotalBytes)}" : "unknown";

    /// <summary>States in which a rollout holds its host: one such rollout per host.</summary>
    public static readonly RolloutState[] ActiveStates =
        [RolloutState.Queued, RolloutState.Running, RolloutState.AwaitingApproval, RolloutState.Paused, RolloutState.RollingBack];

    private static LaunchRefusal BusyHost(string host, Guid? active) => new(
        StatusCodes.Status409Conflict,
        "Host busy",
        $"Host '{host}' already has a rollout in progress{(active is null ? "" : $" ({active})")}; one rollout per host at a time.");
}
