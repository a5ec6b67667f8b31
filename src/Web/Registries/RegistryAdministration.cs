using DeployDeck.Domain.Images;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Images;
using DeployDeck.Infrastructure.Secrets;
using DeployDeck.Web.Api;
using DeployDeck.Web.Audit;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace DeployDeck.Web.Registries;

/// <summary>A registry login as an Admin gives it. On a change, what is null stays; the password is write-only.</summary>
public sealed record RegistryRequest(string? Server, string? Username, string? Password);

/// <summary>A registry login as the API shows it: never the password.</summary>
public sealed record RegistryView(Guid Id, string Server, string Username, string CreatedBy, DateTimeOffset CreatedAt, DateTimeOffset? UpdatedAt)
{
    public static RegistryView Of(RegistryLogin l) => new(l.Id, l.Server, l.Username, l.CreatedBy, l.CreatedAt, l.UpdatedAt);
}

/// <summary>
/// Keeps the registry logins the Worker pulls with: one per server, the password encrypted for the login alone and never
/// returned or logged; every change in the audit trail, without the password.
/// </summary>
public sealed class RegistryAdministration(IDbContextFactory<DeployDeckDbContext> dbFactory, SecretBox secrets, TimeProvider clock, ILogger<RegistryAdministration> logger)
{
    private const int MaxPassword = 4096;

    public async Task<List<RegistryView>> ListAsync(CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return (await db.RegistryLogins.AsNoTracking().OrderBy(l => l.Server).ToListAsync(ct)).Select(RegistryView.Of).ToList();
    }

    public async Task<RegistryView?> GetAsync(Guid id, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.RegistryLogins.AsNoTracking().FirstOrDefaultAsync(l => l.Id == id, ct) is { } login ? RegistryView.Of(login) : null;
    }

    public async Task<(RegistryView? Login, ProblemHttpResult? Problem)> CreateAsync(RegistryRequest request, string user, CancellationToken ct)
    {
        var (server, username, problem) = Validate(request.Server, request.Username);
        if (problem is not null)
            return (null, problem);
        if (PasswordProblem(request.Password, required: true) is { } bad)
            return (null, bad);

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (await db.RegistryLogins.AnyAsync(l => l.Server == server, ct))
            return (null, Taken(server!));
        var now = clock.GetUtcNow();
        var id = Guid.CreateVersion7();
        var login = new RegistryLogin
        {
            Id = id,
            Server = server!,
            Username = username!,
            Password = RegistryCredentials.Protect(secrets, id, request.Password!),
            CreatedBy = user,
            CreatedAt = now,
        };
        db.RegistryLogins.Add(login);
        AuditTrail.Add(db, now, user, AuditActions.RegistryAdded, $"registry {login.Server}", $"user {login.Username}");
        if (await SaveAsync(db, login.Server, ct) is { } conflict)
            return (null, conflict);
        logger.LogInformation("{User} added a login for registry {Server} as {Username}", user, login.Server, login.Username);
        return (RegistryView.Of(login), null);
    }

    public async Task<(RegistryView? Login, ProblemHttpResult? Problem)> UpdateAsync(Guid id, RegistryRequest request, string user, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var login = await db.RegistryLogins.FirstOrDefaultAsync(l => l.Id == id, ct);
        if (login is null)
            return (null, Unknown(id));
        var (server, username, problem) = Validate(request.Server ?? login.Server, request.Username ?? login.Username);
        if (problem is not null)
            return (null, problem);
        if (request.Password is not null && PasswordProblem(request.Password, required: true) is { } bad)
            return (null, bad);
        if (server != login.Server && await db.RegistryLogins.AnyAsync(l => l.Server == server && l.Id != id, ct))
            return (null, Taken(server!));

        var changed = new List<string>();
        if (server != login.Server)
            changed.Add($"server {login.Server} → {server}");
        if (username != login.Username)
            changed.Add($"user {login.Username} → {username}");
        if (request.Password is not null)
            changed.Add("password replaced");
        login.Server = server!;
        login.Username = username!;
        if (request.Password is not null)
            login.Password = RegistryCredentials.Protect(secrets, id, request.Password);
        var now = clock.GetUtcNow();
        login.UpdatedAt = now;
        AuditTrail.Add(db, now, user, AuditActions.RegistryChanged, $"registry {login.Server}", changed.Count > 0 ? string.Join("; ", changed) : "nothing changed");
        if (await SaveAsync(db, login.Server, ct) is { } conflict)
            return (null, conflict);
        logger.LogInformation("{User} changed the login for registry {Server}: {Changes}", user, login.Server, string.Join("; ", changed));
        return (RegistryView.Of(login), null);
    }

    public async Task<ProblemHttpResult?> DeleteAsync(Guid id, string user, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var login = await db.RegistryLogins.FirstOrDefaultAsync(l => l.Id == id, ct);
        if (login is null)
            return Unknown(id);
        db.RegistryLogins.Remove(login);
        AuditTrail.Add(db, clock.GetUtcNow(), user, AuditActions.RegistryRemoved, $"registry {login.Server}", $"user {login.Username}");
        await db.SaveChangesAsync(ct);
        logger.LogInformation("{User} removed the login for registry {Server}", user, login.Server);
        return null;
    }

    private static (string? Server, string? Username, ProblemHttpResult? Problem) Validate(string? serverText, string? usernameText)
    {
        var (server, problem) = ImageReference.NormalizeServer(serverText);
        if (server is null)
            return (null, null, ApiResults.Problem(400, "Server not valid", problem! + "."));
        var username = usernameText?.Trim();
        if (string.IsNullOrEmpty(username) || username.Length > 256 || username.Any(char.IsControl))
            return (null, null, ApiResults.Problem(400, "Username needed", "A registry login needs a username of 1 to 256 characters (no control characters)."));
        return (server, username, null);
    }

    private static ProblemHttpResult? PasswordProblem(string? password, bool required) => password switch
    {
        null or "" when required => ApiResults.Problem(400, "Password needed", "A registry login needs its password (or access token)."),
        { Length: > MaxPassword } => ApiResults.Problem(400, "Password too long", $"A registry password or token has at most {MaxPassword} characters."),
        not null when password.Any(char.IsControl) => ApiResults.Problem(400, "Password not valid", "A registry password has no control characters or line breaks."),
        _ => null,
    };

    private static async Task<ProblemHttpResult?> SaveAsync(DeployDeckDbContext db, string server, CancellationToken ct)
    {
        try
        {
            await db.SaveChangesAsync(ct);
            return null;
        }
        catch (DbUpdateException e) when (e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
        {
            return Taken(server); // a concurrent add of the same server
        }
    }

    private static ProblemHttpResult Taken(string server) => ApiResults.Problem(409, "Registry has a login", $"There is a login for {server} already: change it instead.");

    private static ProblemHttpResult Unknown(Guid id) => ApiResults.Problem(404, "Unknown registry login", $"There is no registry login {id}.");
}
