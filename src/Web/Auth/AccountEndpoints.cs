using Microsoft.AspNetCore.Identity;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Web.Audit;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Web.Auth;

public static class AccountEndpoints
{
    /// <summary>The login form posts here (antiforgery-checked); failures are rate-limited and lock the account after 5.</summary>
    public static void MapAccountEndpoints(this IEndpointRouteBuilder app)
    {
        var account = app.MapGroup("/account");
        account.MapPost("/login", async ([FromForm] string username, [FromForm] string password, [FromForm] string? returnUrl,
                HttpContext http, SignInManager<IdentityUser> signIn, FailedLoginThrottle throttle, ILoggerFactory loggers,
                IDbContextFactory<DeployDeckDbContext> dbFactory, TimeProvider clock) =>
            {
                var logger = loggers.CreateLogger("DeployDeck.Web.Auth.Login");
                var target = SafeReturnUrl(returnUrl);
                if (throttle.RetryAfter(http.Connection.RemoteIpAddress) is not null)
                    return Results.LocalRedirect($"/login?error=throttled&returnUrl={Uri.EscapeDataString(target)}");
                var result = await signIn.PasswordSignInAsync(username, password, isPersistent: false, lockoutOnFailure: true);
                if (result.Succeeded)
                {
                    logger.LogInformation("User {User} signed in", username);
                    await RecordAsync(dbFactory, clock, username, AuditActions.Login, "sign-in form", http);
                    return Results.LocalRedirect(target);
                }

                throttle.RecordFailure(http.Connection.RemoteIpAddress);
                logger.LogWarning("Failed sign-in for {User} (locked out: {LockedOut})", username, result.IsLockedOut);
                await RecordAsync(dbFactory, clock, username, AuditActions.LoginFailed, "sign-in form", http, result.IsLockedOut ? "locked out" : "wrong user or password");
                var error = result.IsLockedOut ? "locked" : "invalid";
                return Results.LocalRedirect($"/login?error={error}&returnUrl={Uri.EscapeDataString(target)}");
            })
            .AllowAnonymous()
            .ExcludeFromDescription();

        account.MapPost("/logout", async (SignInManager<IdentityUser> signIn) =>
            {
                await signIn.SignOutAsync();
                return Results.LocalRedirect("/login");
            })
            .ExcludeFromDescription();
    }

    /// <summary>Sign-ins are recorded whatever the request's cancellation: an attempt that happened is a fact.</summary>
    internal static async Task RecordAsync(IDbContextFactory<DeployDeckDbContext> dbFactory, TimeProvider clock, string? username, string action, string via, HttpContext http, string? details = null)
    {
        await using var db = await dbFactory.CreateDbContextAsync(CancellationToken.None);
        AuditTrail.Add(db, clock.GetUtcNow(), string.IsNullOrWhiteSpace(username) ? "(blank)" : username.Trim(), action, via,
            $"from {http.Connection.RemoteIpAddress}" + (details is null ? "" : $"; {details}"));
        await db.SaveChangesAsync(CancellationToken.None);
    }

    private static string SafeReturnUrl(string? returnUrl) =>
        !string.IsNullOrEmpty(returnUrl) && returnUrl.StartsWith('/') && !returnUrl.StartsWith("//", StringComparison.Ordinal) && !returnUrl.StartsWith("/\\", StringComparison.Ordinal)
            ? returnUrl
            : "/";
}
