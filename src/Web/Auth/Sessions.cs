using System.Collections.Concurrent;
using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using DeployDeck.Domain.Input;
using DeployDeck.Infrastructure.Data;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace DeployDeck.Web.Auth;

public enum PasswordOutcome
{
    Succeeded,
    Failed,
    Throttled,
}

public sealed record PasswordCheckResult(PasswordOutcome Outcome, IdentityUser? User = null, TimeSpan? RetryAfter = null);

/// <summary>
/// Checks a user name and password for the sign-in form and the token API alike. An unknown name, a wrong password, a
/// disabled account and a name throttled for failures all answer the same way and cost the same: a name that does not
/// exist is checked against a dummy hash, so neither the answer nor its time tells who exists.
/// </summary>
public sealed class PasswordCheck(
    UserManager<IdentityUser> users, IPasswordHasher<IdentityUser> hasher, FailedLoginThrottle throttle, UserStates states, DummyPasswordHash dummy)
{
    /// <summary>The one answer to every failed sign-in.</summary>
    public const string FailedMessage = "Unknown user or wrong password.";

    public async Task<PasswordCheckResult> CheckAsync(string? username, string? password, IPAddress? client)
    {
        var name = (username ?? "").Trim();
        if (throttle.RetryAfter(client, name) is { } wait)
            return new(PasswordOutcome.Throttled, RetryAfter: wait);

        // A name or password no user can have (NUL, control characters, too long) never reaches the database.
        var usable = name.Length > 0 && !string.IsNullOrEmpty(password)
            && TextRules.Problem(name, TextRules.For("username")) is null && TextRules.Problem(password, TextRules.For("password")) is null;
        var user = usable ? await users.FindByNameAsync(name) : null;
        // Both paths hash once and ask once whether the account is disabled: the same work whoever the name belongs to.
        var disabled = await states.IsDisabledAsync(user?.Id ?? "");
        var verified = user?.PasswordHash is { } hash
            ? hasher.VerifyHashedPassword(user, hash, password ?? "") != PasswordVerificationResult.Failed && !disabled
            : hasher.VerifyHashedPassword(DummyPasswordHash.User, dummy.Hash, password ?? "") is var _ && false;

        if (!verified)
        {
            throttle.RecordFailure(client, name);
            return new(PasswordOutcome.Failed);
        }

        return new(PasswordOutcome.Succeeded, user);
    }
}

/// <summary>A hash made at start with the same hasher and cost as real ones: what an unknown user name is checked against.</summary>
public sealed class DummyPasswordHash(IPasswordHasher<IdentityUser> hasher)
{
    public static readonly IdentityUser User = new("dummy");

    public string Hash { get; } = hasher.HashPassword(User, Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)));
}

/// <summary>Disabled users: a claim on the user (Identity's own table), so no schema change and it goes when the user goes.</summary>
public sealed class UserStates(IDbContextFactory<DeployDeckDbContext> dbFactory)
{
    public const string DisabledClaim = "deploydeck:disabled";

    public async Task<bool> IsDisabledAsync(string userId, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.UserClaims.AnyAsync(c => c.UserId == userId && c.ClaimType == DisabledClaim, ct);
    }
}

/// <summary>
/// Checks every cookie-authenticated request (and every open page, within seconds) against the user as stored: gone,
/// disabled, or a security stamp that changed — a role change, a password reset, a disable, a sign-out anywhere — and the
/// cookie is refused at once. The stored state is cached for <see cref="SessionOptions.CheckInterval"/> and dropped from
/// the cache the moment this process changes a user, so a check costs no query on most requests and a change never waits.
/// </summary>
public sealed class SessionValidator(IDbContextFactory<DeployDeckDbContext> dbFactory, IOptions<SessionOptions> options, IOptions<IdentityOptions> identity, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, (string? Stamp, bool Disabled, DateTimeOffset At)> _known = new(StringComparer.Ordinal);

    public void Forget(string userId) => _known.TryRemove(userId, out _);

    public async Task<bool> IsValidAsync(ClaimsPrincipal principal, CancellationToken ct = default)
    {
        var userId = principal.FindFirstValue(ClaimTypes.NameIdentifier);
        var stamp = principal.FindFirstValue(identity.Value.ClaimsIdentity.SecurityStampClaimType);
        if (userId is null || stamp is null)
            return false;
        var now = time.GetUtcNow();
        if (!_known.TryGetValue(userId, out var known) || now - known.At > options.Value.CheckInterval)
        {
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            var stored = await db.Users.Where(u => u.Id == userId)
                .Select(u => new { u.SecurityStamp, Disabled = db.UserClaims.Any(c => c.UserId == u.Id && c.ClaimType == UserStates.DisabledClaim) })
                .FirstOrDefaultAsync(ct);
            known = (stored?.SecurityStamp, stored?.Disabled ?? true, now);
            _known[userId] = known;
        }

        return !known.Disabled && known.Stamp == stamp;
    }

    /// <summary>The cookie handler's check, replacing Identity's 30-minute one.</summary>
    public static async Task ValidatePrincipalAsync(CookieValidatePrincipalContext context)
    {
        if (context.Principal is null)
            return;
        var validator = context.HttpContext.RequestServices.GetRequiredService<SessionValidator>();
        if (!await validator.IsValidAsync(context.Principal, context.HttpContext.RequestAborted))
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(IdentityConstants.ApplicationScheme);
        }
    }
}

public sealed class SessionOptions
{
    public const string Section = "Auth";

    /// <summary>How long a user's stored state is trusted by this process, and how often an open page re-checks it.</summary>
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>An open page (a Blazor circuit) re-checks its user every few seconds: a demoted or disabled user's tab signs out on its own.</summary>
public sealed class SessionRevalidatingStateProvider(ILoggerFactory loggers, IServiceScopeFactory scopes, IOptions<SessionOptions> options)
    : RevalidatingServerAuthenticationStateProvider(loggers)
{
    protected override TimeSpan RevalidationInterval => options.Value.CheckInterval;

    protected override async Task<bool> ValidateAuthenticationStateAsync(AuthenticationState authenticationState, CancellationToken cancellationToken)
    {
        if (authenticationState.User.Identity?.IsAuthenticated != true)
            return true;
        await using var scope = scopes.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<SessionValidator>().IsValidAsync(authenticationState.User, cancellationToken);
    }
}
