using System.Text.Json;
using DeployDeck.Domain.History;
using DeployDeck.Domain.Rollouts;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Web.Live;
using DeployDeck.Web.Rollouts;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Web.Api;

/// <summary>Rollout history for people and CI: the filtered list, one rollout (optionally waiting for its end), its record and exports.</summary>
public static class RolloutHistoryApi
{
    /// <summary>The longest a long-poll holds a request: under common proxy and CI step timeouts.</summary>
    public const int MaxWaitSeconds = 120;

    /// <summary>How often a long-poll reads the rollout again when no event woke it (the Worker may not be connected to the hub).</summary>
    private static readonly TimeSpan Recheck = TimeSpan.FromSeconds(2);

    public static RouteGroupBuilder MapRolloutHistoryApi(this RouteGroupBuilder api)
    {
        var rollouts = api.MapGroup("/rollouts").WithTags("Rollouts");

        rollouts.MapGet("/", async Task<Results<Ok<HistoryPage>, ValidationProblem>> (
            HttpRequest request, IDbContextFactory<DeployDeckDbContext> dbFactory, CancellationToken ct) =>
        {
            var (query, problems) = Parse(request);
            if (query is null)
                return Invalid(problems);
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            return TypedResults.Ok(await RolloutRecords.PageAsync(db, query, ct));
        });

        // The whole filtered list (page and pageSize are ignored), streamed page by page.
        rollouts.MapGet("/export.csv", async Task<Results<EmptyHttpResult, ValidationProblem>> (
            HttpRequest request, HttpResponse response, IDbContextFactory<DeployDeckDbContext> dbFactory, TimeProvider clock, CancellationToken ct) =>
        {
            var (query, problems) = Parse(request);
            if (query is null)
                return Invalid(problems);
            response.ContentType = "text/csv; charset=utf-8";
            response.Headers.ContentDisposition = $"attachment; filename=\"{RolloutRecords.FileName("rollouts", clock.GetUtcNow())}.csv\"";
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            await using var writer = new StreamWriter(response.Body, new System.Text.UTF8Encoding(false));
            await writer.WriteLineAsync(RolloutRecords.CsvHeader.AsMemory(), ct);
            await foreach (var row in RolloutRecords.AllAsync(db, query with { Page = 1 }, ct))
                await writer.WriteLineAsync(RolloutRecords.CsvLine(row).AsMemory(), ct);
            return TypedResults.Empty;
        });

        rollouts.MapGet("/{id:guid}", async Task<Results<Ok<RolloutView>, ProblemHttpResult, ValidationProblem>> (
            Guid id, HttpRequest request, IDbContextFactory<DeployDeckDbContext> dbFactory, RolloutBroadcaster live, TimeProvider clock, CancellationToken ct) =>
        {
            var wait = 0;
            if (request.Query.TryGetValue("wait", out var waitText)
                && (!int.TryParse(waitText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out wait) || wait > MaxWaitSeconds))
            {
                return TypedResults.ValidationProblem(
                    new Dictionary<string, string[]> { ["wait"] = [$"'{waitText}' is not a number of seconds from 0 to {MaxWaitSeconds}."] },
                    detail: "Invalid query parameter: wait.");
            }

            var deadline = clock.GetUtcNow().AddSeconds(wait);
            // The Worker's events wake the wait as they reach the hub; the database stays the answer.
            using var events = live.WaitFor(id);
            while (true)
            {
                RolloutView? view;
                await using (var db = await dbFactory.CreateDbContextAsync(ct))
                    view = await RolloutQueries.GetAsync(db, id, ct);
                if (view is null)
                    return ApiResults.Problem(404, "Unknown rollout", $"There is no rollout {id}.");
                if (IsFinal(view.State) || clock.GetUtcNow() >= deadline)
                    return TypedResults.Ok(view);
                // ct is the request's: a client that gives up ends the wait at once.
                var left = deadline - clock.GetUtcNow();
                await events.NextAsync(left < Recheck ? left : Recheck, ct);
            }
        });

        rollouts.MapGet("/{id:guid}/record", async Task<Results<Ok<RolloutRecord>, ProblemHttpResult>> (
            Guid id, IDbContextFactory<DeployDeckDbContext> dbFactory, CancellationToken ct) =>
        {
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            var record = await RolloutRecords.GetAsync(db, id, ct);
            return record is null ? ApiResults.Problem(404, "Unknown rollout", $"There is no rollout {id}.") : TypedResults.Ok(record);
        });

        rollouts.MapGet("/{id:guid}/export", async Task<Results<FileContentHttpResult, ProblemHttpResult>> (
            Guid id, IDbContextFactory<DeployDeckDbContext> dbFactory, Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json, CancellationToken ct) =>
        {
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            var record = await RolloutRecords.GetAsync(db, id, ct);
            if (record is null)
                return ApiResults.Problem(404, "Unknown rollout", $"There is no rollout {id}.");
            var options = new JsonSerializerOptions(json.Value.SerializerOptions) { WriteIndented = true };
            return TypedResults.File(JsonSerializer.SerializeToUtf8Bytes(record, options), "application/json", $"rollout-{id}.json");
        });

        api.MapGet("/reports/weekly", async Task<Results<Ok<IReadOnlyList<HostWeek>>, ValidationProblem>> (
            HttpRequest request, IDbContextFactory<DeployDeckDbContext> dbFactory, TimeProvider clock, CancellationToken ct) =>
        {
            var (query, problems) = HistoryQuery.Parse(null, request.Query["hostId"], null, null, request.Query["from"], request.Query["to"], null, null, null);
            if (query is null)
                return Invalid(problems);
            var to = query.To ?? clock.GetUtcNow();
            var from = query.From ?? to.AddDays(-7 * 12);
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            return TypedResults.Ok(await RolloutRecords.WeeklyAsync(db, from, to, query.HostId, ct));
        }).WithTags("Reports");
        return api;
    }

    private static bool IsFinal(string state) => Enum.TryParse<RolloutState>(state, out var s) && RolloutStateMachine.IsFinal(s);

    public static (HistoryQuery? Query, IReadOnlyList<QueryProblem> Problems) Parse(HttpRequest request)
    {
        var q = request.Query;
        return HistoryQuery.Parse(q["state"], q["hostId"], q["planId"], q["startedBy"], q["from"], q["to"], q["sort"], q["page"], q["pageSize"]);
    }

    /// <summary>400 with each bad parameter named in "errors" and in the detail.</summary>
    public static ValidationProblem Invalid(IReadOnlyList<QueryProblem> problems) => TypedResults.ValidationProblem(
        problems.GroupBy(p => p.Parameter).ToDictionary(g => g.Key, g => g.Select(p => p.Message).ToArray()),
        detail: $"Invalid query parameter{(problems.Select(p => p.Parameter).Distinct().Count() == 1 ? "" : "s")}: {string.Join(", ", problems.Select(p => p.Parameter).Distinct())}. "
            + string.Join(" ", problems.Select(p => $"{p.Parameter}: {p.Message}")));
}
