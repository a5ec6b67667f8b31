using System.Security.Claims;
using System.Security.Cryptography;
using DeployDeck.Domain.History;
using DeployDeck.Domain.Input;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Web.Audit;
using DeployDeck.Web.Auth;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Web.Api;

public sealed record CreateWebhookRequest(string? Name, string? Url, Guid? HostId, Guid? PlanId, IReadOnlyList<string>? Events);

/// <summary>A webhook as listed: never with its secret.</summary>
public sealed record WebhookDto(Guid Id, string Name, string Url, Guid? HostId, string? HostName, Guid? PlanId, string? PlanName, IReadOnlyList<string> Events, bool Enabled, string CreatedBy, DateTimeOffset CreatedAt);

/// <summary>The answer to a create: the only time the secret is shown.</summary>
public sealed record CreatedWebhookDto(WebhookDto Webhook, string Secret, string SignatureHeader);

public sealed record WebhookDeliveryDto(long Id, long EventId, Guid RolloutId, string EventType, DateTimeOffset CreatedAt, int Attempts, int? LastStatus, string? LastError, DateTimeOffset? LastAttemptAt, DateTimeOffset? DeliveredAt);

public static class WebhooksApi
{
    public static RouteGroupBuilder MapWebhooksApi(this RouteGroupBuilder api)
    {
        var hooks = api.MapGroup("/webhooks").WithTags("Webhooks").RequireAuthorization(Policies.Operate);
        hooks.MapGet("/", async (WebhookAdministration admin, CancellationToken ct) => TypedResults.Ok(await admin.ListAsync(ct)));
        hooks.MapPost("/", async Task<Results<Created<CreatedWebhookDto>, ProblemHttpResult>> (CreateWebhookRequest? request, WebhookAdministration admin, ClaimsPrincipal user, CancellationToken ct) =>
        {
            if (request is null)
                return ApiResults.Problem(400, "Missing fields", "Send {\"name\": \"…\", \"url\": \"https://…\", \"events\": [\"rollout-finished\"], \"hostId\": null, \"planId\": null}.");
            var (created, problem) = await admin.CreateAsync(request, user.Identity?.Name ?? "unknown", ct);
            return problem ?? (Results<Created<CreatedWebhookDto>, ProblemHttpResult>)TypedResults.Created($"/api/webhooks/{created!.Webhook.Id}", created);
        });
        hooks.MapDelete("/{id:guid}", async Task<Results<NoContent, ProblemHttpResult>> (Guid id, WebhookAdministration admin, ClaimsPrincipal user, CancellationToken ct) =>
            await admin.DeleteAsync(id, user.Identity?.Name ?? "unknown", ct) ? TypedResults.NoContent() : ApiResults.Problem(404, "Unknown webhook", $"There is no webhook {id}."));
        hooks.MapGet("/{id:guid}/deliveries", async Task<Results<Ok<List<WebhookDeliveryDto>>, ProblemHttpResult>> (Guid id, WebhookAdministration admin, CancellationToken ct) =>
            await admin.DeliveriesAsync(id, ct) is { } list ? TypedResults.Ok(list) : ApiResults.Problem(404, "Unknown webhook", $"There is no webhook {id}."));
        return api;
    }
}

/// <summary>Creates, lists and deletes webhooks for the API and the webhooks page alike.</summary>
public sealed class WebhookAdministration(IDbContextFactory<DeployDeckDbContext> dbFactory, TimeProvider clock, IConfiguration configuration, ILogger<WebhookAdministration> logger)
{
    public async Task<List<WebhookDto>> ListAsync(CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var hooks = await db.Webhooks.AsNoTracking().OrderBy(w => w.Name).ToListAsync(ct);
        var hosts = await db.Hosts.AsNoTracking().ToDictionaryAsync(h => h.Id, h => h.Name, ct);
        var plans = await db.Plans.AsNoTracking().ToDictionaryAsync(p => p.Id, p => p.Name, ct);
        return hooks.Select(w => ToDto(w, w.HostId is { } h ? hosts.GetValueOrDefault(h) : null, w.PlanId is { } p ? plans.GetValueOrDefault(p) : null)).ToList();
    }

    private static WebhookDto ToDto(Webhook w, string? host, string? plan) =>
        new(w.Id, w.Name, w.Url, w.HostId, host, w.PlanId, plan, w.Events, w.Enabled, w.CreatedBy, w.CreatedAt);

