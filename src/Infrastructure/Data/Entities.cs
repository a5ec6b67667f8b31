using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Rollouts;

namespace DeployDeck.Infrastructure.Data;

/// <summary>A registry login an Admin keeps: the engine pulls with it from images on <see cref="Server"/>.</summary>
public sealed class RegistryLogin
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    /// <summary>host[:port] as image references name the registry: "127.0.0.1:5000", "ghcr.io", "docker.io".</summary>
    public required string Server { get; set; }

    public required string Username { get; set; }

    /// <summary>Encrypted by <see cref="Secrets.SecretBox"/> for this login only. Never returned, never logged.</summary>
    public required string Password { get; set; }

    public required string CreatedBy { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? UpdatedAt { get; set; }
}

/// <summary>A Docker engine DeployDeck deploys to.</summary>
public sealed class DockerHost
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public required string Name { get; set; }

    /// <summary>unix:///var/run/docker.sock, tcp://host:2376 (TLS), ssh://user@host[:port] (see <see cref="Domain.Hosts.HostEndpoint"/>).</summary>
    public required string Endpoint { get; set; }

    public string? Description { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? UpdatedAt { get; set; }

    /// <summary>The decision matrix for this host; null means the runbook's defaults.</summary>
    public Domain.Hosts.HostThresholds? Thresholds { get; set; }

    /// <summary>
    /// TLS material (CA, client certificate, key) or the SSH private key, as JSON encrypted by
    /// <see cref="Secrets.SecretBox"/> for this host only. Never returned, never logged.
    /// </summary>
    public string? Credentials { get; set; }

    /// <summary>The SSH host key (SHA256:… fingerprint) an Admin confirmed; a host presenting another is refused.</summary>
    public string? SshHostKey { get; set; }

    /// <summary>Grows with every change of endpoint, credentials or host key: engine clients built for an older one are dropped.</summary>
    public int ConnectionVersion { get; set; }

    /// <summary>When the engine last answered, since when it does not, and why (the Worker's sampler and "Test connection" write them).</summary>
    public DateTimeOffset? LastSeenAt { get; set; }

    public DateTimeOffset? OfflineSince { get; set; }

    public string? LastError { get; set; }

    /// <summary>Removed by an Admin while its rollouts stay in the history: no longer listed, deployed to or sampled.</summary>
    public DateTimeOffset? RemovedAt { get; set; }
}

public static class HostQueries
{
    /// <summary>Hosts that are not removed: what lists, pickers and samplers show.</summary>
    public static IQueryable<DockerHost> InService(this IQueryable<DockerHost> hosts) => hosts.Where(h => h.RemovedAt == null);
}

public sealed class Plan
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public required string Name { get; set; }

    public string? Description { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>The Compose project: fixed when the plan is created (the files' <c>name:</c> or the plan's name), never changed.</summary>
    public required string ProjectName { get; set; }

    /// <summary>Where relative bind mounts resolve on the host, like <c>--project-directory</c>; set by an Admin.</summary>
    public string? ProjectDirectory { get; set; }

    public List<PlanRevision> Revisions { get; set; } = [];
}

/// <summary>An immutable version of a plan. Every save adds one; a rollout pins the one it ran.</summary>
public sealed class PlanRevision
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid PlanId { get; set; }

    public int Number { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public required string CreatedBy { get; set; }

    public long? StackBudgetBytes { get; set; }

    /// <summary>What the author said of this revision: "imported from docker-compose.yml", "api: limit 512m → 768m".</summary>
    public string? Comment { get; set; }

    /// <summary>What the import reported and the plan cannot show by itself (keys not applied, moved services …).</summary>
    public List<string> ImportNotes { get; set; } = [];

    public List<PlanPhase> Phases { get; set; } = [];

    /// <summary>Top-level networks and volumes of the Compose files.</summary>
    public ProjectDeclarations Declarations { get; set; } = new([], []);

    /// <summary>Configs and secrets with their content, as imported.</summary>
    public List<RevisionFile> Files { get; set; } = [];

    /// <summary>An Admin's allowance of the host-reaching keys of this revision.</summary>
    public HostAccessAllowance? HostAccess { get; set; }
}

public sealed record ProjectDeclarations(List<NetworkSpec> Networks, List<VolumeSpec> Volumes);

/// <summary>A config or secret of a revision; a secret's content is stored sealed.</summary>
public sealed class RevisionFile
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid RevisionId { get; set; }

    public ProjectFileKind Kind { get; set; }

    public required string Key { get; set; }

    public required string Origin { get; set; }

    public required string Content { get; set; }
}

