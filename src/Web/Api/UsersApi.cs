using System.Security.Claims;
using DeployDeck.Web.Auth;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Web.Api;

public sealed record CreateUserRequest(string? Username, string? Password, IReadOnlyList<string>? Roles);

public sealed record UserDto(string Id, string Username, IReadOnlyList<string> Roles, bool LockedOut);

public sealed record MeDto(string Username, IReadOnlyList<string> Roles);

public static class UsersApi
{
    public static RouteGroupBuilder MapUsersApi(this RouteGroupBuilder api)
    {
        api.MapGet("/me", (ClaimsPrincipal user) => TypedResults.Ok(new MeDto(
            user.Identity?.Name ?? "", user.FindAll(ClaimTypes.Role).Select(c => c.Value).ToList()))).WithTags("Users");

        var users = api.MapGroup("/users").WithTags("Users").RequireAuthorization(Policies.Admin);
        users.MapGet("/", async (UserAdministration admin, CancellationToken ct) => TypedResults.Ok(await admin.ListAsync(ct)));
        users.MapPost("/", async Task<Results<Created<UserDto>, ProblemHttpResult>> (CreateUserRequest? request, UserAdministration admin) =>
        {
            if (request is null)
                return ApiResults.Problem(400, "Missing fields", "Send {\"username\": \"…\", \"password\": \"…\", \"roles\": [\"Viewer\"]}.");
            var (user, error) = await admin.CreateAsync(request.Username, request.Password, request.Roles ?? [Roles.Viewer]);
            return error is not null ? ApiResults.Problem(400, "User not created", error) : TypedResults.Created($"/api/users/{user!.Id}", user);
        });
        return api;
    }
}

/// <summary>Admin's user management: the only way users come to exist (there is no sign-up).</summary>
public sealed class UserAdministration(UserManager<IdentityUser> users, ILogger<UserAdministration> logger)
{
    public async Task<List<UserDto>> ListAsync(CancellationToken ct)
    {
        var all = await users.Users.OrderBy(u => u.UserName).ToListAsync(ct);
        var result = new List<UserDto>();
        foreach (var u in all)
            result.Add(new UserDto(u.Id, u.UserName!, (await users.GetRolesAsync(u)).ToList(), await users.IsLockedOutAsync(u)));
        return result;
    }

    public async Task<(UserDto? User, string? Error)> CreateAsync(string? username, string? password, IReadOnlyList<string> roles)
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
        logger.LogInformation("User {User} created with roles {Roles}", username, roles);
        return (new UserDto(user.Id, username, roles.Distinct().ToList(), false), null);
    }
}
