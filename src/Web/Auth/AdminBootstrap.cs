using System.Security.Cryptography;
using DeployDeck.Infrastructure.Data;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace DeployDeck.Web.Auth;

public sealed class AdminOptions
{
    public const string Section = "DeployDeck:Admin";

    public string? User { get; set; }

    public string? Password { get; set; }
}

/// <summary>
/// Creates the roles and, when there is no Admin yet, the first one: from configuration
/// (DEPLOYDECK_ADMIN_USER / DEPLOYDECK_ADMIN_PASSWORD), or with a generated password printed once.
/// There is no default password and no sign-up.
/// </summary>
public sealed class AdminBootstrap(
    UserManager<IdentityUser> users,
    RoleManager<IdentityRole> roles,
    IOptions<AdminOptions> options,
    IConfiguration configuration,
    ILogger<AdminBootstrap> logger)
{
    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        foreach (var role in Roles.All)
        {
            if (!await roles.RoleExistsAsync(role))
                await roles.CreateAsync(new IdentityRole(role));
        }

        if ((await users.GetUsersInRoleAsync(Roles.Admin)).Count > 0)
            return;

        var name = configuration["DEPLOYDECK_ADMIN_USER"] ?? options.Value.User ?? "admin";
        var configured = configuration["DEPLOYDECK_ADMIN_PASSWORD"] ?? options.Value.Password;
        var password = string.IsNullOrEmpty(configured) ? Generate() : configured;

        var user = await users.FindByNameAsync(name) ?? new IdentityUser(name);
        var result = user.Id is { Length: > 0 } && await users.FindByIdAsync(user.Id) is not null
            ? await users.AddPasswordAsync(user, password)
            : await users.CreateAsync(user, password);
        if (!result.Succeeded)
            throw new StartupException($"the first Admin '{name}' cannot be created: {string.Join(" ", result.Errors.Select(e => e.Description))} (set DEPLOYDECK_ADMIN_PASSWORD to at least 12 characters)");
        await users.AddToRolesAsync(user, [Roles.Admin]);

        logger.LogInformation("Created the first Admin {User}", name);
        if (string.IsNullOrEmpty(configured))
        {
            // Printed once, to the console only, never through the log pipeline.
            Console.WriteLine($"""

                ==================================================================
                 DeployDeck: first Admin created
                   user:     {name}
                   password: {password}
                 This password is shown once. Change it, or create your own users.
                ==================================================================

                """);
        }
    }

    private static string Generate() =>
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(18)).Replace('+', 'x').Replace('/', 'y');
}