public sealed class PlanPhase
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid RevisionId { get; set; }

    public int Order { get; set; }

    public required string Name { get; set; }

    public RiskLevel Risk { get; set; }

    public long? MemoryBudgetBytes { get; set; }

    public long? CpuBudgetNanos { get; set; }

    public int SoakSeconds { get; set; }

    public PromotionMode Promotion { get; set; }

    public FailurePolicy OnFailure { get; set; }

    public List<PlanService> Services { get; set; } = [];
}

/// <summary>A service spec of one phase. Collections are stored as jsonb: they are read and written whole.</summary>
public sealed class PlanService
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid PhaseId { get; set; }

    public int Order { get; set; }

    public required string Name { get; set; }

    public required string Image { get; set; }

    public List<string>? Command { get; set; }

    public List<string>? Entrypoint { get; set; }

    public Dictionary<string, string> Environment { get; set; } = [];

    public List<PortMapping> Ports { get; set; } = [];

    public Dictionary<string, string> Labels { get; set; } = [];

    public long? MemoryLimitBytes { get; set; }

    public long? MemoryReservationBytes { get; set; }

    public long? MemorySwapBytes { get; set; }

    public long? NanoCpus { get; set; }

    public RestartMode RestartMode { get; set; }

    public int RestartMaxRetries { get; set; }

    public HealthCheckDocument? HealthCheck { get; set; }

    public List<ServiceDependency> DependsOn { get; set; } = [];

    public BuildSpec? Build { get; set; }

    public List<VolumeMount> Volumes { get; set; } = [];

    public List<NetworkAttachment> Networks { get; set; } = [];

    public string? NetworkMode { get; set; }

    public Dictionary<string, Ulimit> Ulimits { get; set; } = [];

    public List<FileMount> Files { get; set; } = [];

    public int Replicas { get; set; } = 1;

    public UpdateSpec Update { get; set; } = UpdateSpec.Default;

    public ContainerOptions Options { get; set; } = ContainerOptions.None;

    public List<GateSpec> Gates { get; set; } = [];

    /// <summary>Paths of fields that are secrets by origin (<see cref="ServiceSpec.SecretFields"/>): paths, never values.</summary>
    public List<string> SecretFields { get; set; } = [];
}

public sealed record HealthCheckDocument(List<string> Test, double IntervalSeconds, double TimeoutSeconds, int Retries, double StartPeriodSeconds);

public sealed class Rollout
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid PlanId { get; set; }

    public Plan? Plan { get; set; }

    public Guid PlanRevisionId { get; set; }

    public PlanRevision? PlanRevision { get; set; }

    public Guid HostId { get; set; }

    public DockerHost? Host { get; set; }

    public RolloutState State { get; set; }

    public int CurrentPhase { get; set; }

    public required string StartedBy { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    public string? Error { get; set; }

    /// <summary>The host check and admission forecast the rollout started on, kept so history can compare predicted and actual.</summary>
    public Domain.Hosts.PreflightResult? Preflight { get; set; }

    /// <summary>Who let the rollout start on a YELLOW host, and why.</summary>
    public string? AcknowledgedBy { get; set; }

    public string? Acknowledgement { get; set; }

    /// <summary>Set by an Operator's abort; the Worker stops at its next safe point and rolls back.</summary>
    public string? AbortRequestedBy { get; set; }

    public DateTimeOffset? AbortRequestedAt { get; set; }

    /// <summary>PostgreSQL's xmin: two writers of one rollout cannot both win.</summary>
    public uint Version { get; set; }

    /// <summary>The fleet rollout this host's rollout is part of, if any.</summary>
    public Guid? FleetRolloutId { get; set; }

    /// <summary>Keep the previous containers when it succeeds: its fleet may still roll every host back (onHostFailure rollBackAll).</summary>
    public bool KeepPrevious { get; set; }

    public List<RolloutPhase> Phases { get; set; } = [];

    public List<RolloutService> Services { get; set; } = [];

    public List<RolloutEvent> Events { get; set; } = [];
}

public sealed class RolloutPhase
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid RolloutId { get; set; }

    public int Index { get; set; }

    public required string Name { get; set; }

    public PhaseState State { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }
}

