using System.Text.Json;
using DeployDeck.Domain.History;
using DeployDeck.Domain.Plans;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Jobs;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace DeployDeck.Worker.Webhooks;

/// <summary>
/// Turns recorded rollout events into webhook deliveries. It reads rollout_events past a stored high-water mark
/// (re-reading a short window behind it, since ids from concurrent transactions can commit out of order); a
/// unique (webhook, event) key makes each event one delivery per webhook however often it is read. Each new
/// delivery is handed to Hangfire, which sends and retries it.
/// </summary>
public sealed class WebhookDispatcher(
    IDbContextFactory<DeployDeckDbContext> dbFactory,
    IBackgroundJobClient jobs,
    IOptions<WebhookOptions> options,
    TimeProvider time,
    ILogger<WebhookDispatcher> logger) : BackgroundService
{
    /// <summary>How many event ids behind the mark are read again.</summary>
    private const long Lookback = 200;

    private static readonly string[] Kinds = ["phase.awaiting-approval", "phase.failed", "rollout.rolled-back", "rollout.succeeded", "rollout.failed", "rollout.aborted"];

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromSeconds(options.Value.ScanIntervalSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ScanAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "Webhook scan failed; trying again in {Interval}", interval);
            }

            await Task.Delay(interval, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>One pass: new deliveries for new events, then any delivery a crash left without a job.</summary>
    public async Task ScanAsync(CancellationToken ct)
    {
        var created = new List<long>();
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
        {
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            // One scanner at a time, even with several Workers: the row lock is held to the commit.
            var cursor = await db.WebhookCursors.FromSqlRaw("SELECT * FROM webhook_cursor WHERE \"Id\" = 1 FOR UPDATE").SingleOrDefaultAsync(ct);
            if (cursor is null)
            {
                // First start: notify from now on, not about every event ever recorded.
                var max = await db.RolloutEvents.MaxAsync(e => (long?)e.Id, ct) ?? 0;
                await db.Database.ExecuteSqlAsync($"INSERT INTO webhook_cursor (\"Id\", \"LastEventId\") VALUES (1, {max}) ON CONFLICT DO NOTHING", ct);
                await tx.CommitAsync(ct);
                return;
            }

            var events = await db.RolloutEvents.AsNoTracking()
                .Where(e => e.Id > cursor.LastEventId - Lookback && Kinds.Contains(e.Kind))
                .OrderBy(e => e.Id).Take(500)
                .ToListAsync(ct);
            var hooks = events.Count == 0 ? [] : await db.Webhooks.AsNoTracking().Where(w => w.Enabled).ToListAsync(ct);

            // The lookback window is read every scan: skip what it already delivered, rather than an insert that
            // conflicts, per event and webhook, every two seconds.
            var hookIds = hooks.Select(h => h.Id).ToList();
            var from = cursor.LastEventId - Lookback;
            var delivered = hookIds.Count == 0 ? [] : (await db.WebhookDeliveries.AsNoTracking()
                .Where(d => hookIds.Contains(d.WebhookId) && d.EventId > from)
                .Select(d => new { d.WebhookId, d.EventId })
                .ToListAsync(ct)).Select(d => (d.WebhookId, d.EventId)).ToHashSet();
            foreach (var rolloutEvents in events.GroupBy(e => e.RolloutId))
            {
                var pending = (
                    from e in rolloutEvents
                    from hook in hooks
                    where e.At >= hook.CreatedAt && !delivered.Contains((hook.Id, e.Id))
                    let type = WebhookEvents.Choose(e.Kind, hook.Events)
                    where type is not null
                    select (Event: e, Hook: hook, Type: type)).ToList();
                if (pending.Count == 0)
                    continue;

                var rollout = await db.Rollouts.AsNoTracking()
                    .Where(r => r.Id == rolloutEvents.Key)
                    .Select(r => new { r.Id, r.HostId, r.PlanId, Plan = r.Plan!.Name, Revision = r.PlanRevision!.Number, Host = r.Host!.Name, r.State, r.StartedBy })
                    .FirstAsync(ct);
                foreach (var (e, hook, type) in pending)
                {
                    if ((hook.HostId is { } h && h != rollout.HostId) || (hook.PlanId is { } p && p != rollout.PlanId))
                        continue;
                    var message = SecretKeys.Scrub(e.Message);
                    var payload = JsonSerializer.Serialize(new
                    {
                        text = WebhookEvents.Text(type, rollout.Plan, rollout.Revision, rollout.Host, e.Phase, message),
                        @event = type,
                        eventId = e.Id,
                        kind = e.Kind,
                        at = e.At,
                        phase = e.Phase,
                        service = e.Service,
                        message,
                        rollout = new
                        {
                            id = rollout.Id,
                            state = rollout.State.ToString(),
                            plan = rollout.Plan,
                            revision = rollout.Revision,
                            host = rollout.Host,
                            startedBy = rollout.StartedBy,
                            url = $"{options.Value.PublicUrl?.TrimEnd('/')}/rollouts/{rollout.Id}",
                        },
                    }, Json);
                    var ids = await db.Database.SqlQuery<long>($"""
                        INSERT INTO webhook_deliveries ("WebhookId", "EventId", "RolloutId", "EventType", "Payload", "CreatedAt", "Attempts")
                        VALUES ({hook.Id}, {e.Id}, {rollout.Id}, {type}, {payload}, {time.GetUtcNow()}, 0)
                        ON CONFLICT ("WebhookId", "EventId") DO NOTHING
                        RETURNING "Id" AS "Value"
                        """).ToListAsync(ct);
                    created.AddRange(ids);
                }
            }

            if (events.Count > 0 && events[^1].Id > cursor.LastEventId)
                await db.Database.ExecuteSqlAsync($"UPDATE webhook_cursor SET \"LastEventId\" = {events[^1].Id} WHERE \"Id\" = 1", ct);
            await tx.CommitAsync(ct);
        }

        // Deliveries whose enqueue a crash interrupted: recorded but never handed to Hangfire.
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
        {
            var stale = time.GetUtcNow().AddMinutes(-1);
            created.AddRange(await db.WebhookDeliveries.Where(d => d.JobId == null && d.CreatedAt < stale).OrderBy(d => d.Id).Select(d => d.Id).Take(100).ToListAsync(ct));
        }

        foreach (var id in created.Distinct())
        {
            var job = jobs.Enqueue<IWebhookJobs>(j => j.DeliverAsync(id, CancellationToken.None));
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            await db.WebhookDeliveries.Where(d => d.Id == id).ExecuteUpdateAsync(u => u.SetProperty(d => d.JobId, job), ct);
            logger.LogInformation("Webhook delivery {DeliveryId} enqueued as job {JobId}", id, job);
        }
    }
}
