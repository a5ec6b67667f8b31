namespace DeployDeck.Domain.Rollouts;

/// <summary>
/// Every kind of step a rollout's record holds: the one catalogue the Worker writes, the Web reads, webhooks and docs
/// name. A kind is "subject.what happened".
/// </summary>
public static class RolloutEventKinds
{
    public const string Queued = "rollout.queued";
    public const string PreflightPassed = "preflight.passed";
    public const string PreflightAcknowledged = "preflight.acknowledged";
    public const string ProjectCreated = "project.created";

    /// <summary>Before the first phase: the images to pull, their sizes from the registry, the engine's free disk.</summary>
    public const string PullChecked = "image.pull-checked";
    public const string ImagePulling = "image.pulling";
    public const string ImagePulled = "image.pulled";

    /// <summary>Pushed live while an image is pulled, about twice a second; never recorded.</summary>
    public const string PullProgress = "image.pull-progress";

    /// <summary>The reconcile plan worked out at the start: per service keep, create, recreate or scale; orphans.</summary>
    public const string ReconcilePlanned = "reconcile.planned";
    public const string Started = "rollout.started";
    public const string AbortRequested = "rollout.abort-requested";

    /// <summary>An operator resumed a paused rollout (Web); the Worker counts these to number a phase's attempts.</summary>
    public const string Resumed = "rollout.resumed";

    public const string Paused = "rollout.paused";
    public const string Succeeded = "rollout.succeeded";
    public const string Failed = "rollout.failed";
    public const string RolledBack = "rollout.rolled-back";
    public const string Aborted = "rollout.aborted";
    public const string Retrying = "rollout.retrying";

    /// <summary>A fleet rolled back a host whose own rollout had succeeded (its record keeps Succeeded; the fleet says RolledBack).</summary>
    public const string FleetRolledBack = "rollout.fleet-rolled-back";

    /// <summary>An Approver let the wave of this host's rollout start (a fleet started with wave approval).</summary>
    public const string FleetWaveApproved = "rollout.fleet-wave-approved";

    public const string PhaseAdmitted = "phase.admitted";
    public const string PhaseAdmissionRefused = "phase.admission-refused";
    public const string PhaseStarted = "phase.started";
    public const string PhaseSoaking = "phase.soaking";
    public const string PhaseSoaked = "phase.soaked";
    public const string PhasePassed = "phase.passed";
    public const string PhaseFailed = "phase.failed";
    public const string PhaseAwaitingApproval = "phase.awaiting-approval";
    public const string PhaseApproved = "phase.approved";
    public const string PhaseRolledBack = "phase.rolled-back";

    public const string ServiceCreated = "service.created";
    public const string ServiceStarted = "service.started";
    public const string ServiceLimitsVerified = "service.limits-verified";
    public const string ServiceReady = "service.ready";
    public const string ServiceFailed = "service.failed";
    /// <summary>The service's running container was unchanged: it stays, and only the gates run.</summary>
    public const string ServiceKept = "service.kept";
    public const string ServiceStopped = "service.stopped";
    public const string ServiceReplaced = "service.replaced";
    public const string ServiceRemoved = "service.removed";
    public const string ServiceRestored = "service.restored";
    public const string ServiceRetired = "service.retired";
    public const string OrphanStopped = "orphan.stopped";
    public const string OrphanRemoved = "orphan.removed";

    public const string GatePassed = "gate.passed";
    public const string GateFailed = "gate.failed";
    public const string SoakFailed = "soak.failed";
    public const string RollbackVerified = "rollback.verified";
    public const string RollbackFailed = "rollback.failed";

    /// <summary>The kinds that end a rollout.</summary>
    public static readonly IReadOnlySet<string> Final = new HashSet<string>(StringComparer.Ordinal) { Succeeded, Failed, RolledBack, Aborted };

    /// <summary>The kinds that carry a gate's figure.</summary>
    public static readonly IReadOnlySet<string> Gates = new HashSet<string>(StringComparer.Ordinal) { GatePassed, GateFailed };

    /// <summary>What a phase's rollback did to its services, for the record's rollback section.</summary>
    public static readonly IReadOnlySet<string> RollbackSteps = new HashSet<string>(StringComparer.Ordinal) { PhaseRolledBack, ServiceRemoved, ServiceRestored };
}
