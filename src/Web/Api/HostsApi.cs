using System.Security.Claims;
using DeployDeck.Domain.Hosts;
using DeployDeck.Web.Hosts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace DeployDeck.Web.Api;

public sealed record HostDto(Guid Id, string Name, string Endpoint, string? Description, DateTimeOffset CreatedAt);

/// <summary>Body of POST /api/hosts/{id}/prune: the kinds to clean; without <paramref name="Confirm"/> nothing is removed, the list is returned.</summary>
/// <param name="Items">With <paramref name="Confirm"/>: the ids the confirmation listed. Only those are removed.</param>
public sealed record PruneRequest(IReadOnlyList<ReclaimKind>? Kinds, bool Confirm, IReadOnlyList<string>? Items);

public sealed record EmergencyStopRequest(string? Reason);

/// <param name="Stopped">In the order they were stopped: latest phase first.</param>
public sealed record EmergencyStopResponse(IReadOnlyList<string> Stopped, IReadOnlyList<string> KeptRunning, Guid? AbortedRollout);

public sealed record PruneResponse(bool Removed, IReadOnlyList<ReclaimableItem> Items, long Bytes, IReadOnlyList<string> Skipped);

public static class HostsApi
{
    public static RouteGroupBuilder MapHostsApi(this RouteGroupBuilder api)
    {
        var hosts = api.MapGroup("/hosts").WithTags("Hosts");
        hosts.MapGet("/", async (HostAdministration admin, CancellationToken ct) => TypedResults.Ok(await admin.ListAsync(ct)));

        hosts.MapGet("/{id:guid}", async Task<Results<Ok<HostView>, ProblemHttpResult>> (Guid id, HostAdministration admin, CancellationToken ct) =>
            await admin.GetAsync(id, ct) is { } host ? TypedResults.Ok(host) : ApiResults.Problem(404, "Unknown host", $"There is no host {id}."));

        hosts.MapPost("/", async Task<Results<Created<HostView>, ProblemHttpResult>> (HostRequest? request, HostAdministration admin, ClaimsPrincipal user, CancellationToken ct) =>
        {
            if (request is null)
                return NoHost();
            var (host, problem) = await admin.CreateAsync(request, user.Identity!.Name!, ct);
            return problem ?? (Results<Created<HostView>, ProblemHttpResult>)TypedResults.Created($"/api/hosts/{host!.Id}", host);
        }).RequireAuthorization(Auth.Policies.Admin);

        hosts.MapPut("/{id:guid}", async Task<Results<Ok<HostView>, ProblemHttpResult>> (Guid id, HostRequest? request, HostAdministration admin, ClaimsPrincipal user, CancellationToken ct) =>
        {
            if (request is null)
                return NoHost();
            var (host, problem) = await admin.UpdateAsync(id, request, user.Identity!.Name!, ct);
            return problem ?? (Results<Ok<HostView>, ProblemHttpResult>)TypedResults.Ok(host!);
        }).RequireAuthorization(Auth.Policies.Admin);

        hosts.MapDelete("/{id:guid}", async Task<Results<NoContent, ProblemHttpResult>> (Guid id, HostAdministration admin, ClaimsPrincipal user, CancellationToken ct) =>
            await admin.DeleteAsync(id, user.Identity!.Name!, ct) is { } problem ? problem : TypedResults.NoContent())
            .RequireAuthorization(Auth.Policies.Admin);

        // "Test connection": of a host being added (nothing saved), or of a saved one.
        hosts.MapPost("/test", async Task<Results<Ok<HostTestResult>, ProblemHttpResult>> (HostRequest? request, HostAdministration admin, CancellationToken ct) =>
        {
            if (request is null)
                return NoHost();
            var (result, problem) = await admin.TestAsync(request, ct);
            return problem ?? (Results<Ok<HostTestResult>, ProblemHttpResult>)TypedResults.Ok(result!);
        }).RequireAuthorization(Auth.Policies.Admin);

        hosts.MapPost("/{id:guid}/test", async Task<Results<Ok<HostTestResult>, ProblemHttpResult>> (Guid id, HostAdministration admin, CancellationToken ct) =>
        {
            var (result, problem) = await admin.TestAsync(id, ct);
            return problem ?? (Results<Ok<HostTestResult>, ProblemHttpResult>)TypedResults.Ok(result!);
        }).RequireAuthorization(Auth.Policies.Admin);

        hosts.MapGet("/{id:guid}/check", async Task<Results<Ok<PreflightResult>, ProblemHttpResult>> (Guid id, HostOperations ops, CancellationToken ct) =>
        {
            var (result, problem) = await ops.CheckAsync(id, ct);
            return problem ?? (Results<Ok<PreflightResult>, ProblemHttpResult>)TypedResults.Ok(result!);
        });

        hosts.MapPut("/{id:guid}/thresholds", async Task<Results<Ok<HostThresholds>, ProblemHttpResult>> (Guid id, HostThresholds? thresholds, HostOperations ops, ClaimsPrincipal user, CancellationToken ct) =>
        {
            if (thresholds is null)
                return ApiResults.Problem(400, "No thresholds", "Send {\"memoryYellow\": 70, \"memoryRed\": 85, \"diskYellow\": 70, \"diskRed\": 85, \"loadYellow\": 2, \"loadRed\": 5, \"keepFreePercent\": 30}.");
            var problem = await ops.SetThresholdsAsync(id, thresholds, user.Identity!.Name!, ct);
            return problem ?? (Results<Ok<HostThresholds>, ProblemHttpResult>)TypedResults.Ok(thresholds);
        }).RequireAuthorization(Auth.Policies.Admin);

        hosts.MapGet("/{id:guid}/disk-usage", async Task<Results<Ok<DiskUsageReport>, ProblemHttpResult>> (Guid id, HostOperations ops, CancellationToken ct) =>
        {
            var (report, problem) = await ops.DiskUsageAsync(id, ct);
            return problem ?? (Results<Ok<DiskUsageReport>, ProblemHttpResult>)TypedResults.Ok(report!);
        });

        hosts.MapPost("/{id:guid}/prune", async Task<Results<Ok<PruneResponse>, ProblemHttpResult>> (Guid id, PruneRequest? request, HostOperations ops, ClaimsPrincipal user, CancellationToken ct) =>
        {
            if (request?.Kinds is not { Count: > 0 })
                return ApiResults.Problem(400, "No kinds", "Send {\"kinds\": [\"Images\", \"Containers\", \"Volumes\", \"BuildCache\"], \"confirm\": false} to see what would be removed, then confirm with the listed \"items\".");
            var (response, problem) = await ops.PruneAsync(id, request, user.Identity!.Name!, ct);
            return problem ?? (Results<Ok<PruneResponse>, ProblemHttpResult>)TypedResults.Ok(response!);
        }).RequireAuthorization(Auth.Policies.Operate);

        hosts.MapPost("/{id:guid}/emergency-stop", async Task<Results<Ok<EmergencyStopResponse>, ProblemHttpResult>> (Guid id, EmergencyStopRequest? request, HostOperations ops, ClaimsPrincipal user, CancellationToken ct) =>
        {
            var (response, problem) = await ops.EmergencyStopAsync(id, request?.Reason, user, ct);
            return problem ?? (Results<Ok<EmergencyStopResponse>, ProblemHttpResult>)TypedResults.Ok(response!);
        }).RequireAuthorization(Auth.Policies.Operate);

        return api;
    }

    private static ProblemHttpResult NoHost() => ApiResults.Problem(400, "No host",
        "Send {\"name\": \"web-1\", \"endpoint\": \"tcp://10.0.0.5:2376\", \"tls\": {\"ca\": \"…\", \"certificate\": \"…\", \"key\": \"…\"}}, "
        + "or an ssh://user@host endpoint with \"ssh\": {\"privateKey\": \"…\"} and the confirmed \"sshHostKey\".");

    public static RouteGroupBuilder MapDryRunApi(this RouteGroupBuilder api)
    {
        api.MapPost("/plans/{id:guid}/dry-run", async Task<Results<Ok<PreflightResult>, ProblemHttpResult>> (Guid id, Guid hostId, HostOperations ops, CancellationToken ct, int? revision = null, bool forceRecreate = false) =>
        {
            var (result, problem) = await ops.DryRunAsync(id, revision, hostId, ct, forceRecreate);
            return problem ?? (Results<Ok<PreflightResult>, ProblemHttpResult>)TypedResults.Ok(result!);
        }).WithTags("Plans");
        return api;
    }
}