public sealed class RolloutService
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid RolloutId { get; set; }

    public int PhaseIndex { get; set; }

    public required string Name { get; set; }

    public string? ContainerId { get; set; }

    public ServiceState State { get; set; }

    public string? Detail { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>One step of a rollout as it happened. Append-only; <see cref="Key"/> makes a repeated step record once.</summary>
public sealed class RolloutEvent
{
    public long Id { get; set; }

    public Guid RolloutId { get; set; }

    public DateTimeOffset At { get; set; }

    public required string Kind { get; set; }

    public string? Phase { get; set; }

    public string? Service { get; set; }

    public required string Message { get; set; }

    public string? Actor { get; set; }

    /// <summary>Idempotency key, unique per rollout: a re-run job that repeats a step does not record it twice.</summary>
    public string? Key { get; set; }
}

/// <summary>A personal API token. Only its SHA-256 hash is stored.</summary>
public sealed class ApiToken
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public required string UserId { get; set; }

    public required string Name { get; set; }

    public required string Hash { get; set; }

    /// <summary>The first characters, so a user can tell tokens apart without the secret.</summary>
    public required string Prefix { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? LastUsedAt { get; set; }

    public DateTimeOffset? RevokedAt { get; set; }
}

/// <summary>One user action. Append-only: the application has no update or delete path, and the database refuses both.</summary>
public sealed class AuditEntry
{
    public long Id { get; set; }

    public DateTimeOffset At { get; set; }

    public required string User { get; set; }

    /// <summary>"plan.imported", "host.pruned", "rollout.acknowledged" …</summary>
    public required string Action { get; set; }

    public required string Subject { get; set; }

    public string? Details { get; set; }
}

/// <summary>Where DeployDeck tells chat or CI about a rollout of one host or one plan (or of all, when neither is set).</summary>
public sealed class Webhook
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public required string Name { get; set; }

    public required string Url { get; set; }

    /// <summary>The HMAC-SHA256 key. Shown once when created; never returned again, never logged.</summary>
    public required string Secret { get; set; }

    public Guid? HostId { get; set; }

    public Guid? PlanId { get; set; }

    /// <summary>Which notifications it wants: "approval-needed", "phase-failed", "rolled-back", "rollout-finished".</summary>
    public List<string> Events { get; set; } = [];

    public bool Enabled { get; set; } = true;

    public required string CreatedBy { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>One notification of one rollout event to one webhook; (webhook, event) is unique, so a state change is told once.</summary>
public sealed class WebhookDelivery
{
    public long Id { get; set; }

    public Guid WebhookId { get; set; }

    public long EventId { get; set; }

    public Guid RolloutId { get; set; }

    public required string EventType { get; set; }

    /// <summary>The JSON body, exactly as signed and sent.</summary>
    public required string Payload { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public int Attempts { get; set; }

    public int? LastStatus { get; set; }

    public string? LastError { get; set; }

    public DateTimeOffset? LastAttemptAt { get; set; }

    public DateTimeOffset? DeliveredAt { get; set; }

    /// <summary>The Hangfire job; null until enqueued, so a Worker that died in between enqueues it on restart.</summary>
    public string? JobId { get; set; }
}

/// <summary>How far the webhook dispatcher has read the rollout events: one row.</summary>
public sealed class WebhookCursor
{
    public int Id { get; set; }

    public long LastEventId { get; set; }
}

/// <summary>One plan rolled out to many hosts in waves; each host runs its own rollout (<see cref="Rollout.FleetRolloutId"/>).</summary>
public sealed class FleetRollout
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid PlanId { get; set; }

    public Guid PlanRevisionId { get; set; }

    public int WaveSize { get; set; }

    public Domain.Rollouts.FleetFailurePolicy OnHostFailure { get; set; }

    public Domain.Rollouts.FleetState State { get; set; }

    public required string StartedBy { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    public string? Error { get; set; }

    public string? AbortRequestedBy { get; set; }

    public DateTimeOffset? AbortRequestedAt { get; set; }

    /// <summary>Each wave after the canary starts only when an Approver approves it.</summary>
    public bool ApproveWaves { get; set; }

    /// <summary>The last wave allowed to start (0: the canary only); raised by each approval.</summary>
    public int ApprovedThroughWave { get; set; }

    public string? ApprovedBy { get; set; }

    public DateTimeOffset? ApprovedAt { get; set; }

    public List<FleetHost> Hosts { get; set; } = [];
}

/// <summary>A host of a fleet rollout: its wave and its own rollout (queued until its wave starts).</summary>
public sealed class FleetHost
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid FleetRolloutId { get; set; }

    public Guid HostId { get; set; }

    public int Order { get; set; }

    public int Wave { get; set; }

    public Guid RolloutId { get; set; }

    /// <summary>Its wave started: its rollout was handed to a Worker.</summary>
    public bool Started { get; set; }

    /// <summary>Set when the fleet rolled this host back after it had succeeded (onHostFailure rollBackAll).</summary>
    public DateTimeOffset? RolledBackAt { get; set; }
}
