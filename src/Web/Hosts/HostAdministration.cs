using DeployDeck.Domain.Hosts;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Engine;
using DeployDeck.Infrastructure.Secrets;
using DeployDeck.Web.Api;
using DeployDeck.Web.Audit;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace DeployDeck.Web.Hosts;

/// <summary>TLS material of a tcp:// host, PEM. Write-only: it is never returned.</summary>
public sealed record TlsRequest(string? Ca, string? Certificate, string? Key);

/// <summary>The private key of an ssh:// host (OpenSSH or PEM) and its passphrase. Write-only.</summary>
public sealed record SshRequest(string? PrivateKey, string? Passphrase);

/// <summary>
/// A host as an Admin adds or changes it. On a change, what is null stays as it was; credentials given replace the stored
/// ones. <paramref name="SshHostKey"/> is the fingerprint (SHA256:…) the Admin confirmed, as "Test connection" showed it.
/// </summary>
public sealed record HostRequest(string? Name, string? Endpoint, string? Description = null, TlsRequest? Tls = null, SshRequest? Ssh = null, string? SshHostKey = null);

/// <summary>A host as the API and pages show it: never its credentials, only whether it has them.</summary>
public sealed record HostView(
    Guid Id, string Name, string Endpoint, EndpointKind? Kind, string? Description, bool HasCredentials, string? SshHostKey,
    DateTimeOffset CreatedAt, DateTimeOffset? UpdatedAt, DateTimeOffset? LastSeenAt, DateTimeOffset? OfflineSince, string? LastError, HostThresholds Thresholds)
{
    public bool Offline => OfflineSince is not null;

    public static HostView Of(DockerHost h) => new(h.Id, h.Name, h.Endpoint, HostEndpoint.Parse(h.Endpoint).Endpoint?.Kind, h.Description, h.Credentials is not null,
        h.SshHostKey, h.CreatedAt, h.UpdatedAt, h.LastSeenAt, h.OfflineSince, h.LastError, h.Thresholds ?? HostThresholds.Default);
}

/// <summary>What "Test connection" found: the engine's facts, or (an ssh:// host whose key is not confirmed yet) only the key it presents.</summary>
public sealed record HostTestResult(EngineFacts? Engine, string? SshHostKey, bool HostKeyConfirmed);

