using System.Security.Claims;
using DeployDeck.Domain.Input;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Web.Audit;
using DeployDeck.Web.Auth;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Web.Api;

public sealed record CreateUserRequest(string? Username, string? Password, IReadOnlyList<string>? Roles);

/// <param name="Throttled">Sign-ins as this name are refused for a few minutes after failures (API tokens still work).</param>
public sealed record UserDto(string Id, string Username, IReadOnlyList<string> Roles, bool Disabled, bool Throttled);

public sealed record SetRolesRequest(IReadOnlyList<string>? Roles);

public sealed record ResetPasswordRequest(string? NewPassword);

public sealed record MeDto(string Username, IReadOnlyList<string> Roles);

/// <summary>An Admin's refusal: status, and the field it is about.</summary>
public sealed record UserRefusal(int Status, string Field, string Reason);

public static class UsersApi
{
    public static RouteGroupBuilder MapUsersApi(this RouteGroupBuilder api)
    {
        api.MapGet("/me", (ClaimsPrincipal user) => TypedResults.Ok(new MeDto(
            user.Identity?.Name ?? "", user.FindAll(ClaimTypes.Role).Select(c => c.Value).ToList()))).WithTags("Users");

        var users = api.MapGroup("/users").WithTags("Users").RequireAuthorization(Policies.Admin);
        users.MapGet("/", async (UserAdministration admin, CancellationToken ct) => TypedResults.Ok(await admin.ListAsync(ct)));
        users.MapPost("/", async Task<Results<Created<UserDto>, ProblemHttpResult>> (CreateUserRequest? request, UserAdministration admin, ClaimsPrincipal actor) =>
        {
            if (request is null)
                return ApiResults.Problem(400, "Missing fields", "Send {\"username\": \"…\", \"password\": \"…\", \"roles\": [\"Viewer\"]}.");
            var (user, refusal) = await admin.CreateAsync(request.Username, request.Password, request.Roles ?? [Roles.Viewer], Actor(actor));
            return refusal is not null ? Problem("User not created", refusal) : TypedResults.Created($"/api/users/{user!.Id}", user);
        });
        users.MapPut("/{id}/roles", async Task<Results<Ok<UserDto>, ProblemHttpResult>> (string id, SetRolesRequest? request, UserAdministration admin, ClaimsPrincipal actor) =>
        {
            if (request?.Roles is null)
                return InputValidation.Invalid([new("roles", "is required: a list such as [\"Viewer\", \"Operator\"], or [] for read-only")]);
            var (user, refusal) = await admin.SetRolesAsync(id, request.Roles, Actor(actor));
            return refusal is not null ? Problem("Roles not changed", refusal) : TypedResults.Ok(user!);
        });
        users.MapPost("/{id}/disable", async Task<Results<Ok<UserDto>, ProblemHttpResult>> (string id, UserAdministration admin, ClaimsPrincipal actor) =>
            await admin.SetDisabledAsync(id, true, Actor(actor)) is var (user, refusal) && refusal is not null ? Problem("User not disabled", refusal) : TypedResults.Ok(user!));
        users.MapPost("/{id}/enable", async Task<Results<Ok<UserDto>, ProblemHttpResult>> (string id, UserAdministration admin, ClaimsPrincipal actor) =>
            await admin.SetDisabledAsync(id, false, Actor(actor)) is var (user, refusal) && refusal is not null ? Problem("User not enabled", refusal) : TypedResults.Ok(user!));
        users.MapPost("/{id}/password", async Task<Results<Ok<UserDto>, ProblemHttpResult>> (string id, ResetPasswordRequest? request, UserAdministration admin, ClaimsPrincipal actor) =>
            await admin.ResetPasswordAsync(id, request?.NewPassword, Actor(actor)) is var (user, refusal) && refusal is not null ? Problem("Password not reset", refusal) : TypedResults.Ok(user!));
        users.MapDelete("/{id}", async Task<Results<NoContent, ProblemHttpResult>> (string id, UserAdministration admin, ClaimsPrincipal actor) =>
            await admin.DeleteAsync(id, Actor(actor)) is { } refusal ? Problem("User not deleted", refusal) : TypedResults.NoContent());
        return api;
    }

