using System.Globalization;
using DeployDeck.Domain.Engine;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Rollouts;
using DeployDeck.Infrastructure.Live;
using Microsoft.Extensions.Options;

namespace DeployDeck.Worker.Rollouts;

/// <summary>
/// Brings one service of a phase up: its previous version stopped first where two cannot run at once (stop-first), each
/// of its containers created on the project's networks and started, the limits the engine applied checked, each
/// container ready — running, healthy where it has a check, and stable for its monitor time — and its gates passed.
/// Level-wise: containers a run before a crash created are found by their labels and not created again.
/// </summary>
public sealed class ServiceDeployer(
    RolloutStates states,
    RolloutRecorder recorder,
    GateRunner gates,
    ContainerWatch watch,
    PreviousVersions previous,
    IOptions<RolloutOptions> options,
    TimeProvider time)
{
    private readonly RolloutOptions _options = options.Value;

    /// <param name="existing">The service's containers of this attempt, created by a run before a crash.</param>
    /// <param name="earlier">Containers of earlier rollouts of the plan.</param>
    /// <param name="oneShot">The service runs to completion (others wait for it with service_completed_successfully): ready means exited 0.</param>
    /// <returns>Null when the service is ready and passed its gates; otherwise why it failed.</returns>
    public async Task<string?> DeployAsync(RolloutContext context, PhaseRun run, ServiceSpec service, IReadOnlyList<ContainerSummary> existing,
        IReadOnlyList<ContainerSummary> earlier, bool oneShot, CancellationToken ct)
    {
        try
        {
            var kept = await KeptAsync(context, run, service, ct);
            var (requests, taken) = await RequestsAsync(context, run, service, kept, earlier, ct);
            var carried = taken.Values.SelectMany(t => t).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            var order = UpdateOrders.Choose(service, carried);
            run.Orders[service.Name] = order.Order;
            if (order.Order == UpdateOrder.StopFirst && kept.Count < service.Replicas)
            {
                foreach (var old in PreviousVersions.Latest(earlier, service.Name))
                    await previous.KeepAsync(context, run.Phase.Name, old, $"stop-first: {order.Why}", run.ServiceKey(service.Name, $"stop-first:{old.Id[..12]}"), ct);
            }

            if (service.Replicas == 0)
            {
                await states.ServiceAsync(context.RolloutId, service.Name, ServiceState.Ready, null, "0 replicas: no container", ct);
                await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.ServiceReady, "0 replicas: no container runs", ct, run.Phase.Name, service.Name, run.ServiceKey(service.Name, "ready"));
                return null;
            }

            var containers = new List<(int Number, string Id, ContainerRequest Request)>();
            for (var number = 1; number <= service.Replicas; number++)
            {
                var request = requests[number];
                if (kept.GetValueOrDefault(number) is { } same)
                {
                    containers.Add((number, same, request));
                    continue;
                }

                var mine = existing.FirstOrDefault(c => NumberOf(c) == number);
                if (mine is not null)
                {
                    containers.Add((number, mine.Id, request));
                    continue;
                }

                await states.ServiceAsync(context.RolloutId, service.Name, ServiceState.Creating, null, null, ct);
                var id = await context.Engine.CreateAsync(request, ct);
                // Started at once, recorded after: the bookkeeping must not add to the service's start time. A crash in
                // between leaves a container in "created", which the next run prepares and starts (below).
                await context.Engine.StartAsync(id, ct);
                await states.ServiceAsync(context.RolloutId, service.Name, ServiceState.Starting, id, null, ct);
                var which = service.Replicas == 1 ? "" : $" #{number}";
                var carriedOver = taken.GetValueOrDefault(number) is { Count: > 0 } over ? $"; took over its previous container's volume at {string.Join(", ", over)}" : "";
                await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.ServiceCreated, $"Created {request.Name}{which} from {service.Image} ({Describe(service)}); {order.Describe()}{carriedOver}", ct,
                    run.Phase.Name, service.Name, run.ServiceKey(service.Name, "created", number));
                await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.ServiceStarted, $"Started{which}", ct, run.Phase.Name, service.Name, run.ServiceKey(service.Name, "started", number));
                containers.Add((number, id, request));
            }

            foreach (var (number, id, request) in containers)
            {
                if (await ReadyAsync(context, run, service, number, id, request, oneShot, ct) is { } failure)
                    return failure;
            }

            // An exited one-shot has no process to ask: only its logs can still be read.
            var gated = oneShot ? service with { Gates = service.Gates.Where(g => g.Kind == GateKind.Logs).ToList() } : service;
            foreach (var (number, id, _) in containers)
            {
                if (await CheckGatesAsync(context, run, gated, number, id, ct) is { } failure)
                    return failure;
            }

            var ready = containers.Count == 1 ? "ready" : $"{containers.Count} containers ready";
            await states.ServiceAsync(context.RolloutId, service.Name, ServiceState.Ready, containers[0].Id, ready, ct);
            return null;
        }
        catch (Exception ex) when (!Transient.Is(ex) && (ex is not OperationCanceledException || !ct.IsCancellationRequested))
        {
            return await FailedAsync(context, run, service, ex.Message, ct);
        }
    }

    /// <summary>
    /// The containers the reconcile plan keeps for the service, by number, that still run: they stay untouched and are only
    /// checked (ready, gates). One that stopped since the plan was made is created again instead.
    /// </summary>
    private async Task<Dictionary<int, string>> KeptAsync(RolloutContext context, PhaseRun run, ServiceSpec service, CancellationToken ct)
    {
        var kept = new Dictionary<int, string>();
        var decision = context.Reconcile?.For(service.Name);
        foreach (var id in context.Kept(service.Name))
        {
            var seen = await context.Engine.InspectAsync(id, ct);
            var number = int.TryParse(seen?.Labels.GetValueOrDefault(ComposeLabels.ContainerNumber), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 1;
            if (seen is not { Running: true } || kept.ContainsKey(number))
            {
                await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.ServiceKept, $"{seen?.Name ?? id[..12]} was to be kept but is {(seen is null ? "gone" : seen.Status)}: a new container replaces it", ct,
                    run.Phase.Name, service.Name, run.ServiceKey(service.Name, $"kept:{id[..12]}"));
                continue;
            }

            kept[number] = id;
            await states.ServiceAsync(context.RolloutId, service.Name, ServiceState.WaitingHealthy, id, null, ct);
            await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.ServiceKept, $"Kept {seen.Name}: {decision?.Reason}; its gates are checked", ct,
                run.Phase.Name, service.Name, run.ServiceKey(service.Name, $"kept:{id[..12]}"));
        }

        return kept;
    }

    private static int NumberOf(ContainerSummary c) =>
        int.TryParse(c.Labels.GetValueOrDefault(ComposeLabels.ContainerNumber), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 1;

    /// <summary>
    /// Each container's request by number; a new one takes over the volumes its predecessor (of the same number) had at
    /// the directories declared without a name, as Compose does. The directories carried over are returned too: a service
    /// that takes over data is stop-first, since two containers must not share it.
    /// </summary>
    private async Task<(Dictionary<int, ContainerRequest> Requests, Dictionary<int, IReadOnlyList<string>> Taken)> RequestsAsync(RolloutContext context, PhaseRun run,
        ServiceSpec service, Dictionary<int, string> kept, IReadOnlyList<ContainerSummary> earlier, CancellationToken ct)
    {
        var requests = new Dictionary<int, ContainerRequest>();
        var taken = new Dictionary<int, IReadOnlyList<string>>();
        var latest = PreviousVersions.Latest(earlier, service.Name);
        for (var number = 1; number <= service.Replicas; number++)
        {
            var request = await RequestAsync(context, run, service, number, ct);
            if (!kept.ContainsKey(number) && latest.FirstOrDefault(c => NumberOf(c) == number) is { } old && await context.Engine.InspectAsync(old.Id, ct) is { } seen)
            {
                var carry = AnonymousVolumes.Carry(request, seen);
                request = request with { Mounts = carry.Mounts };
                taken[number] = carry.Targets;
            }

            requests[number] = request;
        }

        return (requests, taken);
    }

    /// <summary>The container as the engine is to create it, what it borrows from other services resolved to their containers.</summary>
    private async Task<ContainerRequest> RequestAsync(RolloutContext context, PhaseRun run, ServiceSpec service, int number, CancellationToken ct)
    {
        var labels = new Dictionary<string, string>(_options.ExtraLabels);
        foreach (var (key, value) in OwnershipLabels.For(context.RolloutId, context.PlanId, run.Phase.Name, service.Name, context.RevisionId))
            labels[key] = value;
        labels[OwnershipLabels.Attempt] = run.Attempt.ToString(CultureInfo.InvariantCulture);

        var borrowed = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var other in ProjectLayout.BorrowsFrom(service))
        {
            var theirs = await context.Engine.ListAsync(new Dictionary<string, string>(context.PlanFilter()) { [OwnershipLabels.Service] = other }, ct);
            // This rollout's container of it when there is one; else the one that runs now.
            borrowed[other] = (theirs.FirstOrDefault(c => c.Labels.GetValueOrDefault(OwnershipLabels.Rollout) == context.RolloutId.ToString())
                ?? theirs.FirstOrDefault(c => c.State == "running"))?.Name;
        }

        return context.Layout.Container(service, number, context.Layout.ContainerName(service, number, context.RolloutId), labels, other => borrowed.GetValueOrDefault(other));
    }

    private async Task<string?> ReadyAsync(RolloutContext context, PhaseRun run, ServiceSpec service, int number, string containerId, ContainerRequest request, bool oneShot, CancellationToken ct)
    {
        using var changes = watch.Follow(containerId);
        var observed = await context.Engine.InspectAsync(containerId, ct);
        if (observed is { Status: "created" })
        {
            await context.Engine.PrepareAsync(containerId, request, ct); // a run before a crash may have stopped between create and start
            await context.Engine.StartAsync(containerId, ct);
            await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.ServiceStarted, "Started", ct, run.Phase.Name, service.Name, run.ServiceKey(service.Name, "started", number));
            observed = await context.Engine.InspectAsync(containerId, ct);
        }

        if (observed is not null)
        {
            var mismatches = AppliedLimits.Mismatches(service, observed);
            if (mismatches.Count > 0)
                return await FailedAsync(context, run, service, $"the engine did not apply the plan: {string.Join("; ", mismatches)}", ct);
            await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.ServiceLimitsVerified, $"Engine applied {Describe(service)}", ct,
                run.Phase.Name, service.Name, run.ServiceKey(service.Name, "limits-verified", number));
        }

        await states.ServiceAsync(context.RolloutId, service.Name, ServiceState.WaitingHealthy, containerId, null, ct);
        var deadline = (oneShot ? _options.OneShotDeadline : ServiceReadiness.Deadline(service, _options.StartDeadline, observed)) + _options.DeadlineGrace;
        var began = time.GetUtcNow();
        while (true)
        {
            var waited = time.GetUtcNow() - (observed?.StartedAt is { } s && s > DateTimeOffset.UnixEpoch ? s : began);
            var verdict = ServiceReadiness.Evaluate(service, observed, waited, oneShot);
            if (verdict.Readiness == Readiness.Ready)
            {
                await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.ServiceReady, $"{Capitalise(verdict.Reason)} after {waited.TotalSeconds:0.0}s", ct,
                    run.Phase.Name, service.Name, run.ServiceKey(service.Name, "ready", number));
                return null;
            }

            if (verdict.Readiness == Readiness.Failed || time.GetUtcNow() - began > deadline)
            {
                var why = verdict.Readiness == Readiness.Failed ? verdict.Reason : $"no progress within its deadline of {deadline.TotalSeconds:0}s ({verdict.Reason})";
                return await FailedAsync(context, run, service, await ExplainAsync(context, service, containerId, why, observed, changes, run, ct), ct);
            }

            await changes.NextAsync(_options.PollInterval, ct);
            observed = await context.Engine.InspectAsync(containerId, ct);
        }
    }

    /// <summary>
    /// A readiness failure with what the engine knows of the container in this phase, an OOM kill first. A container the
    /// kernel kills for memory often fails its health check a moment before the kill arrives: for a short settling time
    /// after the verdict the container's events are followed, so the recorded reason names the kill, not only "unhealthy".
    /// </summary>
    private async Task<string> ExplainAsync(RolloutContext context, ServiceSpec service, string containerId, string verdict, ContainerObservation? observed,
        Wakeups<string>.Wait changes, PhaseRun run, CancellationToken ct)
    {
        var settled = time.GetUtcNow() + _options.FailureSettle;
        while (true)
        {
            var reason = FailureCause.Explain(service, verdict, observed, await watch.OomsSinceAsync(context.Host, context.RolloutId, containerId, run.Began, ct));
            var left = settled - time.GetUtcNow();
            if (FailureCause.NamesOom(reason) || observed is null || left <= TimeSpan.Zero)
                return reason;
            await changes.NextAsync(left < _options.PollInterval ? left : _options.PollInterval, ct);
            observed = await context.Engine.InspectAsync(containerId, ct);
        }
    }

    /// <summary>
    /// Each gate of the service, recorded with its figure. HTTP and exec gates may need a moment after "ready" (a port
    /// that opens late), so they are retried until the start deadline; logs and memory are read once; a chaos gate runs
    /// last. An HTTP gate asks one address, so it is checked with the first container only. Then the engine's own
    /// record: no OOM kill since the phase began, even one the container survived.
    /// </summary>
    private async Task<string?> CheckGatesAsync(RolloutContext context, PhaseRun run, ServiceSpec service, int number, string containerId, CancellationToken ct)
    {
        var ordered = service.Gates.Select((gate, i) => (gate, i)).Where(g => number == 1 || g.gate.Kind != GateKind.Http).OrderBy(g => g.gate.Disturbs).ToList();
        foreach (var (gate, i) in ordered)
        {
            var until = time.GetUtcNow() + _options.StartDeadline;
            GateOutcome outcome;
            while (true)
            {
                outcome = await gates.EvaluateAsync(context.Engine, gate, service, containerId, run.Began, ct);
                if (outcome.Passed || gate.Kind is GateKind.Logs or GateKind.Memory or GateKind.Chaos || time.GetUtcNow() >= until)
                    break;
                await Task.Delay(TimeSpan.FromSeconds(1), time, ct);
            }

            var key = StepKey.Gate(service.Name, run.Attempt, i, gate.Kind, number);
            if (!outcome.Passed)
            {
                await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.GateFailed, $"{gate}: {outcome.Figure}", ct, run.Phase.Name, service.Name, key);
                var failed = FailureCause.Explain(service, $"gate failed — {gate}: {outcome.Figure}", await context.Engine.InspectAsync(containerId, ct),
                    await watch.OomsSinceAsync(context.Host, context.RolloutId, containerId, run.Began, ct));
                return await FailedAsync(context, run, service, failed, ct);
            }

            await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.GatePassed, $"{gate}: {outcome.Figure}", ct, run.Phase.Name, service.Name, key);
        }

        if (await OomSinceAsync(context, containerId, run.Began, ct) is { } oom)
        {
            await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.GateFailed, $"no OOM kill since the phase began: {oom}", ct, run.Phase.Name, service.Name,
                run.ServiceKey(service.Name, "gate:oom", number));
            return await FailedAsync(context, run, service, oom, ct);
        }

        return null;
    }

    /// <summary>What the engine's event log says of OOM kills in the container since a moment, or null. Older ones are not this phase's.</summary>
    public async Task<string?> OomSinceAsync(RolloutContext context, string containerId, DateTimeOffset since, CancellationToken ct)
    {
        var events = await watch.OomsSinceAsync(context.Host, context.RolloutId, containerId, since, ct);
        return events.Count == 0 ? null
            : $"the engine reported {events.Count} OOM kill(s) in the container (first at {events[0].At:HH:mm:ss}), though it kept running";
    }

    public async Task<string> FailedAsync(RolloutContext context, PhaseRun run, ServiceSpec service, string reason, CancellationToken ct)
    {
        await states.ServiceAsync(context.RolloutId, service.Name, ServiceState.Failed, null, reason, ct);
        await recorder.RecordAsync(context.RolloutId, RolloutEventKinds.ServiceFailed, reason, ct, run.Phase.Name, service.Name, run.ServiceKey(service.Name, "failed"));
        return $"{service.Name}: {reason}";
    }

    public static string Describe(ServiceSpec s) =>
        $"memory {s.Resources.MemoryLimit?.ToString() ?? "unlimited"}, reservation {s.Resources.MemoryReservation?.ToString() ?? "none"}, "
        + $"CPUs {s.Resources.Cpus?.ToString() ?? "unlimited"}, restart {s.Restart}"
        + (s.HealthCheck is null ? "" : ", health check");

    public static string Capitalise(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];
}
