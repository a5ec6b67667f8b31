using DeployDeck.Infrastructure.Data;
using DeployDeck.Web.Audit;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Web.Auth;

public static class AccountEndpoints
{
    /// <summary>
    /// The login form posts here (antiforgery-checked). Unknown user, wrong password, disabled account: one answer, one
    /// cost (see <see cref="PasswordCheck"/>); over the per-user or per-client limit: "throttled", whoever the name is.
    /// </summary>
    public static void MapAccountEndpoints(this IEndpointRouteBuilder app)
    {
        var account = app.MapGroup("/account");
        account.MapPost("/login", async ([FromForm] string? username, [FromForm] string? password, [FromForm] string? returnUrl,
                HttpContext http, PasswordCheck check, SignInManager<IdentityUser> signIn, ILoggerFactory loggers,
                IDbContextFactory<DeployDeckDbContext> dbFactory, TimeProvider clock) =>
            {
                var logger = loggers.CreateLogger("DeployDeck.Web.Auth.Login");
                var target = SafeReturnUrl(returnUrl);
                var result = await check.CheckAsync(username, password, http.Connection.RemoteIpAddress);
                switch (result.Outcome)
                {
                    case PasswordOutcome.Succeeded:
                        await signIn.SignInAsync(result.User!, isPersistent: false);
                        logger.LogInformation("User {User} signed in", result.User!.UserName);
                        await RecordAsync(dbFactory, clock, result.User.UserName, AuditActions.Login, "sign-in form", http);
                        return Results.LocalRedirect(target);
                    case PasswordOutcome.Throttled:
                        logger.LogWarning("Sign-in throttled for {User} from {Client}", Printable(username), http.Connection.RemoteIpAddress);
                        http.Response.Headers.RetryAfter = FailedLoginThrottle.Seconds(result.RetryAfter!.Value).ToString(System.Globalization.CultureInfo.InvariantCulture);
                        return Results.LocalRedirect($"/login?error=throttled&returnUrl={Uri.EscapeDataString(target)}");
                    default:
                        logger.LogWarning("Failed sign-in for {User}", Printable(username));
                        await RecordAsync(dbFactory, clock, Printable(username), AuditActions.LoginFailed, "sign-in form", http, "unknown user, wrong password or disabled account");
                        return Results.LocalRedirect($"/login?error=invalid&returnUrl={Uri.EscapeDataString(target)}");
                }
            })
            .AllowAnonymous()
            .ExcludeFromDescription();

        // Signing out ends every session of the user, not only this browser's: a cookie copied before still carries the old stamp.
        account.MapPost("/logout", async (HttpContext http, SignInManager<IdentityUser> signIn, UserManager<IdentityUser> users, SessionValidator sessions) =>
            {
                if (await users.GetUserAsync(http.User) is { } user)
                {
                    await users.UpdateSecurityStampAsync(user);
                    sessions.Forget(user.Id);
                }

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

    /// <summary>A typed user name as the log and audit may keep it: what no user name can hold is escaped (a password typed in the wrong box is still masked by the log).</summary>
    internal static string Printable(string? username)
    {
        var name = (username ?? "").Trim();
        if (name.Length > 64)
            name = name[..64] + "…";
        return Domain.Input.TextRules.Problem(name, Domain.Input.TextRules.For("username")) is null ? name : Uri.EscapeDataString(name);
    }

    /// <summary>A path of this site, as LocalRedirect will take it: "/\t/evil" (a tab, which browsers drop) answered 500 before.</summary>
    internal static string SafeReturnUrl(string? returnUrl) =>
        !string.IsNullOrEmpty(returnUrl) && returnUrl.Length <= 2000 && returnUrl[0] == '/'
        && (returnUrl.Length == 1 || (returnUrl[1] != '/' && returnUrl[1] != '\\'))
        && !returnUrl.Any(c => char.IsControl(c) || char.IsWhiteSpace(c) || Domain.Input.TextRules.IsBidiControl(c))
            ? returnUrl
            : "/";
}
