using System.Security.Claims;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Rollouts;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Jobs;
using DeployDeck.Web.Api;
using DeployDeck.Web.Auth;
using DeployDeck.Web.Rollouts;
using Hangfire;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace DeployDeck.Web.Fleet;

/// <param name="ApproveWaves">Each wave after the canary starts only when an Approver approves it.</param>
public sealed record FleetRolloutRequest(Guid? PlanId, IReadOnlyList<Guid>? HostIds, int? WaveSize, FleetFailurePolicy? OnHostFailure, bool? ApproveWaves = null);

public sealed record FleetHostRollout(Guid HostId, Guid Id);

public sealed record FleetRolloutCreated(Guid Id, IReadOnlyList<FleetHostRollout> Rollouts);

public sealed record FleetHostView(Guid HostId, string Host, int Wave, Guid RolloutId, string RolloutState, int CurrentPhase, int Phases, string? CurrentPhaseName,
    bool Started, DateTimeOffset? RolledBackAt, string? Error);

public sealed record FleetRolloutView(Guid Id, Guid PlanId, string Plan, int Revision, string State, int WaveSize, FleetFailurePolicy OnHostFailure, string StartedBy,
    DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, string? Error, string? AbortRequestedBy, IReadOnlyList<string> PhaseNames,
    IReadOnlyList<FleetHostView> Hosts)
{
    public bool ApproveWaves { get; init; }

    /// <summary>The last wave allowed to start, counted from 0 as each host's <c>wave</c> is (0: the canary only).</summary>
    public int ApprovedThroughWave { get; init; }

    public string? ApprovedBy { get; init; }

    public DateTimeOffset? ApprovedAt { get; init; }

    /// <summary>The first wave not started yet — the one an approval lets go; null once every host started.</summary>
    public int? NextWave => Hosts.Where(h => !h.Started).Select(h => (int?)h.Wave).Min();
}

