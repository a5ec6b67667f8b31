using System.Security.Claims;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Web.Fleet;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Web.Api;

public sealed record FleetAbortRequest(string? Reason);

public sealed record FleetApprovalRequest(string? Comment);

public static class FleetRolloutsApi
{
    public static RouteGroupBuilder MapFleetRolloutsApi(this RouteGroupBuilder api)
    {
        var fleets = api.MapGroup("/fleet-rollouts").WithTags("Fleet rollouts");

        fleets.MapPost("/", async Task<Results<Created<FleetRolloutCreated>, ProblemHttpResult>> (FleetRolloutRequest? request, FleetLauncher launcher, ClaimsPrincipal user, CancellationToken ct) =>
        {
            var (created, problem) = await launcher.StartAsync(request ?? new FleetRolloutRequest(null, null, null, null), user, ct);
            return problem ?? (Results<Created<FleetRolloutCreated>, ProblemHttpResult>)TypedResults.Created($"/api/fleet-rollouts/{created!.Id}", created);
        }).RequireAuthorization(Auth.Policies.Operate);

        fleets.MapGet("/", async (IDbContextFactory<DeployDeckDbContext> dbFactory, CancellationToken ct) =>
        {
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            return TypedResults.Ok(await db.FleetRollouts.AsNoTracking().OrderByDescending(f => f.CreatedAt).Take(100)
                .Select(f => new { f.Id, f.PlanId, State = f.State.ToString(), f.WaveSize, f.OnHostFailure, f.ApproveWaves, Hosts = f.Hosts.Count, f.StartedBy, f.CreatedAt, f.FinishedAt })
                .ToListAsync(ct));
        });

        fleets.MapGet("/{id:guid}", async Task<Results<Ok<FleetRolloutView>, ProblemHttpResult>> (Guid id, FleetLauncher launcher, CancellationToken ct) =>
            await launcher.ViewAsync(id, ct) is { } view ? TypedResults.Ok(view) : ApiResults.Problem(404, "Unknown fleet rollout", $"There is no fleet rollout {id}."));

        fleets.MapPost("/{id:guid}/abort", async Task<Results<Accepted, ProblemHttpResult>> (Guid id, FleetAbortRequest? request, FleetLauncher launcher, ClaimsPrincipal user, CancellationToken ct) =>
            await launcher.AbortAsync(id, request?.Reason, user, ct) is { } problem ? problem : TypedResults.Accepted($"/api/fleet-rollouts/{id}"))
            .RequireAuthorization(Auth.Policies.Operate);

        fleets.MapPost("/{id:guid}/approve", async Task<Results<Accepted, ProblemHttpResult>> (Guid id, FleetApprovalRequest? request, FleetLauncher launcher, ClaimsPrincipal user, CancellationToken ct) =>
            await launcher.ApproveWaveAsync(id, request?.Comment, user, ct) is { } problem ? problem : TypedResults.Accepted($"/api/fleet-rollouts/{id}"))
            .RequireAuthorization(Auth.Policies.Approve);
        return api;
    }
}
