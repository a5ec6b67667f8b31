using System.Security.Claims;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Web.Audit;
using DeployDeck.Web.Auth;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Web.Api;

public sealed record CreateTokenRequest(string? Username, string? Password, string? Name);

public sealed record CreatedTokenDto(Guid Id, string Name, string Token, string Prefix, DateTimeOffset CreatedAt);

public sealed record TokenDto(Guid Id, string Name, string Prefix, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt);

public static class TokensApi
{
    public static RouteGroupBuilder MapTokensApi(this RouteGroupBuilder api)
    {
        var tokens = api.MapGroup("/tokens").WithTags("Tokens");

        // Scripts trade a username and password for a token once; throttled like the login form, and answered like it.
        tokens.MapPost("/", async Task<Results<Created<CreatedTokenDto>, ProblemHttpResult>> (
            CreateTokenRequest? request, HttpContext http, PasswordCheck check, TokenIssuer issuer,
            IDbContextFactory<DeployDeckDbContext> dbFactory, TimeProvider clock, CancellationToken ct) =>
        {
            var missing = new List<Domain.Input.FieldProblem>();
            if (string.IsNullOrWhiteSpace(request?.Username))
                missing.Add(new("username", "is required"));
            if (string.IsNullOrEmpty(request?.Password))
                missing.Add(new("password", "is required"));
            if (missing.Count > 0)
                return InputValidation.Invalid(missing);

            var result = await check.CheckAsync(request!.Username, request.Password, http.Connection.RemoteIpAddress);
            switch (result.Outcome)
            {
                case PasswordOutcome.Throttled:
                    http.Response.Headers.RetryAfter = FailedLoginThrottle.Seconds(result.RetryAfter!.Value).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    return ApiResults.Problem(429, "Too many failed sign-ins", FailedLoginThrottle.Message(result.RetryAfter.Value));
                case PasswordOutcome.Failed:
                    await AccountEndpoints.RecordAsync(dbFactory, clock, AccountEndpoints.Printable(request.Username), AuditActions.LoginFailed, "token API", http, "unknown user, wrong password or disabled account");
                    return ApiResults.Problem(401, "Sign-in failed", PasswordCheck.FailedMessage);
            }

            var (created, refusal) = await issuer.IssueAsync(result.User!.Id, request.Name, ct);
            return refusal is not null ? refusal : TypedResults.Created($"/api/tokens/{created!.Id}", created);
        })
        .AllowAnonymous();

        tokens.MapGet("/", async (ClaimsPrincipal user, IDbContextFactory<DeployDeckDbContext> dbFactory, CancellationToken ct) =>
        {
            var userId = user.FindFirstValue(ClaimTypes.NameIdentifier);
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            return TypedResults.Ok(await db.ApiTokens.AsNoTracking().Where(t => t.UserId == userId).OrderByDescending(t => t.CreatedAt)
                .Select(t => new TokenDto(t.Id, t.Name, t.Prefix, t.CreatedAt, t.LastUsedAt, t.RevokedAt)).ToListAsync(ct));
        });

        tokens.MapDelete("/{id:guid}", async Task<Results<NoContent, ProblemHttpResult>> (Guid id, ClaimsPrincipal user, TokenIssuer issuer, CancellationToken ct) =>
            await issuer.RevokeAsync(id, user, ct) ? TypedResults.NoContent() : ApiResults.Problem(404, "Unknown token", $"You have no token {id}."));
        return api;
    }
}

/// <summary>Issues and revokes personal API tokens for the API and the tokens page.</summary>
public sealed class TokenIssuer(IDbContextFactory<DeployDeckDbContext> dbFactory, TimeProvider time, ILogger<TokenIssuer> logger)
{
    public const int MaxActivePerUser = 20;

    public async Task<(CreatedTokenDto? Token, ProblemHttpResult? Refusal)> IssueAsync(string userId, string? name, CancellationToken ct)
    {
        name = string.IsNullOrWhiteSpace(name) ? "api" : name.Trim();
        if (Domain.Input.TextRules.Problem(name, Domain.Input.TextRules.For("name")) is { } problem)
            return (null, InputValidation.Invalid([new("name", problem)]));

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (await db.ApiTokens.CountAsync(t => t.UserId == userId && t.RevokedAt == null, ct) >= MaxActivePerUser)
            return (null, ApiResults.Problem(409, "Too many tokens", $"A user has at most {MaxActivePerUser} active tokens; revoke one first."));

        var secret = ApiTokens.Generate();
        var token = new ApiToken
        {
            UserId = userId,
            Name = name,
            Hash = ApiTokens.Hash(secret),
            Prefix = ApiTokens.Prefix(secret),
            CreatedAt = time.GetUtcNow(),
        };
        db.ApiTokens.Add(token);
        var userName = await db.Users.Where(u => u.Id == userId).Select(u => u.UserName).FirstOrDefaultAsync(ct) ?? userId;
        AuditTrail.Add(db, token.CreatedAt, userName, AuditActions.TokenCreated, $"token {token.Id}", $"'{name}' ({token.Prefix}…)");
        await db.SaveChangesAsync(ct);
        logger.LogInformation("API token {TokenId} ({Prefix}…) created for user {UserId}", token.Id, token.Prefix, userId);
        return (new CreatedTokenDto(token.Id, token.Name, secret, token.Prefix, token.CreatedAt), null);
    }

    public async Task<bool> RevokeAsync(Guid id, ClaimsPrincipal user, CancellationToken ct)
    {
        var userId = user.FindFirstValue(ClaimTypes.NameIdentifier);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var token = await db.ApiTokens.FirstOrDefaultAsync(t => t.Id == id && (t.UserId == userId || user.IsInRole(Roles.Admin)), ct);
        if (token is null)
            return false;
        if (token.RevokedAt is not null)
            return true; // revoked already: nothing happened, nothing to record
        token.RevokedAt = time.GetUtcNow();
        AuditTrail.Add(db, token.RevokedAt.Value, user.Identity?.Name ?? "unknown", AuditActions.TokenRevoked, $"token {token.Id}", $"'{token.Name}' ({token.Prefix}…)");
        await db.SaveChangesAsync(ct);
        logger.LogInformation("API token {TokenId} revoked by {User}", id, user.Identity?.Name);
        return true;
    }
}
