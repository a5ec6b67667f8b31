using DeployDeck.Domain.Rollouts;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Jobs;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace DeployDeck.Worker.Rollouts;

/// <summary>
/// Several Workers share one PostgreSQL; the one that drives a rollout holds its advisory lock (<see cref="RolloutLock"/>),
/// which PostgreSQL releases the moment that Worker's connection dies (kill -9, OOM kill, power). Every Worker looks every
/// <see cref="RolloutOptions.OrphanCheckInterval"/> for rollouts in progress whose lock nobody holds; one found so twice in
/// a row (not a drive between two of its steps, nor a retry about to start) is enqueued again, and the next free Worker
/// resumes it level-wise. So takeover takes seconds, not Hangfire's invisibility timeout; a second drive of the same
/// rollout finds the lock held and stops.
/// </summary>
public sealed class RolloutSupervisor(
    IDbContextFactory<DeployDeckDbContext> dbFactory, IBackgroundJobClient jobs, IConfiguration configuration, IOptions<RolloutOptions> options, TimeProvider time,
    ILogger<RolloutSupervisor> logger) : BackgroundService
{
    private static readonly RolloutState[] Driven = [RolloutState.Running, RolloutState.RollingBack];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var connectionString = DataServiceCollectionExtensions.RequireConnectionString(configuration);
        HashSet<Guid> seenFree = [];
        using var timer = new PeriodicTimer(options.Value.OrphanCheckInterval, time);
        while (await NextAsync(timer, stoppingToken))
        {
            try
            {
                List<Guid> active, fleets;
                await using (var db = await dbFactory.CreateDbContextAsync(stoppingToken))
                {
                    active = await db.Rollouts.AsNoTracking().Where(r => Driven.Contains(r.State)).Select(r => r.Id).ToListAsync(stoppingToken);
                    fleets = await db.FleetRollouts.AsNoTracking().Where(f => f.State == FleetState.Running || f.State == FleetState.AwaitingApproval).Select(f => f.Id).ToListAsync(stoppingToken);
                }

                var free = (await RolloutLock.UndrivenAsync(connectionString, [.. active, .. fleets], stoppingToken)).ToHashSet();
                foreach (var orphan in free.Where(seenFree.Contains))
                {
                    logger.LogWarning("Rollout {RolloutId} is in progress but no Worker drives it (its Worker stopped): driving it again", orphan);
                    if (fleets.Contains(orphan))
                        jobs.Enqueue<IFleetJobs>(j => j.DriveAsync(orphan, CancellationToken.None));
                    else
                        jobs.Enqueue<IRolloutJobs>(j => j.DriveAsync(orphan, CancellationToken.None));
                    free.Remove(orphan); // give the new drive time to take the lock before counting it again
                }

                seenFree = free;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Looking for rollouts without a Worker failed: {Reason}", ex.Message);
            }
        }
    }

    private static async Task<bool> NextAsync(PeriodicTimer timer, CancellationToken ct)
    {
        try
        {
            return await timer.WaitForNextTickAsync(ct);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
