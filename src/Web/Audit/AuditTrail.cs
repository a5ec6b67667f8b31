using DeployDeck.Domain.Plans;
using DeployDeck.Infrastructure.Data;

namespace DeployDeck.Web.Audit;

/// <summary>The actions the audit trail records, one name each.</summary>
public static class AuditActions
{
    public const string Login = "auth.login";
    public const string LoginFailed = "auth.login-failed";
    public const string PlanImported = "plan.imported";
    public const string PlanRevised = "plan.revised";
    public const string HostAccessAllowed = "plan.host-access-allowed";
    public const string ProjectDirectoryChanged = "plan.project-directory-changed";
    public const string RolloutStarted = "rollout.started";
    public const string RecreateForced = "rollout.recreate-forced";
    public const string RolloutApproved = "rollout.approved";
    public const string RolloutAborted = "rollout.aborted";
    public const string RolloutResumed = "rollout.resumed";
    public const string YellowAcknowledged = "host.yellow-acknowledged";
    public const string Pruned = "host.pruned";
    public const string EmergencyStop = "host.emergency-stop";
    public const string ThresholdsChanged = "host.thresholds-changed";
    public const string HostAdded = "host.added";
    public const string HostChanged = "host.changed";
    public const string HostRemoved = "host.removed";
    public const string TokenCreated = "token.created";
    public const string TokenRevoked = "token.revoked";
    public const string UserCreated = "user.created";
    public const string RolesChanged = "user.roles-changed";
    public const string UserDisabled = "user.disabled";
    public const string UserEnabled = "user.enabled";
    public const string PasswordReset = "user.password-reset";
    public const string UserDeleted = "user.deleted";
    public const string WebhookCreated = "webhook.created";
    public const string WebhookDeleted = "webhook.deleted";
    public const string RegistryAdded = "registry.added";
    public const string RegistryChanged = "registry.changed";
    public const string RegistryRemoved = "registry.removed";
}

/// <summary>Appends to the audit trail. Adds to the caller's context so the entry commits with the change it records, or not at all.</summary>
public static class AuditTrail
{
    public static void Add(DeployDeckDbContext db, DateTimeOffset at, string user, string action, string subject, string? details = null) =>
        db.Audit.Add(new AuditEntry
        {
            At = at,
            User = Truncate(user, 256),
            Action = action,
            Subject = Truncate(SecretKeys.Scrub(subject), 500),
            Details = details is null ? null : Truncate(SecretKeys.Scrub(details), 4000),
        });

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";
}
