using System.Security.Claims;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Web.Rollouts;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Web.Api;

/// <param name="Acknowledgement">An Approver's reason to start on a YELLOW host.</param>
/// <param name="ForceRecreate">Recreate every service, even one the host runs unchanged (audited).</param>
public sealed record StartRolloutRequest(Guid PlanId, Guid HostId, string? Acknowledgement = null, bool ForceRecreate = false);

public sealed record StartRolloutResponse(Guid Id, string Url);

public sealed record ApproveRequest(string? Comment);

public sealed record AbortRequest(string? Reason);

public sealed record ResumeRequest(string? Reason);

public static class RolloutsApi
{
    public static RouteGroupBuilder MapRolloutsApi(this RouteGroupBuilder api)
    {
        var rollouts = api.MapGroup("/rollouts").WithTags("Rollouts");

        // Reads (the filtered list, one rollout, its long-poll, exports) are in RolloutHistoryApi.

        // The role is checked by the launcher too, so the UI and the API cannot disagree.
        rollouts.MapPost("/", async Task<Results<Created<StartRolloutResponse>, ProblemHttpResult>> (
            StartRolloutRequest? request, RolloutLauncher launcher, ClaimsPrincipal user, CancellationToken ct) =>
        {
            if (request is null || request.PlanId == Guid.Empty || request.HostId == Guid.Empty)
                return ApiResults.Problem(400, "Missing fields", "Send {\"planId\": \"…\", \"hostId\": \"…\"}.");
            var (id, refusal) = await launcher.StartAsync(request.PlanId, request.HostId, user, ct, request.Acknowledgement, request.ForceRecreate);
            if (refusal is not null)
            {
                return TypedResults.Problem(detail: refusal.Detail, statusCode: refusal.Status, title: refusal.Title,
                    extensions: refusal.CanAcknowledge ? new Dictionary<string, object?> { ["canAcknowledge"] = true } : null);
            }
            return TypedResults.Created($"/api/rollouts/{id}", new StartRolloutResponse(id!.Value, $"/rollouts/{id}"));
        }).RequireAuthorization(Auth.Policies.Operate);

        rollouts.MapPost("/{id:guid}/approve", async Task<Results<Ok<RolloutView>, ProblemHttpResult>> (
            Guid id, ApproveRequest? request, RolloutApprovals approvals, IDbContextFactory<DeployDeckDbContext> dbFactory, ClaimsPrincipal user, CancellationToken ct) =>
        {
            var refusal = await approvals.ApproveAsync(id, user, request?.Comment, ct);
            if (refusal is not null)
                return ApiResults.Problem(refusal.Status, refusal.Title, refusal.Detail);
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            return TypedResults.Ok((await RolloutQueries.GetAsync(db, id, ct))!);
        }).RequireAuthorization(Auth.Policies.Approve);

        rollouts.MapPost("/{id:guid}/abort", async Task<Results<Accepted<RolloutView>, ProblemHttpResult>> (
            Guid id, AbortRequest? request, RolloutAborts aborts, IDbContextFactory<DeployDeckDbContext> dbFactory, ClaimsPrincipal user, CancellationToken ct) =>
            await AcceptedAsync(id, await aborts.AbortAsync(id, user, request?.Reason, ct), dbFactory, ct))
            .RequireAuthorization(Auth.Policies.Operate);

        rollouts.MapPost("/{id:guid}/resume", async Task<Results<Accepted<RolloutView>, ProblemHttpResult>> (
            Guid id, ResumeRequest? request, RolloutResumes resumes, IDbContextFactory<DeployDeckDbContext> dbFactory, ClaimsPrincipal user, CancellationToken ct) =>
            await AcceptedAsync(id, await resumes.ResumeAsync(id, user, request?.Reason, ct), dbFactory, ct))
            .RequireAuthorization(Auth.Policies.Operate);
        return api;
    }

    /// <summary>An operator's decision, taken or refused: the rollout as it is now, or the refusal as a problem.</summary>
    private static async Task<Results<Accepted<RolloutView>, ProblemHttpResult>> AcceptedAsync(
        Guid id, LaunchRefusal? refusal, IDbContextFactory<DeployDeckDbContext> dbFactory, CancellationToken ct)
    {
        if (refusal is not null)
            return ApiResults.Problem(refusal.Status, refusal.Title, refusal.Detail);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return TypedResults.Accepted($"/api/rollouts/{id}", (await RolloutQueries.GetAsync(db, id, ct))!);
    }
}