    public async Task<(CreatedWebhookDto? Created, ProblemHttpResult? Problem)> CreateAsync(CreateWebhookRequest request, string user, CancellationToken ct)
    {
        var name = request.Name?.Trim() ?? "";
        if (name.Length is 0 or > 100)
            return (null, ApiResults.Problem(400, "Name needed", "A webhook needs a name of 1 to 100 characters."));
        if (!Uri.TryCreate(request.Url?.Trim(), UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https") || url.ToString().Length > 2000 || !string.IsNullOrEmpty(url.UserInfo))
            return (null, ApiResults.Problem(400, "Bad URL", "The url must be an absolute http:// or https:// address of at most 2000 characters, without user:password@."));
        if (!configuration.GetValue<bool>(OutboundAddresses.AllowSetting) && OutboundAddresses.Problem(url) is { } refused)
            return (null, ApiResults.Problem(400, "Bad URL", $"url: {refused}"));
        if (TextRules.Check(request) is { Count: > 0 } problems)
            return (null, InputValidation.Invalid(problems));
        var events = (request.Events ?? []).OfType<string>().Select(e => e.Trim()).Distinct().ToList();
        if (events.Count == 0)
            return (null, ApiResults.Problem(400, "No events", $"Choose at least one of {string.Join(", ", WebhookEvents.All)}."));
        var unknown = events.Where(e => !WebhookEvents.All.Contains(e)).ToList();
        if (unknown.Count > 0)
            return (null, ApiResults.Problem(400, "Unknown events", $"Unknown event(s) {string.Join(", ", unknown)}; use {string.Join(", ", WebhookEvents.All)}."));

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        string? host = null, plan = null;
        if (request.HostId is { } hostId && (host = await db.Hosts.Where(h => h.Id == hostId).Select(h => h.Name).FirstOrDefaultAsync(ct)) is null)
            return (null, ApiResults.Problem(404, "Unknown host", $"There is no host {hostId}."));
        if (request.PlanId is { } planId && (plan = await db.Plans.Where(p => p.Id == planId).Select(p => p.Name).FirstOrDefaultAsync(ct)) is null)
            return (null, ApiResults.Problem(404, "Unknown plan", $"There is no plan {planId}."));

        var hook = new Webhook
        {
            Name = name,
            Url = url.ToString(),
            Secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)),
            HostId = request.HostId,
            PlanId = request.PlanId,
            Events = events,
            CreatedBy = user,
            CreatedAt = clock.GetUtcNow(),
        };
        db.Webhooks.Add(hook);
        AuditTrail.Add(db, hook.CreatedAt, user, AuditActions.WebhookCreated, $"webhook {name}",
            $"{url.GetLeftPart(UriPartial.Path)} for {string.Join(", ", events)} of {(host is null ? "every host" : $"host {host}")}, {(plan is null ? "every plan" : $"plan {plan}")}");
        await db.SaveChangesAsync(ct);
        logger.LogInformation("Webhook {Webhook} ({WebhookId}) created by {User}", name, hook.Id, user);
        return (new CreatedWebhookDto(ToDto(hook, host, plan), hook.Secret, WebhookEvents.SignatureHeader), null);
    }

    public async Task<bool> DeleteAsync(Guid id, string user, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var hook = await db.Webhooks.FirstOrDefaultAsync(w => w.Id == id, ct);
        if (hook is null)
            return false;
        db.Webhooks.Remove(hook);
        AuditTrail.Add(db, clock.GetUtcNow(), user, AuditActions.WebhookDeleted, $"webhook {hook.Name}", hook.Url);
        await db.SaveChangesAsync(ct);
        return true;
    }

    public async Task<List<WebhookDeliveryDto>?> DeliveriesAsync(Guid id, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (!await db.Webhooks.AnyAsync(w => w.Id == id, ct))
            return null;
        return await db.WebhookDeliveries.AsNoTracking().Where(d => d.WebhookId == id).OrderByDescending(d => d.Id).Take(100)
            .Select(d => new WebhookDeliveryDto(d.Id, d.EventId, d.RolloutId, d.EventType, d.CreatedAt, d.Attempts, d.LastStatus, d.LastError, d.LastAttemptAt, d.DeliveredAt))
            .ToListAsync(ct);
    }
}