/// <summary>
/// Adds, changes, tests and removes hosts, for the page and the API alike. Everything is checked before anything is
/// saved; credentials are encrypted for the host alone (<see cref="SecretBox"/>) and never returned; an ssh:// host is
/// saved only with the host key an Admin confirmed; every change is in the audit trail (without the secrets).
/// </summary>
public sealed class HostAdministration(
    IDbContextFactory<DeployDeckDbContext> dbFactory, EngineConnections engines, SecretBox secrets, TimeProvider clock, ILogger<HostAdministration> logger)
{
    private const int MaxPem = 64 * 1024;

    public async Task<List<HostView>> ListAsync(CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return (await db.Hosts.AsNoTracking().InService().OrderBy(h => h.Name).ToListAsync(ct)).Select(HostView.Of).ToList();
    }

    public async Task<HostView?> GetAsync(Guid id, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Hosts.AsNoTracking().InService().FirstOrDefaultAsync(h => h.Id == id, ct) is { } host ? HostView.Of(host) : null;
    }

    public async Task<(HostView? Host, ProblemHttpResult? Problem)> CreateAsync(HostRequest request, string user, CancellationToken ct)
    {
        var id = Guid.CreateVersion7();
        var (spec, problem) = Validate(request.Name, request.Endpoint, request.Description, Credentials(request));
        if (problem is not null)
            return (null, problem);
        var hostKey = await ConfirmedHostKeyAsync(spec!.Name, spec.Endpoint, request.SshHostKey, ct);
        if (hostKey.Problem is not null)
            return (null, hostKey.Problem);

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (await db.Hosts.InService().AnyAsync(h => h.Name == spec.Name, ct))
            return (null, NameTaken(spec.Name));
        var now = clock.GetUtcNow();
        var host = new DockerHost
        {
            Id = id,
            Name = spec.Name,
            Endpoint = spec.Endpoint.ToString(),
            Description = spec.Description,
            CreatedAt = now,
            Credentials = spec.Credentials?.Protect(secrets, id),
            SshHostKey = hostKey.Key,
            ConnectionVersion = 1,
        };
        db.Hosts.Add(host);
        AuditTrail.Add(db, now, user, AuditActions.HostAdded, $"host {host.Name}", Summary(host, spec.Credentials));
        if (await SaveAsync(db, spec.Name, ct) is { } conflict)
            return (null, conflict);
        logger.LogInformation("{User} added host {Host} at {Endpoint}", user, host.Name, host.Endpoint);
        return (HostView.Of(host), null);
    }

    public async Task<(HostView? Host, ProblemHttpResult? Problem)> UpdateAsync(Guid id, HostRequest request, string user, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var host = await db.Hosts.InService().FirstOrDefaultAsync(h => h.Id == id, ct);
        if (host is null)
            return (null, UnknownHost(id));

        var givenCredentials = Credentials(request);
        HostCredentials? stored;
        try
        {
            stored = givenCredentials is null ? HostCredentials.Read(secrets, host) : null;
        }
        catch (SecretUnreadableException)
        {
            stored = null; // a changed key ring: the Admin gives them again (validation below says so)
        }

        var endpointText = request.Endpoint ?? host.Endpoint;
        var (spec, problem) = Validate(request.Name ?? host.Name, endpointText, request.Description ?? host.Description, givenCredentials ?? stored);
        if (problem is not null)
            return (null, problem);

        var endpointChanged = spec!.Endpoint.ToString() != host.Endpoint;
        var connectionChanged = endpointChanged || givenCredentials is not null || (request.SshHostKey is not null && request.SshHostKey != host.SshHostKey);
        string? hostKey = null;
        if (spec.Endpoint.Kind == EndpointKind.Ssh)
        {
            // A new address is another machine until an Admin confirms its key.
            var confirmed = await ConfirmedHostKeyAsync(spec.Name, spec.Endpoint, request.SshHostKey ?? (endpointChanged ? null : host.SshHostKey), ct);
            if (confirmed.Problem is not null)
                return (null, confirmed.Problem);
            hostKey = confirmed.Key;
        }

        if (connectionChanged && await db.Rollouts.AnyAsync(r => r.HostId == id && Rollouts.RolloutLauncher.ActiveStates.Contains(r.State), ct))
            return (null, ApiResults.Problem(409, "Host busy", $"Host '{host.Name}' has a rollout in progress: its endpoint and credentials change after it ends."));
        if (spec.Name != host.Name && await db.Hosts.InService().AnyAsync(h => h.Name == spec.Name && h.Id != id, ct))
            return (null, NameTaken(spec.Name));

        var before = Summary(host, null);
        host.Name = spec.Name;
        host.Description = spec.Description;
        host.Endpoint = spec.Endpoint.ToString();
        host.SshHostKey = hostKey;
        if (givenCredentials is not null || endpointChanged)
            host.Credentials = spec.Credentials?.Protect(secrets, id);
        if (connectionChanged)
        {
            host.ConnectionVersion++;
            host.OfflineSince = null;
            host.LastError = null;
        }

        var now = clock.GetUtcNow();
        host.UpdatedAt = now;
        AuditTrail.Add(db, now, user, AuditActions.HostChanged, $"host {host.Name}",
            $"{before} → {Summary(host, spec.Credentials)}{(givenCredentials is null ? "" : "; credentials replaced")}");
        if (await SaveAsync(db, spec.Name, ct) is { } conflict)
            return (null, conflict);
        return (HostView.Of(host), null);
    }

    /// <summary>
    /// Removes a host. One with rollouts in its history is kept for that history (hidden from lists, never deployed to or
    /// sampled again, its name free for a new host); one without is deleted. Never while a rollout runs on it.
    /// </summary>
    public async Task<ProblemHttpResult?> DeleteAsync(Guid id, string user, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var host = await db.Hosts.InService().FirstOrDefaultAsync(h => h.Id == id, ct);
        if (host is null)
            return UnknownHost(id);
        if (await db.Rollouts.AnyAsync(r => r.HostId == id && Rollouts.RolloutLauncher.ActiveStates.Contains(r.State), ct))
            return ApiResults.Problem(409, "Host busy", $"Host '{host.Name}' has a rollout in progress: abort it or let it end first.");

        var now = clock.GetUtcNow();
        var kept = await db.Rollouts.AnyAsync(r => r.HostId == id, ct);
        if (kept)
        {
            host.RemovedAt = now;
            host.Credentials = null; // nothing reaches it any more: its secrets go
            host.ConnectionVersion++;
        }
        else
        {
            db.Hosts.Remove(host);
        }

        AuditTrail.Add(db, now, user, AuditActions.HostRemoved, $"host {host.Name}", kept ? "kept for the history of its rollouts" : "deleted");
        await db.SaveChangesAsync(ct);
        engines.Forget(id);
        logger.LogInformation("{User} removed host {Host}", user, host.Name);
        return null;
    }

    /// <summary>"Test connection" of a host not saved yet (the add form): nothing is stored.</summary>
    public async Task<(HostTestResult? Result, ProblemHttpResult? Problem)> TestAsync(HostRequest request, CancellationToken ct)
    {
        var (spec, problem) = Validate(request.Name is { Length: > 0 } ? request.Name : "new host", request.Endpoint, null, Credentials(request));
        if (problem is not null)
            return (null, problem);
        var name = spec!.Name;
        try
        {
            if (spec.Endpoint.Kind == EndpointKind.Ssh && string.IsNullOrWhiteSpace(request.SshHostKey))
                return (new HostTestResult(null, await SshHostKeys.ReadHostKeyAsync(spec.Endpoint, TimeSpan.FromSeconds(10), ct), false), null);
            using var engine = engines.Open(new HostConnection(Guid.Empty, name, spec.Endpoint, spec.Credentials, request.SshHostKey is { } k ? SshHostKeys.Normalise(k) : null));
            var facts = await EngineConnections.FactsAsync(engine, ct);
            return (new HostTestResult(facts, facts.SshHostKey, spec.Endpoint.Kind == EndpointKind.Ssh), null);
        }
        catch (Exception e) when (EngineProblem.Of(e, ct) is { } failed)
        {
            return (null, Unreachable(name, spec.Endpoint, failed));
        }
    }

    /// <summary>"Test connection" of a saved host, through the client its work uses; the host's status follows the answer.</summary>
    public async Task<(HostTestResult? Result, ProblemHttpResult? Problem)> TestAsync(Guid id, CancellationToken ct)
    {
        DockerHost? host;
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
            host = await db.Hosts.AsNoTracking().InService().FirstOrDefaultAsync(h => h.Id == id, ct);
        if (host is null)
            return (null, UnknownHost(id));
        var endpoint = HostEndpoint.Parse(host.Endpoint).Endpoint!;
        try
        {
            var facts = await EngineConnections.FactsAsync(engines.For(host), ct);
            await HostStatus.SeenAsync(dbFactory, id, clock.GetUtcNow(), CancellationToken.None);
            return (new HostTestResult(facts, facts.SshHostKey, host.SshHostKey is not null), null);
        }
        catch (Exception e) when (EngineProblem.Of(e, ct) is { } failed)
        {
            await HostStatus.UnreachableAsync(dbFactory, id, clock.GetUtcNow(), failed.Reason, CancellationToken.None);
            return (null, Unreachable(host.Name, endpoint, failed));
        }
    }

    private sealed record Spec(string Name, HostEndpoint Endpoint, string? Description, HostCredentials? Credentials);

    private static (Spec? Spec, ProblemHttpResult? Problem) Validate(string? name, string? endpointText, string? description, HostCredentials? credentials)
    {
        name = name?.Trim();
        if (string.IsNullOrEmpty(name) || name.Length > 100 || name.Any(char.IsControl))
            return (null, ApiResults.Problem(400, "Name needed", "A host needs a name of 1 to 100 characters (no control characters)."));
        if (description?.Length > 500)
            return (null, ApiResults.Problem(400, "Description too long", "A description has at most 500 characters."));
        var (endpoint, problem) = HostEndpoint.Parse(endpointText);
        if (endpoint is null)
            return (null, ApiResults.Problem(400, "Endpoint not valid", problem!));
        var problems = HostCredentials.Problems(endpoint, credentials).ToList();
        if (problems.Count > 0)
            return (null, ApiResults.Problem(422, "Credentials not valid", string.Join(" ", problems)));
        return (new Spec(name, endpoint, string.IsNullOrWhiteSpace(description) ? null : description.Trim(), endpoint.Kind == EndpointKind.Unix ? null : credentials), null);
    }

    /// <summary>The credentials in a request, or null when it gives none; oversize material is cut so validation refuses it.</summary>
    private static HostCredentials? Credentials(HostRequest request)
    {
        static string Bound(string? pem) => pem is null ? "" : pem.Length > MaxPem ? pem[..MaxPem] : pem;
        var tls = request.Tls is { } t && (t.Ca ?? t.Certificate ?? t.Key) is not null ? new TlsMaterial(Bound(t.Ca), Bound(t.Certificate), Bound(t.Key)) : null;
        var ssh = request.Ssh is { PrivateKey: not null } s ? new SshMaterial(Bound(s.PrivateKey), s.Passphrase) : null;
        return tls is null && ssh is null ? null : new HostCredentials(tls, ssh);
    }

    /// <summary>
    /// An ssh:// host's key as an Admin confirmed it. Without one, the host is asked for its key, which comes back in a 409
    /// for the Admin to check and send: pinned on first contact, never trusted unseen.
    /// </summary>
    private static async Task<(string? Key, ProblemHttpResult? Problem)> ConfirmedHostKeyAsync(string name, HostEndpoint endpoint, string? confirmed, CancellationToken ct)
    {
        if (endpoint.Kind != EndpointKind.Ssh)
            return (null, null);
        if (!string.IsNullOrWhiteSpace(confirmed))
        {
            var key = SshHostKeys.Normalise(confirmed);
            return key.Length is > 20 and < 100 && !key.Any(char.IsWhiteSpace)
                ? (key, null)
                : (null, ApiResults.Problem(400, "Host key not valid", $"'{confirmed}' is not an SSH key fingerprint (SHA256:… as ssh-keygen -l prints it)."));
        }

        try
        {
            var presented = await SshHostKeys.ReadHostKeyAsync(endpoint, TimeSpan.FromSeconds(10), ct);
            return (null, TypedResults.Problem(
                detail: $"Host '{name}' ({endpoint}) presents the SSH host key {presented}. Check it (ssh-keygen -l -f /etc/ssh/ssh_host_ed25519_key.pub on the host) and send it as \"sshHostKey\" to confirm.",
                statusCode: 409, title: "Confirm the host key", extensions: new Dictionary<string, object?> { ["sshHostKey"] = presented }));
        }
        catch (Exception e) when (EngineProblem.Of(e, ct) is { } failed)
        {
            return (null, Unreachable(name, endpoint, failed));
        }
    }

    private static async Task<ProblemHttpResult?> SaveAsync(DeployDeckDbContext db, string name, CancellationToken ct)
    {
        try
        {
            await db.SaveChangesAsync(ct);
            return null;
        }
        catch (DbUpdateException e) when (e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
        {
            return NameTaken(name);
        }
    }

    private static string Summary(DockerHost host, HostCredentials? credentials) =>
        $"{host.Endpoint}{(credentials?.Tls is not null ? ", TLS" : "")}{(credentials?.Ssh is not null ? ", SSH key" : "")}{(host.SshHostKey is { } k ? $", host key {k}" : "")}";

    private static ProblemHttpResult Unreachable(string name, HostEndpoint endpoint, EngineProblem failed) =>
        ApiResults.Problem(failed.Status, failed.Status == 504 ? "Engine did not answer" : failed.Status == 409 ? "Host key not confirmed" : "Engine unreachable",
            $"The engine of host '{name}' ({endpoint}) failed: {failed.Reason}");

    private static ProblemHttpResult NameTaken(string name) => ApiResults.Problem(409, "Name taken", $"There is a host named '{name}' already.");

    private static ProblemHttpResult UnknownHost(Guid id) => ApiResults.Problem(404, "Unknown host", $"There is no host {id}.");
}
