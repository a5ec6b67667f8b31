using System.Security.Claims;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Web.Audit;
using DeployDeck.Web.Auth;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Web.Api;

public sealed record CreateUserRequest(string? Username, string? Password, IReadOnlyList<string>? Roles);

public sealed record UserDto(string Id, string Username, IReadOnlyList<string> Roles, bool LockedOut);

public sealed record SetRolesRequest(IReadOnlyList<string>? Roles);

public sealed record MeDto(string Username, IReadOnlyList<string> Roles);

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
            var (user, error) = await admin.CreateAsync(request.Username, request.Password, request.Roles ?? [Roles.Viewer], actor.Identity?.Name ?? "unknown");
            return error is not null ? ApiResults.Problem(400, "User not created", error) : TypedResults.Created($"/api/users/{user!.Id}", user);
        });
        users.MapPut("/{id}/roles", async Task<Results<Ok<UserDto>, ProblemHttpResult>> (string id, SetRolesRequest? request, UserAdministration admin, ClaimsPrincipal actor) =>
        {
            if (request?.Roles is null)
                return ApiResults.Problem(400, "Missing fields", "Send {\"roles\": [\"Viewer\", \"Operator\"]}.");
            var (user, status, error) = await admin.SetRolesAsync(id, request.Roles, actor.Identity?.Name ?? "unknown");
            return error is not null ? ApiResults.Problem(status, "Roles not changed", error) : TypedResults.Ok(user!);
        });
        return api;
    }
}

/// <summary>Admin's user management: the only way users come to exist (there is no sign-up).</summary>
public sealed class UserAdministration(
    UserManager<IdentityUser> users, IDbContextFactory<DeployDeckDbContext> dbFactory, TimeProvider clock, ILogger<UserAdministration> logger)
{
    public async Task<List<UserDto>> ListAsync(CancellationToken ct)
    {
        var all = await users.Users.OrderBy(u => u.UserName).ToListAsync(ct);
        var result = new List<UserDto>();
        foreach (var u in all)
            result.Add(new UserDto(u.Id, u.UserName!, (await users.GetRolesAsync(u)).ToList(), await users.IsLockedOutAsync(u)));
        return result;
    }

    public async Task<(UserDto? User, string? Error)> CreateAsync(string? username, string? password, IReadOnlyList<string> roles, string actor)
    {
        if (string.IsNullOrWhiteSpace(username) || username.Length > 64 || !username.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '@'))
            return (null, "A username has 1–64 letters, digits, '.', '_', '-' or '@'.");
        var unknown = roles.Where(r => !Roles.All.Contains(r)).ToList();
        if (unknown.Count > 0)
            return (null, $"Unknown role(s): {string.Join(", ", unknown)}. Roles are {string.Join(", ", Roles.All)}.");
        if (roles.Count == 0)
            return (null, "Give the user at least one role.");
        if (await users.FindByNameAsync(username) is not null)
            return (null, $"User '{username}' already exists.");

        var user = new IdentityUser(username);
        var created = await users.CreateAsync(user, password ?? "");
        if (!created.Succeeded)
            return (null, string.Join(" ", created.Errors.Select(e => e.Description)));
        await users.AddToRolesAsync(user, roles.Distinct());
        await RecordAsync(actor, AuditActions.UserCreated, username, $"roles {string.Join(", ", roles.Distinct())}");
        logger.LogInformation("User {User} created with roles {Roles}", username, roles);
        return (new UserDto(user.Id, username, roles.Distinct().ToList(), false), null);
    }

    /// <summary>Replaces a user's roles. An Admin cannot take Admin away from themselves, so there is always one Admin left to undo a mistake.</summary>
    public async Task<(UserDto? User, int Status, string? Error)> SetRolesAsync(string id, IReadOnlyList<string> roles, string actor)
    {
        var wanted = roles.Distinct().ToList();
        var unknown = wanted.Where(r => !Roles.All.Contains(r)).ToList();
        if (unknown.Count > 0)
            return (null, 400, $"Unknown role(s): {string.Join(", ", unknown)}. Roles are {string.Join(", ", Roles.All)}.");
        if (wanted.Count == 0)
            return (null, 400, "Give the user at least one role.");
        var user = await users.FindByIdAsync(id);
        if (user is null)
            return (null, 404, $"There is no user {id}.");
        if (string.Equals(user.UserName, actor, StringComparison.Ordinal) && !wanted.Contains(Roles.Admin))
            return (null, 409, "You cannot take the Admin role away from yourself; ask another Admin.");

        var before = (await users.GetRolesAsync(user)).ToList();
        var removed = before.Except(wanted).ToList();
        var added = wanted.Except(before).ToList();
        if (removed.Count == 0 && added.Count == 0)
            return (new UserDto(user.Id, user.UserName!, before, await users.IsLockedOutAsync(user)), 200, null);
        var result = await users.RemoveFromRolesAsync(user, removed);
        if (result.Succeeded)
            result = await users.AddToRolesAsync(user, added);
        if (!result.Succeeded)
            return (null, 400, string.Join(" ", result.Errors.Select(e => e.Description)));
        await RecordAsync(actor, AuditActions.RolesChanged, user.UserName!, $"{string.Join(", ", before.Order())} → {string.Join(", ", wanted.Order())}");
        logger.LogInformation("Roles of {User} changed by {Actor}: {Before} → {After}", user.UserName, actor, before, wanted);
        return (new UserDto(user.Id, user.UserName!, wanted, await users.IsLockedOutAsync(user)), 200, null);
    }

    private async Task RecordAsync(string actor, string action, string username, string details)
    {
        await using var db = await dbFactory.CreateDbContextAsync(CancellationToken.None);
        AuditTrail.Add(db, clock.GetUtcNow(), actor, action, $"user {username}", details);
        await db.SaveChangesAsync(CancellationToken.None);
    }
}
