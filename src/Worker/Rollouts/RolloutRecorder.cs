using DeployDeck.Domain.Rollouts;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Live;
using DeployDeck.Worker.Live;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace DeployDeck.Worker.Rollouts;

/// <summary>Appends a rollout's steps to its record (once per key), logs them, and pushes them live.</summary>
public sealed class RolloutRecorder(
    IDbContextFactory<DeployDeckDbContext> dbFactory,
    ILivePublisher live,
    TimeProvider time,
    ILogger<RolloutRecorder> logger)
{
    /// <param name="change">A state change saved in the same transaction as the event, so that no reader sees one without the other;
    /// when it answers false (the state machine refused it), no event is written either.</param>
    public async Task RecordAsync(
        Guid rolloutId, string kind, string message, CancellationToken cancellationToken,
        string? phase = null, string? service = null, StepKey? key = null, Func<DeployDeckDbContext, Task<bool>>? change = null)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        // Engine errors and gate output can quote a credential or a secret of the plan (a gate's URL): never stored, logged or pushed.
        message = Domain.Plans.SecretKeys.Scrub(message, await RevisionSecrets.OfRolloutAsync(db, rolloutId, cancellationToken));
        // A step recorded before (a run after a crash) is refused by the unique key, and its change rolled back with it.
        if (change is not null && !await change(db))
            return;

        var recorded = new RolloutEvent
        {
            RolloutId = rolloutId,
            At = time.GetUtcNow(),
            Kind = kind,
            Phase = phase,
            Service = service,
            Message = message,
            Key = key?.Value,
        };
        db.RolloutEvents.Add(recorded);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException ex) when (ex.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
        {
            return; // a concurrent run recorded the same step
        }

        logger.LogInformation("Rollout {RolloutId} {Kind} {Phase} {Service}: {Message}", rolloutId, kind, phase, service, message);

        // The states the browser shows next to the step, in one round trip.
        var states = await db.Rollouts.Where(r => r.Id == rolloutId)
            .Select(r => new
            {
                r.State,
                Phase = db.RolloutPhases.Where(p => p.RolloutId == rolloutId && p.Name == phase).Select(p => (PhaseState?)p.State).FirstOrDefault(),
                Service = db.RolloutServices.Where(s => s.RolloutId == rolloutId && s.Name == service).Select(s => (ServiceState?)s.State).FirstOrDefault(),
            })
            .FirstAsync(cancellationToken);
        await live.PublishAsync(
            new RolloutEventMessage(rolloutId, recorded.Id, recorded.At, kind, phase, service, message, states.State.ToString(), states.Phase?.ToString(), states.Service?.ToString()),
            cancellationToken);
    }
}
