using System.Security.Claims;
using DeployDeck.Domain.Engine;
using DeployDeck.Domain.Hosts;
using DeployDeck.Domain.Rollouts;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Engine;
using DeployDeck.Infrastructure.Preflight;
using DeployDeck.Web.Api;
using DeployDeck.Web.Plans;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Web.Hosts;

/// <summary>Host check, dry run, disk usage and prune for the UI and the API alike.</summary>
public sealed class HostOperations(
    IDbContextFactory<DeployDeckDbContext> dbFactory, PreflightRunner preflight, ProjectReconciler reconciler, EngineConnections engines, PlanStore plans,
    Rollouts.RolloutAborts aborts, TimeProvider clock, ILogger<HostOperations> logger)
{
    /// <summary>
    /// Stops the non-essential phases of what DeployDeck runs on the host, latest phase first, keeping each plan's first
    /// phase running; a rollout in progress on the host is aborted first. Recorded in the audit trail.
    /// </summary>
    public async Task<(EmergencyStopResponse? Response, ProblemHttpResult? Problem)> EmergencyStopAsync(Guid hostId, string? reason, ClaimsPrincipal user, CancellationToken ct)
    {
        if (Rollouts.LaunchRefusal.ForText("reason", reason) is { } invalid)
            return (null, Api.ApiResults.Problem(invalid.Status, invalid.Title, invalid.Detail));
        var host = await HostAsync(hostId, ct);
        if (host is null)
            return (null, UnknownHost(hostId));
        var who = user.Identity?.Name ?? "unknown";

        Guid? aborted = null;
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
        {
            var active = await db.Rollouts.AsNoTracking().Where(r => r.HostId == hostId && Rollouts.RolloutLauncher.ActiveStates.Contains(r.State))
                .Select(r => (Guid?)r.Id).FirstOrDefaultAsync(ct);
            if (active is { } rolloutId && await aborts.AbortAsync(rolloutId, user, $"emergency stop{(string.IsNullOrWhiteSpace(reason) ? "" : ": " + reason)}", ct) is null)
                aborted = rolloutId;
        }

        var (containers, problem) = await Engine(async () => (await engines.For(host).Engine.ListAsync(new Dictionary<string, string> { [OwnershipLabels.Managed] = "true" }, ct)).ToList(), host);
        if (problem is not null)
            return (null, problem);

        // Each container's phase position comes from the revision that created it.
        var revisionIds = containers!.Select(c => c.Labels.GetValueOrDefault(OwnershipLabels.Revision)).OfType<string>().Distinct()
            .Select(r => Guid.TryParse(r, out var g) ? g : Guid.Empty).Where(g => g != Guid.Empty).ToList();
        Dictionary<Guid, List<string>> phaseNames;
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
        {
            phaseNames = (await db.PlanRevisions.AsNoTracking().Where(r => revisionIds.Contains(r.Id)).ToListAsync(ct))
                .ToDictionary(r => r.Id, r => r.Phases.OrderBy(p => p.Order).Select(p => p.Name).ToList());
        }

        int? IndexOf(ContainerSummary c) =>
            Guid.TryParse(c.Labels.GetValueOrDefault(OwnershipLabels.Revision), out var rev) && phaseNames.TryGetValue(rev, out var names)
            && names.IndexOf(c.Labels.GetValueOrDefault(OwnershipLabels.Phase) ?? "") is var i and >= 0 ? i : null;

        var order = EmergencyStop.Order(containers!, IndexOf);
        var stopped = new List<string>();
        foreach (var container in order)
        {
            try
            {
                await engines.For(host).Engine.StopAsync(container.Id, TimeSpan.FromSeconds(10), ct);
                stopped.Add($"{container.Name} ({container.Labels.GetValueOrDefault(OwnershipLabels.Phase)})");
            }
            catch (Exception e) when (e is Docker.DotNet.DockerApiException || EngineProblem.Of(e, ct) is not null)
            {
                logger.LogWarning("Emergency stop of {Container} failed: {Reason}", container.Name, e.Message);
            }
        }

        var kept = containers!.Where(c => c.State == "running" && !order.Contains(c)).Select(c => $"{c.Name} ({c.Labels.GetValueOrDefault(OwnershipLabels.Phase)})").ToList();
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
        {
            Audit.AuditTrail.Add(db, clock.GetUtcNow(), who, Audit.AuditActions.EmergencyStop, $"host {host.Name}",
                $"{(string.IsNullOrWhiteSpace(reason) ? "" : reason + "; ")}stopped {string.Join(", ", stopped)}; kept {string.Join(", ", kept)}");
            await db.SaveChangesAsync(ct);
        }

        logger.LogWarning("Emergency stop on host {Host} by {User}: {Count} container(s) stopped", host.Name, who, stopped.Count);
        return (new EmergencyStopResponse(stopped, kept, aborted), null);
    }

    public async Task<(PreflightResult? Result, ProblemHttpResult? Problem)> CheckAsync(Guid hostId, CancellationToken ct)
    {
        var host = await HostAsync(hostId, ct);
        if (host is null)
            return (null, UnknownHost(hostId));
        return await Engine(() => preflight.CheckAsync(host, ct), host);
    }

    /// <summary>The host check, the admission forecast and the reconcile plan: what a start would do, touching nothing.</summary>
    public async Task<(PreflightResult? Result, ProblemHttpResult? Problem)> DryRunAsync(Guid planId, int? revision, Guid hostId, CancellationToken ct, bool forceRecreate = false)
    {
        var host = await HostAsync(hostId, ct);
        if (host is null)
            return (null, UnknownHost(hostId));
        var spec = await plans.SpecAsync(planId, revision, ct);
        if (spec is null)
            return (null, ApiResults.Problem(404, "Unknown plan", revision is null ? $"There is no plan {planId}." : $"Plan {planId} has no revision {revision}."));
        string project;
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
            project = await db.Plans.Where(p => p.Id == planId).Select(p => p.ProjectName).FirstAsync(ct);
        return await Engine(async () => await preflight.ForecastAsync(spec, planId, host, 0, ct, await reconciler.PlanAsync(host, project, spec, forceRecreate, ct)), host);
    }

    public async Task<(DiskUsageReport? Report, ProblemHttpResult? Problem)> DiskUsageAsync(Guid hostId, CancellationToken ct)
    {
        var host = await HostAsync(hostId, ct);
        if (host is null)
            return (null, UnknownHost(hostId));
        return await Engine(() => engines.For(host).Inspector.DiskUsageAsync(ct), host);
    }

    public async Task<ProblemHttpResult?> SetThresholdsAsync(Guid hostId, HostThresholds thresholds, string user, CancellationToken ct)
    {
        var problems = thresholds.Problems().ToList();
        if (problems.Count > 0)
            return ApiResults.Problem(422, "Thresholds not valid", string.Join("; ", problems));
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var host = await db.Hosts.FirstOrDefaultAsync(h => h.Id == hostId, ct);
        if (host is null)
            return UnknownHost(hostId);
        var before = host.Thresholds ?? HostThresholds.Default;
        host.Thresholds = thresholds;
        Audit.AuditTrail.Add(db, clock.GetUtcNow(), user, Audit.AuditActions.ThresholdsChanged, $"host {host.Name}", $"{before} → {thresholds}");
        await db.SaveChangesAsync(ct);
        return null;
    }

    public async Task<(PruneResponse? Response, ProblemHttpResult? Problem)> PruneAsync(Guid hostId, PruneRequest request, string user, CancellationToken ct)
    {
        var host = await HostAsync(hostId, ct);
        if (host is null)
            return (null, UnknownHost(hostId));
        var kinds = request.Kinds!.ToHashSet();
        if (!request.Confirm)
        {
            var (report, problem) = await Engine(() => engines.For(host).Inspector.DiskUsageAsync(ct), host);
            if (problem is not null)
                return (null, problem);
            var candidates = report!.Reclaimable.Where(i => kinds.Contains(i.Kind)).ToList();
            return (new PruneResponse(false, candidates, candidates.Sum(c => c.SizeBytes ?? 0), []), null);
        }

        var confirmed = (request.Items ?? []).ToList();
        if (confirmed.Count == 0)
            return (null, ApiResults.Problem(400, "Nothing confirmed", "Confirm with the \"items\" (ids) the listing returned; nothing is removed without them."));
        var (result, failed) = await Engine(() => engines.For(host).Inspector.PruneAsync(kinds, confirmed, ct), host);
        if (failed is not null)
            return (null, failed);

        await using (var db = await dbFactory.CreateDbContextAsync(ct))
        {
            Audit.AuditTrail.Add(db, clock.GetUtcNow(), user, Audit.AuditActions.Pruned, $"host {host.Name}",
                $"{string.Join(", ", kinds)}: removed {result!.Removed.Count} ({new Domain.Units.MemorySize(result.FreedBytes)}): {string.Join(", ", result.Removed.Select(r => $"{r.Kind} {r.Name}"))}"
                + (result.Skipped.Count > 0 ? $"; skipped: {string.Join("; ", result.Skipped)}" : ""));
            await db.SaveChangesAsync(ct);
        }

        logger.LogInformation("{User} pruned {Count} item(s) on host {Host}, {Bytes} bytes", user, result!.Removed.Count, host.Name, result.FreedBytes);
        return (new PruneResponse(true, result.Removed, result.FreedBytes, result.Skipped), null);
    }

    private async Task<DockerHost?> HostAsync(Guid id, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Hosts.AsNoTracking().InService().FirstOrDefaultAsync(h => h.Id == id, ct);
    }

    /// <summary>
    /// One host's engine call: an engine that cannot be reached or does not answer gives a problem naming the host and the
    /// error (502, 504; 409 for an SSH host key not confirmed yet), and the host is marked offline, since when.
    /// </summary>
    private async Task<(T? Value, ProblemHttpResult? Problem)> Engine<T>(Func<Task<T>> call, DockerHost host)
        where T : class
    {
        try
        {
            return (await call(), null);
        }
        catch (Exception e) when (EngineProblem.Of(e) is { } problem)
        {
            logger.LogWarning("Engine of host {Host} failed: {Reason}", host.Name, problem.Reason);
            await HostStatus.UnreachableAsync(dbFactory, host.Id, clock.GetUtcNow(), problem.Reason, CancellationToken.None);
            return (default, ApiResults.Problem(problem.Status, problem.Status == 504 ? "Engine did not answer" : problem.Status == 409 ? "Host key not confirmed" : "Engine unreachable",
                $"The engine of host '{host.Name}' ({host.Endpoint}) failed: {problem.Reason}"));
        }
    }

    private static ProblemHttpResult UnknownHost(Guid id) => ApiResults.Problem(404, "Unknown host", $"There is no host {id}.");
}
