using System.Security.Claims;
using DeployDeck.Domain.Plans;

namespace DeployDeck.Web.Plans;

/// <summary>Who saves a revision, and, for an Admin, why the keys that hand a container the host are allowed.</summary>
public sealed record PlanAuthor(string Name, bool IsAdmin, string? HostAccessReason = null)
{
    public static PlanAuthor Of(ClaimsPrincipal user, string? hostAccessReason = null) =>
        new(user.Identity!.Name!, user.IsInRole(Auth.Roles.Admin), hostAccessReason);
}

/// <summary>
/// An Operator must not get root on a host through a plan: a revision with host-reaching keys is saved only by an Admin
/// who gives a reason, and then carries the allowance of exactly those keys, recorded in the audit.
/// </summary>
public static class HostAccessRule
{
    public static (HostAccessAllowance? Allowance, PlanRefusal? Refusal) Decide(PlanSpec spec, string? projectDirectory, PlanAuthor author, DateTimeOffset now)
    {
        var findings = HostAccess.Find(spec, projectDirectory);
        if (findings.Count == 0)
            return (null, null);
        var listed = string.Join("; ", findings);
        var issues = findings.Select(f => new IssueDto(nameof(Severity.Error), f.ToString() + ": hands the container the host", null, f.Service)).ToList();
        if (!author.IsAdmin)
        {
            return (null, new PlanRefusal(403, "Keys that reach the host need an Admin",
                $"{findings.Count} key(s) would hand a container the host: {listed}. Remove them, or ask an Admin to save this plan and allow them.", issues));
        }

        var reason = author.HostAccessReason?.Trim();
        if (string.IsNullOrEmpty(reason))
        {
            return (null, new PlanRefusal(422, "Host access needs a reason",
                $"{findings.Count} key(s) hand a container the host: {listed}. To allow them for this revision, give a reason (hostAccessReason).", issues));
        }

        if (reason.Length > 500)
            return (null, new PlanRefusal(400, "Reason too long", "The reason for host access is at most 500 characters.", []));
        return (new HostAccessAllowance(author.Name, reason, now, findings.Select(f => f.Id).ToList()), null);
    }
}