/// <summary>
/// Starts a fleet rollout: one plan revision to many hosts in waves of <c>waveSize</c>, the first wave the canary. Every
/// host's rollout is recorded at once (queued, so each host is held for the fleet) and the fleet job starts them wave by
/// wave; each runs its own phases, admission and gates on its host's engine.
/// </summary>
public sealed class FleetLauncher(
    IDbContextFactory<DeployDeckDbContext> dbFactory, IBackgroundJobClient jobs, IOptions<ApprovalOptions> approvals, TimeProvider time, ILogger<FleetLauncher> logger)
{
    public async Task<(FleetRolloutCreated? Created, ProblemHttpResult? Problem)> StartAsync(FleetRolloutRequest request, ClaimsPrincipal user, CancellationToken ct)
    {
        if (!user.IsInRole(Roles.Operator) && !user.IsInRole(Roles.Admin))
            return (null, ApiResults.Problem(403, "Not allowed", "Starting a fleet rollout needs the Operator role."));
        if (request.PlanId is not { } planId)
            return (null, ApiResults.Problem(400, "No plan", "Send {\"planId\": \"…\", \"hostIds\": [\"…\", \"…\"], \"waveSize\": 1, \"onHostFailure\": \"stop\"}."));
        var hostIds = request.HostIds ?? [];
        if (hostIds.Count is 0 or > 200 || hostIds.Distinct().Count() != hostIds.Count)
            return (null, ApiResults.Problem(400, "Hosts needed", "\"hostIds\" lists 1 to 200 different hosts."));
        var waveSize = request.WaveSize ?? 1;
        if (waveSize < 1 || waveSize > hostIds.Count)
            return (null, ApiResults.Problem(400, "Wave size not valid", $"\"waveSize\" is from 1 to the number of hosts ({hostIds.Count})."));

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var plan = await db.Plans.AsNoTracking().FirstOrDefaultAsync(p => p.Id == planId, ct);
        if (plan is null)
            return (null, ApiResults.Problem(404, "Unknown plan", $"There is no plan {planId}."));
        var revision = await db.PlanRevisions.AsNoTracking().Where(r => r.PlanId == planId).OrderByDescending(r => r.Number).FirstOrDefaultAsync(ct);
        if (revision is null)
            return (null, ApiResults.Problem(409, "Empty plan", $"Plan '{plan.Name}' has no revision yet."));
        var spec = revision.ToSpec();
        var errors = PlanValidation.Validate(spec).Where(i => i.Severity == Severity.Error).ToList();
        if (errors.Count > 0)
            return (null, ApiResults.Problem(422, "The plan is not valid", string.Join("; ", errors)));
        var hosts = await db.Hosts.AsNoTracking().InService().Where(h => hostIds.Contains(h.Id)).ToDictionaryAsync(h => h.Id, ct);
        if (hostIds.FirstOrDefault(id => !hosts.ContainsKey(id)) is var missing && missing != Guid.Empty)
            return (null, ApiResults.Problem(404, "Unknown host", $"There is no host {missing}."));
        var busy = await db.Rollouts.AsNoTracking().Where(r => hostIds.Contains(r.HostId) && RolloutLauncher.ActiveStates.Contains(r.State)).Select(r => r.HostId).ToListAsync(ct);
        if (busy.Count > 0)
            return (null, ApiResults.Problem(409, "Host busy", $"{string.Join(", ", busy.Select(b => $"'{hosts[b].Name}'"))} already has a rollout in progress; one rollout per host at a time."));

        var who = user.Identity?.Name ?? "unknown";
        var now = time.GetUtcNow();
        var policy = request.OnHostFailure ?? FleetFailurePolicy.Stop;
        var fleet = new FleetRollout
        {
            PlanId = planId, PlanRevisionId = revision.Id, WaveSize = waveSize, OnHostFailure = policy, ApproveWaves = request.ApproveWaves ?? false, State = FleetState.Queued,
            StartedBy = who, CreatedAt = now,
        };
        for (var i = 0; i < hostIds.Count; i++)
        {
            var host = hosts[hostIds[i]];
            var wave = FleetPlan.WaveOf(i, waveSize);
            var rollout = NewRollout(spec, planId, revision.Id, host.Id, who, now,
                $"{who} started plan '{plan.Name}' revision {revision.Number} on host '{host.Name}' as wave {wave + 1} of fleet rollout {fleet.Id}");
            rollout.FleetRolloutId = fleet.Id;
            rollout.KeepPrevious = policy == FleetFailurePolicy.RollBackAll;
            db.Rollouts.Add(rollout);
            fleet.Hosts.Add(new FleetHost { HostId = host.Id, Order = i, Wave = wave, RolloutId = rollout.Id });
        }

        db.FleetRollouts.Add(fleet);
        Audit.AuditTrail.Add(db, now, who, Audit.AuditActions.RolloutStarted, $"fleet rollout {fleet.Id}",
            $"plan '{plan.Name}' revision {revision.Number} on {hostIds.Count} host(s) in waves of {waveSize}, on host failure {policy}{(fleet.ApproveWaves ? ", each wave after the first approved" : "")}");
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException ex) when (ex.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
        {
            return (null, ApiResults.Problem(409, "Host busy", "A host of the fleet got another rollout a moment ago; one rollout per host at a time."));
        }

        jobs.Enqueue<IFleetJobs>(j => j.DriveAsync(fleet.Id, CancellationToken.None));
        logger.LogInformation("Fleet rollout {FleetId} of plan {Plan} on {Hosts} host(s) queued by {User}", fleet.Id, plan.Name, hostIds.Count, who);
        return (new FleetRolloutCreated(fleet.Id, fleet.Hosts.OrderBy(h => h.Order).Select(h => new FleetHostRollout(h.HostId, h.RolloutId)).ToList()), null);
    }

    /// <summary>A host's rollout as the single-host launcher records it: queued, its phases and services pending.</summary>
    private static Rollout NewRollout(PlanSpec spec, Guid planId, Guid revisionId, Guid hostId, string who, DateTimeOffset now, string message) => new()
    {
        PlanId = planId,
        PlanRevisionId = revisionId,
        HostId = hostId,
        State = RolloutState.Queued,
        StartedBy = who,
        CreatedAt = now,
        Phases = spec.Phases.Select((p, i) => new RolloutPhase { Index = i, Name = p.Name, State = PhaseState.Pending }).ToList(),
        Services = spec.Phases.SelectMany((p, i) => p.Services.Select(s => new RolloutService { PhaseIndex = i, Name = s.Name, State = ServiceState.Pending, UpdatedAt = now })).ToList(),
        Events = [new RolloutEvent { At = now, Kind = "rollout.queued", Actor = who, Key = "rollout:queued", Message = message }],
    };

    public async Task<ProblemHttpResult?> AbortAsync(Guid id, string? reason, ClaimsPrincipal user, CancellationToken ct)
    {
        if (LaunchRefusal.ForText("reason", reason) is { } invalid)
            return ApiResults.Problem(invalid.Status, invalid.Title, invalid.Detail);
        if (!user.IsInRole(Roles.Operator) && !user.IsInRole(Roles.Admin))
            return ApiResults.Problem(403, "Not allowed", "Aborting needs the Operator role.");
        var who = user.Identity?.Name ?? "unknown";
        var now = time.GetUtcNow();
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var changed = await db.FleetRollouts.Where(f => f.Id == id && f.AbortRequestedBy == null && (f.State == FleetState.Queued || f.State == FleetState.Running || f.State == FleetState.AwaitingApproval))
            .ExecuteUpdateAsync(u => u.SetProperty(f => f.AbortRequestedBy, who).SetProperty(f => f.AbortRequestedAt, now), ct);
        if (changed == 0)
        {
            return await db.FleetRollouts.AnyAsync(f => f.Id == id, ct)
                ? ApiResults.Problem(409, "Not running", "The fleet rollout has ended or an abort was asked for already.")
                : ApiResults.Problem(404, "Unknown fleet rollout", $"There is no fleet rollout {id}.");
        }

        Audit.AuditTrail.Add(db, now, who, Audit.AuditActions.RolloutAborted, $"fleet rollout {id}", reason);
        await db.SaveChangesAsync(ct);
        return null;
    }

    /// <summary>
    /// Lets the next wave of a fleet waiting for approval start. One conditional UPDATE: of simultaneous approvals exactly
    /// one raises the approved wave; each host of that wave records who approved it.
    /// </summary>
    public async Task<ProblemHttpResult?> ApproveWaveAsync(Guid id, string? comment, ClaimsPrincipal user, CancellationToken ct)
    {
        if (LaunchRefusal.ForText("comment", comment) is { } invalid)
            return ApiResults.Problem(invalid.Status, invalid.Title, invalid.Detail);
        if (!user.IsInRole(Roles.Approver) && !user.IsInRole(Roles.Admin))
            return ApiResults.Problem(403, "Not allowed", "Approving a fleet's next wave needs the Approver role.");
        var who = user.Identity?.Name ?? "unknown";
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var fleet = await db.FleetRollouts.AsNoTracking().Include(f => f.Hosts).FirstOrDefaultAsync(f => f.Id == id, ct);
        if (fleet is null)
            return ApiResults.Problem(404, "Unknown fleet rollout", $"There is no fleet rollout {id}.");
        if (fleet.State != FleetState.AwaitingApproval || fleet.AbortRequestedBy is not null)
            return ApiResults.Problem(409, "Not waiting for approval", $"Fleet rollout {id} is {fleet.State}: there is no wave to approve.");
        if (approvals.Value.FourEyes && string.Equals(fleet.StartedBy, who, StringComparison.OrdinalIgnoreCase))
            return ApiResults.Problem(403, "Four eyes", $"{who} started this fleet rollout; another Approver must approve its next wave.");

        var wave = fleet.Hosts.Where(h => !h.Started).Min(h => h.Wave);
        var now = time.GetUtcNow();
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var approved = await db.FleetRollouts.Where(f => f.Id == id && f.State == FleetState.AwaitingApproval && f.ApprovedThroughWave < wave)
            .ExecuteUpdateAsync(u => u.SetProperty(f => f.ApprovedThroughWave, wave).SetProperty(f => f.ApprovedBy, who).SetProperty(f => f.ApprovedAt, now), ct);
        if (approved == 0)
            return ApiResults.Problem(409, "Already approved", $"Wave {wave + 1} was approved by someone else a moment ago.");

        var note = string.IsNullOrWhiteSpace(comment) ? "" : $": {comment.Trim()}";
        foreach (var host in fleet.Hosts.Where(h => h.Wave == wave))
        {
            db.RolloutEvents.Add(new RolloutEvent
            {
                RolloutId = host.RolloutId, At = now, Kind = RolloutEventKinds.FleetWaveApproved, Actor = who, Key = "fleet:wave-approved",
                Message = $"{who} approved wave {wave + 1} of fleet rollout {id}{note}",
            });
        }

        Audit.AuditTrail.Add(db, now, who, Audit.AuditActions.RolloutApproved, $"fleet rollout {id}", $"wave {wave + 1}{note}");
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        logger.LogInformation("Fleet rollout {FleetId}: wave {Wave} approved by {User}", id, wave + 1, who);
        return null;
    }

    public async Task<FleetRolloutView?> ViewAsync(Guid id, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var fleet = await db.FleetRollouts.AsNoTracking().Include(f => f.Hosts).FirstOrDefaultAsync(f => f.Id == id, ct);
        if (fleet is null)
            return null;
        var revision = await db.PlanRevisions.AsNoTracking().Include(r => r.Phases).FirstAsync(r => r.Id == fleet.PlanRevisionId, ct);
        var plan = await db.Plans.AsNoTracking().Where(p => p.Id == fleet.PlanId).Select(p => p.Name).FirstAsync(ct);
        var ids = fleet.Hosts.Select(h => h.RolloutId).ToList();
        var rollouts = await db.Rollouts.AsNoTracking().Where(r => ids.Contains(r.Id)).ToDictionaryAsync(r => r.Id, ct);
        var hostIds = fleet.Hosts.Select(h => h.HostId).ToList();
        var names = await db.Hosts.AsNoTracking().Where(h => hostIds.Contains(h.Id)).ToDictionaryAsync(h => h.Id, h => h.Name, ct);
        var phases = revision.Phases.OrderBy(p => p.Order).Select(p => p.Name).ToList();
        return new FleetRolloutView(fleet.Id, fleet.PlanId, plan, revision.Number, fleet.State.ToString(), fleet.WaveSize, fleet.OnHostFailure, fleet.StartedBy, fleet.CreatedAt,
            fleet.StartedAt, fleet.FinishedAt, fleet.Error, fleet.AbortRequestedBy, phases,
            fleet.Hosts.OrderBy(h => h.Order).Select(h =>
            {
                var r = rollouts[h.RolloutId];
                return new FleetHostView(h.HostId, names.GetValueOrDefault(h.HostId) ?? "?", h.Wave, h.RolloutId, h.RolledBackAt is null ? r.State.ToString() : "RolledBack",
                    r.CurrentPhase, phases.Count, r.CurrentPhase < phases.Count ? phases[r.CurrentPhase] : null, h.Started, h.RolledBackAt, r.Error);
            }).ToList())
        {
            ApproveWaves = fleet.ApproveWaves, ApprovedThroughWave = fleet.ApprovedThroughWave, ApprovedBy = fleet.ApprovedBy, ApprovedAt = fleet.ApprovedAt,
        };
    }
}
