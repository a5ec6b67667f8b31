using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;
using DeployDeck.Infrastructure.Data;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Web.Api;

public sealed record PlanSummaryDto(Guid Id, string Name, string? Description, int LatestRevision, int Phases, int Services, DateTimeOffset CreatedAt);

public sealed record ServiceDto(
    string Name, string Image, IReadOnlyList<string>? Command, long? MemoryLimitBytes, long? MemoryReservationBytes,
    long? MemorySwapBytes, double? Cpus, string Restart, HealthCheckDto? HealthCheck, IReadOnlyList<string> DependsOn, IReadOnlyList<string> Ports);

public sealed record HealthCheckDto(IReadOnlyList<string> Test, double IntervalSeconds, double TimeoutSeconds, int Retries, double StartPeriodSeconds);

public sealed record PhaseDto(
    string Name, string Risk, long? MemoryBudgetBytes, double? CpuBudget, double SoakSeconds, string Promotion, string OnFailure,
    long MemoryLimitsBytes, long MemoryReservationsBytes, IReadOnlyList<ServiceDto> Services);

public sealed record PlanDto(Guid Id, string Name, string? Description, Guid RevisionId, int Revision, DateTimeOffset RevisionCreatedAt, string RevisionCreatedBy, long? StackBudgetBytes, IReadOnlyList<PhaseDto> Phases);

public static class PlansApi
{
    public static RouteGroupBuilder MapPlansApi(this RouteGroupBuilder api)
    {
        var plans = api.MapGroup("/plans").WithTags("Plans");
        plans.MapGet("/", async (IDbContextFactory<DeployDeckDbContext> dbFactory, CancellationToken ct) =>
        {
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            return TypedResults.Ok(await PlanQueries.ListAsync(db, ct));
        });

        plans.MapGet("/{id:guid}", async Task<Results<Ok<PlanDto>, ProblemHttpResult>> (Guid id, IDbContextFactory<DeployDeckDbContext> dbFactory, CancellationToken ct) =>
        {
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            var plan = await PlanQueries.GetAsync(db, id, ct);
            return plan is null ? ApiResults.Problem(404, "Unknown plan", $"There is no plan {id}.") : TypedResults.Ok(plan);
        });
        return api;
    }
}

public static class PlanQueries
{
    public static async Task<List<PlanSummaryDto>> ListAsync(DeployDeckDbContext db, CancellationToken ct)
    {
        var rows = await db.Plans.AsNoTracking().OrderBy(p => p.Name)
            .Select(p => new
            {
                p.Id, p.Name, p.Description, p.CreatedAt,
                Latest = db.PlanRevisions.Where(r => r.PlanId == p.Id).OrderByDescending(r => r.Number)
                    .Select(r => new { r.Number, Phases = r.Phases.Count, Services = r.Phases.SelectMany(ph => ph.Services).Count() })
                    .FirstOrDefault(),
            })
            .ToListAsync(ct);
        return rows.Select(p => new PlanSummaryDto(p.Id, p.Name, p.Description, p.Latest?.Number ?? 0, p.Latest?.Phases ?? 0, p.Latest?.Services ?? 0, p.CreatedAt)).ToList();
    }

    public static async Task<PlanDto?> GetAsync(DeployDeckDbContext db, Guid id, CancellationToken ct)
    {
        var plan = await db.Plans.AsNoTracking().FirstOrDefaultAsync(p => p.Id == id, ct);
        if (plan is null)
            return null;
        var revision = await db.PlanRevisions.AsNoTracking().Where(r => r.PlanId == id).OrderByDescending(r => r.Number).FirstOrDefaultAsync(ct);
        if (revision is null)
            return new PlanDto(plan.Id, plan.Name, plan.Description, Guid.Empty, 0, plan.CreatedAt, "", null, []);
        return ToDto(plan, revision);
    }

    public static PlanDto ToDto(Plan plan, PlanRevision revision)
    {
        var spec = revision.ToSpec();
        return new PlanDto(plan.Id, plan.Name, plan.Description, revision.Id, revision.Number, revision.CreatedAt, revision.CreatedBy,
            spec.StackBudget?.Bytes, spec.Phases.Select(ToDto).ToList());
    }

    private static PhaseDto ToDto(PhaseSpec p) => new(
        p.Name, p.Risk.ToString(), p.MemoryBudget?.Bytes, p.CpuBudget?.Cores, p.Soak.TotalSeconds, p.Promotion.ToString(), p.OnFailure.ToString(),
        p.Services.Sum(s => s.Resources.MemoryLimit?.Bytes ?? 0),
        p.Services.Sum(s => s.Resources.MemoryReservation?.Bytes ?? 0),
        p.Services.Select(ToDto).ToList());

    private static ServiceDto ToDto(ServiceSpec s) => new(
        s.Name, s.Image, s.Command, s.Resources.MemoryLimit?.Bytes, s.Resources.MemoryReservation?.Bytes, s.Resources.MemorySwapLimit?.Bytes,
        s.Resources.Cpus?.Cores, s.Restart.ToString(),
        s.HealthCheck is { } h ? new HealthCheckDto(h.Test, h.Interval.TotalSeconds, h.Timeout.TotalSeconds, h.Retries, h.StartPeriod.TotalSeconds) : null,
        s.DependsOn.Select(d => d.Service).ToList(),
        s.Ports.Select(p => p.ToString()).ToList());

    /// <summary>For pages: "512 MB" or "—".</summary>
    public static string Format(long? bytes) => bytes is { } b ? new MemorySize(b).ToString() : "—";
}
