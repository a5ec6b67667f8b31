using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Live;
using Microsoft.AspNetCore.Authentication;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace DeployDeck.Web.Auth;

/// <summary>
/// Bearer authentication for scripts (personal API tokens) and for the Worker (the shared live key).
/// SignalR's WebSocket transport cannot send headers, so on the hub path the token may come as access_token.
/// </summary>
public sealed class ApiTokenAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IDbContextFactory<DeployDeckDbContext> dbFactory,
    IOptions<LiveHubOptions> live,
    TimeProvider time) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public static string? ReadToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return header["Bearer ".Length..].Trim();
        if (request.Path.StartsWithSegments(LiveHubContract.Path) && request.Query["access_token"].ToString() is { Length: > 0 } query)
            return query;
        return null;
    }

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var token = ReadToken(Request);
        if (string.IsNullOrEmpty(token))
            return AuthenticateResult.NoResult();

        var workerKey = live.Value.WorkerKey;
        if (workerKey.Length > 0 && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(token), Encoding.UTF8.GetBytes(workerKey)))
        {
            var worker = new ClaimsIdentity(
                [new Claim(ClaimTypes.Name, "worker"), new Claim(ClaimTypes.Role, LiveHubContract.WorkerRole)], Scheme.Name);
            return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(worker), Scheme.Name));
        }

        if (!ApiTokens.LooksLikeToken(token))
            return AuthenticateResult.Fail("Not a DeployDeck API token.");

        var hash = ApiTokens.Hash(token);
        await using var db = await dbFactory.CreateDbContextAsync(Context.RequestAborted);
        var found = await db.ApiTokens.FirstOrDefaultAsync(t => t.Hash == hash && t.RevokedAt == null, Context.RequestAborted);
        if (found is null)
            return AuthenticateResult.Fail("The API token is unknown or revoked.");
        // Failed sign-ins never stop a token (that made them a weapon against CI); a disabled or deleted user does.
        var user = await db.Users.FirstOrDefaultAsync(u => u.Id == found.UserId, Context.RequestAborted);
        if (user is null || await db.UserClaims.AnyAsync(c => c.UserId == user.Id && c.ClaimType == UserStates.DisabledClaim, Context.RequestAborted))
            return AuthenticateResult.Fail("The token's user is disabled or gone.");

        var roles = await (from ur in db.UserRoles
                           join r in db.Roles on ur.RoleId equals r.Id
                           where ur.UserId == user.Id
                           select r.Name!).ToListAsync(Context.RequestAborted);
        var now = time.GetUtcNow();
        if (found.LastUsedAt is null || now - found.LastUsedAt > TimeSpan.FromMinutes(1))
        {
            found.LastUsedAt = now;
            await db.SaveChangesAsync(Context.RequestAborted);
        }

        var claims = new List<Claim>
        {
            new(ClaimTypes.NameIdentifier, user.Id),
            new(ClaimTypes.Name, user.UserName!),
            new("token_id", found.Id.ToString()),
        };
        claims.AddRange(roles.Select(r => new Claim(ClaimTypes.Role, r)));
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme.Name)), Scheme.Name));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        return Task.CompletedTask;
    }
}

public sealed class LiveHubOptions
{
    public const string Section = "Live";

    /// <summary>The shared secret the Worker presents. Never logged, never shown.</summary>
    public string WorkerKey { get; set; } = "";
}
