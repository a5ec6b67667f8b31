namespace DeployDeck.Web.Auth;

/// <summary>The four roles. Admin may do everything; Viewer is any signed-in user.</summary>
public static class Roles
{
    public const string Viewer = nameof(Viewer);
    public const string Operator = nameof(Operator);
    public const string Approver = nameof(Approver);
    public const string Admin = nameof(Admin);

    public static readonly IReadOnlyList<string> All = [Viewer, Operator, Approver, Admin];
}

public static class Policies
{
    /// <summary>Start, abort, prune: Operator or Admin.</summary>
    public const string Operate = nameof(Operate);

    /// <summary>Promote a phase: Approver or Admin.</summary>
    public const string Approve = nameof(Approve);

    public const string Admin = nameof(Admin);

    /// <summary>Browsers and the Worker on the live hub.</summary>
    public const string LiveHub = nameof(LiveHub);
}
