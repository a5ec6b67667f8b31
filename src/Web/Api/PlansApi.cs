using System.Security.Claims;
using System.Text;
using DeployDeck.Domain.Plans;
using DeployDeck.Web.Plans;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace DeployDeck.Web.Api;

public static class PlansApi
{
    /// <summary>Ten files of 512 KiB, their JSON escaping and the .env: anything larger is refused before it is read.</summary>
    public const long MaxImportBodyBytes = 12 * 1024 * 1024;

    public static RouteGroupBuilder MapPlansApi(this RouteGroupBuilder api)
    {
        var plans = api.MapGroup("/plans").WithTags("Plans");
        plans.MapGet("/", (PlanStore store, CancellationToken ct) => store.ListAsync(ct));

        plans.MapGet("/{id:guid}", async Task<Results<Ok<PlanDto>, ProblemHttpResult>> (Guid id, PlanStore store, CancellationToken ct, int? revision = null) =>
        {
            var plan = await store.GetAsync(id, revision, ct);
            return plan is null ? NotFound(id, revision) : TypedResults.Ok(plan);
        });

        plans.MapGet("/{id:guid}/revisions", async Task<Results<Ok<List<RevisionSummaryDto>>, ProblemHttpResult>> (Guid id, PlanStore store, CancellationToken ct) =>
        {
            var revisions = await store.RevisionsAsync(id, ct);
            return revisions is null ? NotFound(id, null) : TypedResults.Ok(revisions);
        });

        plans.MapGet("/{id:guid}/revisions/compare", async Task<Results<Ok<IReadOnlyList<PlanChange>>, ProblemHttpResult>> (Guid id, int from, int to, PlanStore store, CancellationToken ct) =>
        {
            var changes = await store.CompareAsync(id, from, to, ct);
            return changes is null
                ? ApiResults.Problem(404, "Unknown revision", $"Plan {id} has no revision {from} or {to}.")
                : TypedResults.Ok(changes);
        });

        plans.MapGet("/{id:guid}/export", async Task<Results<FileContentHttpResult, ProblemHttpResult>> (Guid id, PlanStore store, CancellationToken ct, int? revision = null) =>
        {
            var export = await store.ExportAsync(id, revision, ct);
            return export is { } e
                ? TypedResults.File(Encoding.UTF8.GetBytes(e.Content), "application/yaml", e.FileName)
                : NotFound(id, revision);
        });

        plans.MapPost("/import", async Task<Results<Created<PlanImportResponse>, ProblemHttpResult>> (
                PlanImportRequest? request, PlanStore store, ClaimsPrincipal user, CancellationToken ct) =>
            {
                if (request?.Files is not { Count: > 0 })
                    return ApiResults.Problem(400, "No files", "Send {\"name\": \"…\", \"files\": [{\"name\": \"docker-compose.yml\", \"content\": \"…\"}], \"env\": \"KEY=value\", \"profiles\": []}.");
                var (imported, refusal) = await store.ImportAsync(request, PlanAuthor.Of(user, request.HostAccessReason), ct);
                return refusal is not null ? Problem(refusal) : TypedResults.Created($"/api/plans/{imported!.Plan.Id}", imported);
            })
            .WithMetadata(new RequestSizeLimitAttribute(MaxImportBodyBytes))
            .RequireAuthorization(Auth.Policies.Operate);

        plans.MapPut("/{id:guid}", async Task<Results<Ok<PlanDto>, ProblemHttpResult>> (
                Guid id, PlanUpdate? update, PlanStore store, ClaimsPrincipal user, CancellationToken ct) =>
            {
                if (update is null)
                    return ApiResults.Problem(400, "No plan", "Send the plan as GET /api/plans/{id} returns it, with \"baseRevision\" set to the revision you edited.");
                var (saved, refusal) = await store.SaveRevisionAsync(id, update, PlanAuthor.Of(user), ct);
                return refusal is not null ? Problem(refusal) : TypedResults.Ok(saved!);
            })
            .WithMetadata(new RequestSizeLimitAttribute(MaxImportBodyBytes))
            .RequireAuthorization(Auth.Policies.Operate);

        plans.MapPost("/{id:guid}/revisions/import", async Task<Results<Created<PlanImportResponse>, ProblemHttpResult>> (
                Guid id, PlanImportRequest? request, PlanStore store, ClaimsPrincipal user, CancellationToken ct) =>
            {
                if (request is null)
                    return ApiResults.Problem(400, "No files", "Send {\"files\": [{\"name\": \"docker-compose.yml\", \"content\": \"…\"}], \"env\": \"KEY=value\", \"projectFiles\": []}.");
                var (imported, refusal) = await store.ImportRevisionAsync(id, request, PlanAuthor.Of(user, request.HostAccessReason), ct);
                return refusal is not null ? Problem(refusal) : TypedResults.Created($"/api/plans/{id}?revision={imported!.Plan.Revision}", imported);
            })
            .WithMetadata(new RequestSizeLimitAttribute(MaxImportBodyBytes))
            .RequireAuthorization(Auth.Policies.Operate);

        plans.MapPut("/{id:guid}/project-directory", async Task<Results<NoContent, ProblemHttpResult>> (
                Guid id, ProjectDirectoryUpdate? update, PlanStore store, ClaimsPrincipal user, CancellationToken ct) =>
            {
                var refusal = await store.SetProjectDirectoryAsync(id, update?.ProjectDirectory, user.Identity!.Name!, ct);
                return refusal is not null ? Problem(refusal) : TypedResults.NoContent();
            })
            .RequireAuthorization(Auth.Policies.Admin);
        return api;
    }

    private static ProblemHttpResult NotFound(Guid id, int? revision) =>
        ApiResults.Problem(404, "Unknown plan", revision is null ? $"There is no plan {id}." : $"Plan {id} has no revision {revision}.");

    private static ProblemHttpResult Problem(PlanRefusal refusal)
    {
        var extensions = new Dictionary<string, object?>();
        if (refusal.Issues.Count > 0)
            extensions["issues"] = refusal.Issues;
        if (refusal.Errors is { Count: > 0 } errors)
            extensions["errors"] = errors;
        return TypedResults.Problem(detail: refusal.Detail, statusCode: refusal.Status, title: refusal.Title, extensions: extensions.Count == 0 ? null : extensions);
    }
}
