using DeployDeck.Domain.Monitoring;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Monitoring;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace DeployDeck.Worker.Monitoring;

/// <summary>
/// The database side of monitoring. Every <see cref="MonitoringOptions.FlushInterval"/> it reads which rollout phases ran
/// during the buffered ticks (one query), folds those ticks into per-phase peaks, sums and max CPU, and upserts them —
/// merging with what earlier flushes wrote, so the record survives Worker restarts. Raw ticks are only held until then
/// (bounded). Each tick and each phase carry their host, so a rollout counts its own host's memory only.
/// </summary>
public sealed class UsageStore(
    IDbContextFactory<DeployDeckDbContext> dbFactory, IOptions<MonitoringOptions> options, ILogger<UsageStore> logger) : BackgroundService
{
    private const int MaxBuffered = 3600;
    private readonly Lock _lock = new();
    private List<StatsTick> _ticks = [];

    public void Add(StatsTick tick)
    {
        lock (_lock)
        {
            if (_ticks.Count >= MaxBuffered)
                _ticks.RemoveAt(0); // the database has been away for long: keep the latest hour
            _ticks.Add(tick);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.FlushInterval);
        while (await NextTickAsync(timer, stoppingToken))
        {
            try
            {
                await FlushAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Writing phase usage failed ({Reason}); the samples are kept for the next flush", ex.Message);
            }
        }

        // What the last ticks added, before the Worker stops.
        try
        {
            using var last = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await FlushAsync(last.Token);
        }
        catch (Exception ex)
        {
            logger.LogWarning("Writing phase usage at shutdown failed: {Reason}", ex.Message);
        }
    }

    private static async Task<bool> NextTickAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Writes what the buffered ticks add to the phases that ran during them; returns the records written.</summary>
    public async Task<int> FlushAsync(CancellationToken cancellationToken)
    {
        List<StatsTick> ticks;
        lock (_lock)
        {
            if (_ticks.Count == 0)
                return 0;
            ticks = _ticks;
            _ticks = [];
        }

        try
        {
            var since = ticks.Min(t => t.At);
            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
            // A phase left open by a rollout that ended anyway (failed elsewhere, crashed) ends with its rollout.
            var windows = await (
                    from p in db.RolloutPhases.AsNoTracking()
                    join r in db.Rollouts.AsNoTracking() on p.RolloutId equals r.Id
                    where p.StartedAt != null && ((p.FinishedAt ?? r.FinishedAt) == null || (p.FinishedAt ?? r.FinishedAt) >= since)
                    select new PhaseWindow(p.RolloutId, p.Index, p.Name, p.StartedAt!.Value, p.FinishedAt ?? r.FinishedAt, r.HostId))
                .ToListAsync(cancellationToken);
            var usage = PhaseUsage.Aggregate(ticks, windows);
            if (usage.Count == 0)
                return 0;

            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            foreach (var (key, u) in usage)
            {
                // Peaks and sums merge with earlier flushes; GREATEST ignores a NULL CPU figure.
                await db.Database.ExecuteSqlAsync($"""
                    INSERT INTO phase_usage ("RolloutId", "PhaseIndex", "Subject", "Service", "Phase", "PeakMemoryBytes", "MemorySumBytes", "Samples", "MaxCpuPercent", "FirstSampleAt", "LastSampleAt")
                    VALUES ({key.RolloutId}, {key.PhaseIndex}, {key.Subject.ToString()}, {key.Service}, {u.Phase}, {u.PeakMemoryBytes}, {u.MemorySumBytes}, {u.Samples}, {u.MaxCpuPercent}, {u.First}, {u.Last})
                    ON CONFLICT ("RolloutId", "PhaseIndex", "Subject", "Service") DO UPDATE SET
                        "PeakMemoryBytes" = GREATEST(phase_usage."PeakMemoryBytes", EXCLUDED."PeakMemoryBytes"),
                        "MemorySumBytes" = phase_usage."MemorySumBytes" + EXCLUDED."MemorySumBytes",
                        "Samples" = phase_usage."Samples" + EXCLUDED."Samples",
                        "MaxCpuPercent" = GREATEST(phase_usage."MaxCpuPercent", EXCLUDED."MaxCpuPercent"),
                        "FirstSampleAt" = LEAST(phase_usage."FirstSampleAt", EXCLUDED."FirstSampleAt"),
                        "LastSampleAt" = GREATEST(phase_usage."LastSampleAt", EXCLUDED."LastSampleAt")
                    """, cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            return usage.Count;
        }
        catch
        {
            lock (_lock)
                _ticks.InsertRange(0, ticks.TakeLast(MaxBuffered - Math.Min(MaxBuffered, _ticks.Count)));
            throw;
        }
    }
}