    private static string Actor(ClaimsPrincipal actor) => actor.Identity?.Name ?? "unknown";

    private static ProblemHttpResult Problem(string title, UserRefusal refusal) => TypedResults.Problem(
        title: title, statusCode: refusal.Status, detail: $"{refusal.Field}: {refusal.Reason}",
        extensions: new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { [refusal.Field] = [refusal.Reason] } });
}

/// <summary>
/// Admin's user management, for the page and the API: the only way users come to exist (there is no sign-up). Every
/// change that takes something away — roles, a disable, a new password, a delete — changes the user's security stamp,
/// so their open sessions end at once (<see cref="SessionValidator"/>); API tokens follow roles and disables on their next call.
/// There is always an enabled Admin left to undo a mistake.
/// </summary>
public sealed class UserAdministration(
    UserManager<IdentityUser> users, IDbContextFactory<DeployDeckDbContext> dbFactory, SessionValidator sessions, FailedLoginThrottle throttle,
    TimeProvider clock, ILogger<UserAdministration> logger)
{
    public async Task<List<UserDto>> ListAsync(CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var rows = await db.Users.AsNoTracking().OrderBy(u => u.UserName)
            .Select(u => new
            {
                u.Id, u.UserName,
                Roles = (from ur in db.UserRoles join r in db.Roles on ur.RoleId equals r.Id where ur.UserId == u.Id select r.Name!).ToList(),
                Disabled = db.UserClaims.Any(c => c.UserId == u.Id && c.ClaimType == UserStates.DisabledClaim),
            })
            .ToListAsync(ct);
        return rows.Select(u => new UserDto(u.Id, u.UserName!, u.Roles.Order(StringComparer.Ordinal).ToList(), u.Disabled, throttle.IsThrottled(u.UserName!))).ToList();
    }

    public async Task<(UserDto? User, UserRefusal? Refusal)> CreateAsync(string? username, string? password, IReadOnlyList<string> roles, string actor)
    {
        if (string.IsNullOrWhiteSpace(username) || username.Length > 64 || !username.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '@'))
            return (null, new(400, "username", "a username has 1–64 letters, digits, '.', '_', '-' or '@'"));
        if (UnknownRoles(roles) is { } unknown)
            return (null, unknown);
        if (await users.FindByNameAsync(username) is not null)
            return (null, new(409, "username", $"user '{username}' already exists"));
        if (PasswordProblem(password) is { } passwordProblem)
            return (null, passwordProblem);

        var user = new IdentityUser(username);
        var created = await users.CreateAsync(user, password!);
        if (!created.Succeeded)
            return (null, new(400, "password", string.Join(" ", created.Errors.Select(e => e.Description))));
        await users.AddToRolesAsync(user, roles.Distinct());
        await RecordAsync(actor, AuditActions.UserCreated, username, $"roles {Describe(roles.Distinct())}");
        logger.LogInformation("User {User} created with roles {Roles}", username, roles);
        return (await DtoAsync(user), null);
    }

    /// <summary>Replaces a user's roles; no role at all leaves read access (every signed-in user is a Viewer). An Admin cannot take Admin away from themselves.</summary>
    public async Task<(UserDto? User, UserRefusal? Refusal)> SetRolesAsync(string id, IReadOnlyList<string> roles, string actor)
    {
        var wanted = roles.Distinct().ToList();
        if (UnknownRoles(wanted) is { } unknown)
            return (null, unknown);
        if (await users.FindByIdAsync(id) is not { } user)
            return (null, NoUser(id));
        if (string.Equals(user.UserName, actor, StringComparison.Ordinal) && !wanted.Contains(Roles.Admin))
            return (null, new(409, "roles", "you cannot take the Admin role away from yourself; ask another Admin"));

        var before = (await users.GetRolesAsync(user)).ToList();
        var removed = before.Except(wanted).ToList();
        var added = wanted.Except(before).ToList();
        if (removed.Count == 0 && added.Count == 0)
            return (await DtoAsync(user), null);
        var result = await users.RemoveFromRolesAsync(user, removed);
        if (result.Succeeded)
            result = await users.AddToRolesAsync(user, added);
        if (!result.Succeeded)
            return (null, new(400, "roles", string.Join(" ", result.Errors.Select(e => e.Description))));
        await EndSessionsAsync(user);
        await RecordAsync(actor, AuditActions.RolesChanged, user.UserName!, $"{Describe(before)} → {Describe(wanted)}");
        logger.LogInformation("Roles of {User} changed by {Actor}: {Before} → {After}", user.UserName, actor, before, wanted);
        return (await DtoAsync(user), null);
    }

    /// <summary>A disabled user cannot sign in, their sessions end at once and their API tokens stop answering; enabling gives all of it back.</summary>
    public async Task<(UserDto? User, UserRefusal? Refusal)> SetDisabledAsync(string id, bool disabled, string actor)
    {
        if (await users.FindByIdAsync(id) is not { } user)
            return (null, NoUser(id));
        var claims = await users.GetClaimsAsync(user);
        var isDisabled = claims.Any(c => c.Type == UserStates.DisabledClaim);
        if (isDisabled == disabled)
            return (await DtoAsync(user), null);
        if (disabled)
        {
            if (string.Equals(user.UserName, actor, StringComparison.Ordinal))
                return (null, new(409, "id", "you cannot disable yourself; ask another Admin"));
            if (await IsLastAdminAsync(user))
                return (null, new(409, "id", "this is the last enabled Admin; make another user Admin first"));
            await users.AddClaimAsync(user, new Claim(UserStates.DisabledClaim, clock.GetUtcNow().ToString("O")));
            await EndSessionsAsync(user);
        }
        else
        {
            await users.RemoveClaimsAsync(user, claims.Where(c => c.Type == UserStates.DisabledClaim));
            sessions.Forget(user.Id);
        }

        await RecordAsync(actor, disabled ? AuditActions.UserDisabled : AuditActions.UserEnabled, user.UserName!, disabled ? "sessions ended, API tokens refused" : "may sign in again");
        logger.LogInformation("User {User} {Change} by {Actor}", user.UserName, disabled ? "disabled" : "enabled", actor);
        return (await DtoAsync(user), null);
    }

    /// <summary>An Admin sets a new password (told to the user out of band); the user's sessions end.</summary>
    public async Task<(UserDto? User, UserRefusal? Refusal)> ResetPasswordAsync(string id, string? newPassword, string actor)
    {
        if (await users.FindByIdAsync(id) is not { } user)
            return (null, NoUser(id));
        if (PasswordProblem(newPassword, "newPassword") is { } problem)
            return (null, problem);
        foreach (var validator in users.PasswordValidators)
        {
            var check = await validator.ValidateAsync(users, user, newPassword);
            if (!check.Succeeded)
                return (null, new(400, "newPassword", string.Join(" ", check.Errors.Select(e => e.Description))));
        }

        var result = await users.RemovePasswordAsync(user);
        if (result.Succeeded)
            result = await users.AddPasswordAsync(user, newPassword!);
        if (!result.Succeeded)
            return (null, new(400, "newPassword", string.Join(" ", result.Errors.Select(e => e.Description))));
        await EndSessionsAsync(user);
        await RecordAsync(actor, AuditActions.PasswordReset, user.UserName!, "sessions ended");
        logger.LogInformation("Password of {User} reset by {Actor}", user.UserName, actor);
        return (await DtoAsync(user), null);
    }

    /// <summary>Deletes a user and their API tokens; history keeps their name (rollouts, audit).</summary>
    public async Task<UserRefusal?> DeleteAsync(string id, string actor)
    {
        if (await users.FindByIdAsync(id) is not { } user)
            return NoUser(id);
        if (string.Equals(user.UserName, actor, StringComparison.Ordinal))
            return new(409, "id", "you cannot delete yourself; ask another Admin");
        if (await IsLastAdminAsync(user))
            return new(409, "id", "this is the last enabled Admin; make another user Admin first");

        await using (var db = await dbFactory.CreateDbContextAsync(CancellationToken.None))
            await db.ApiTokens.Where(t => t.UserId == user.Id).ExecuteDeleteAsync(CancellationToken.None);
        var result = await users.DeleteAsync(user);
        if (!result.Succeeded)
            return new(400, "id", string.Join(" ", result.Errors.Select(e => e.Description)));
        sessions.Forget(user.Id);
        await RecordAsync(actor, AuditActions.UserDeleted, user.UserName!, "API tokens deleted");
        logger.LogInformation("User {User} deleted by {Actor}", user.UserName, actor);
        return null;
    }

    private async Task EndSessionsAsync(IdentityUser user)
    {
        await users.UpdateSecurityStampAsync(user);
        sessions.Forget(user.Id);
    }

    private async Task<bool> IsLastAdminAsync(IdentityUser user)
    {
        if (!await users.IsInRoleAsync(user, Roles.Admin))
            return false;
        await using var db = await dbFactory.CreateDbContextAsync(CancellationToken.None);
        var others = await (from ur in db.UserRoles
                            join r in db.Roles on ur.RoleId equals r.Id
                            where r.Name == Roles.Admin && ur.UserId != user.Id
                                  && !db.UserClaims.Any(c => c.UserId == ur.UserId && c.ClaimType == UserStates.DisabledClaim)
                            select ur.UserId).AnyAsync();
        return !others;
    }

    private async Task<UserDto> DtoAsync(IdentityUser user)
    {
        var roles = (await users.GetRolesAsync(user)).Order(StringComparer.Ordinal).ToList();
        var disabled = (await users.GetClaimsAsync(user)).Any(c => c.Type == UserStates.DisabledClaim);
        return new UserDto(user.Id, user.UserName!, roles, disabled, throttle.IsThrottled(user.UserName!));
    }

    private static UserRefusal? UnknownRoles(IEnumerable<string> roles)
    {
        var unknown = roles.Where(r => !Roles.All.Contains(r)).ToList();
        return unknown.Count == 0 ? null : new(400, "roles", $"unknown role(s) {string.Join(", ", unknown.Select(r => $"'{Printable(r)}'"))}; roles are {string.Join(", ", Roles.All)}");
    }

    private static UserRefusal? PasswordProblem(string? password, string field = "password") =>
        string.IsNullOrEmpty(password) ? new(400, field, "is required (12 characters or more)")
        : TextRules.Problem(password, TextRules.For("password")) is { } reason ? new(400, field, reason)
        : null;

    private static UserRefusal NoUser(string id) => new(404, "id", $"there is no user {Printable(id)}");

    private static string Printable(string text) => TextRules.Problem(text, TextRules.Key) is null ? text : Uri.EscapeDataString(text.Length > 100 ? text[..100] : text);

    private static string Describe(IEnumerable<string> roles) => roles.Any() ? string.Join(", ", roles.Order(StringComparer.Ordinal)) : "none (read-only)";

    private async Task RecordAsync(string actor, string action, string username, string details)
    {
        await using var db = await dbFactory.CreateDbContextAsync(CancellationToken.None);
        AuditTrail.Add(db, clock.GetUtcNow(), actor, action, $"user {username}", details);
        await db.SaveChangesAsync(CancellationToken.None);
    }
}
