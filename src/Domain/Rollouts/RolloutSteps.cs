using System.Globalization;
using DeployDeck.Domain.Plans;

namespace DeployDeck.Domain.Rollouts;

/// <summary>How a phase ended: passed, failed for a reason, or stopped by an Operator's abort at a safe point.</summary>
public abstract record PhaseOutcome
{
    public static readonly PhaseOutcome Passed = new PassedOutcome();

    public static readonly PhaseOutcome Aborted = new AbortedOutcome();

    public static PhaseOutcome Failed(string reason) => new FailedOutcome(reason);

    public sealed record PassedOutcome : PhaseOutcome;

    public sealed record AbortedOutcome : PhaseOutcome;

    public sealed record FailedOutcome(string Reason) : PhaseOutcome;
}

/// <summary>
/// The idempotency key of one recorded step: a run after a crash records a step once. Keys carry the phase's attempt
/// (a phase run again after a resume records its steps again) and, for a service's second and later container, its number.
/// </summary>
public readonly record struct StepKey(string Value)
{
    public static StepKey Rollout(string step) => new($"rollout:{step}");

    public static StepKey Phase(int index, int attempt, string step) => new(attempt == 1 ? $"phase:{index}:{step}" : $"phase:{index}#{attempt}:{step}");

    public static StepKey Service(string service, int attempt, string step, int replica = 1) =>
        new($"service:{service}{(replica == 1 ? "" : "/" + replica.ToString(CultureInfo.InvariantCulture))}{(attempt == 1 ? "" : "#" + attempt.ToString(CultureInfo.InvariantCulture))}:{step}");

    public static StepKey Gate(string service, int attempt, int gate, GateKind kind, int replica = 1) =>
        Service(service, attempt, $"gate:{gate.ToString(CultureInfo.InvariantCulture)}:{kind.ToString().ToLowerInvariant()}", replica);

    public static StepKey Rollback(int phase, string step) => new($"rollback:{phase.ToString(CultureInfo.InvariantCulture)}:{step}");

    /// <summary>The gate kind a gate step's key names ("http", "exec" …), or "gate" for any other key.</summary>
    public static string GateKindOf(string? key)
    {
        if (key is null || !key.Contains(":gate:", StringComparison.Ordinal))
            return "gate";
        var last = key[(key.LastIndexOf(':') + 1)..];
        return last.Length == 0 || last.All(char.IsDigit) ? "gate" : last;
    }

    public override string ToString() => Value;
}

/// <summary>Which phases a failure or an abort rolls back, latest first.</summary>
public static class RollbackScope
{
    public static IReadOnlyList<int> Phases(FailurePolicy policy, int failedIndex) =>
        policy == FailurePolicy.RollbackAll ? Enumerable.Range(0, failedIndex + 1).Reverse().ToList() : [failedIndex];

    /// <summary>An abort rolls back as the phase's policy says; a phase that would pause is rolled back instead (an abort ends the rollout).</summary>
    public static FailurePolicy ForAbort(FailurePolicy policy) => policy == FailurePolicy.Pause ? FailurePolicy.RollbackPhase : policy;
}

/// <summary>
/// Whether a service's new container starts beside its old one (start-first) or after it stopped (stop-first), and why.
/// The file's <c>deploy.update_config.order</c> decides; where it is silent, a service that two containers cannot share —
/// a fixed host port, a fixed container name, a named volume or host path mounted read-write (two database processes on
/// one data directory corrupt it) — is stop-first, any other start-first.
/// </summary>
public static class UpdateOrders
{
    public sealed record Choice(UpdateOrder Order, string Why)
    {
        /// <summary>"stop-first: it mounts …", as events and pages say it.</summary>
        public string Describe() => $"{(Order == UpdateOrder.StopFirst ? "stop-first" : "start-first")}: {Why}";
    }

    /// <param name="imageVolumes">The directories the image itself declares as volumes (its data), where known.</param>
    public static Choice Choose(ServiceSpec service, IReadOnlyList<string>? imageVolumes = null)
    {
        var holds = Exclusive(service, imageVolumes);
        if (service.Update.Order is { } ordered)
            return new(ordered, ordered == UpdateOrder.StopFirst ? "deploy.update_config.order: stop-first" : "deploy.update_config.order: start-first");
        return holds is null ? new(UpdateOrder.StartFirst, "nothing the two containers would share") : new(UpdateOrder.StopFirst, holds);
    }

    /// <summary>A start-first that cannot work: two containers cannot both publish one fixed host port. Null when it can.</summary>
    public static string? Impossible(ServiceSpec service) =>
        service.Update.Order == UpdateOrder.StartFirst && FixedPort(service) is { } port
            ? $"start-first cannot work: the old and the new container cannot both publish host port {port}; use stop-first"
            : service.Update.Order == UpdateOrder.StartFirst && service.Options.ContainerName is { } name
                ? $"start-first cannot work: two containers cannot both be named {name}; use stop-first"
                : null;

    private static string? Exclusive(ServiceSpec service, IReadOnlyList<string>? imageVolumes)
    {
        if (FixedPort(service) is { } port)
            return $"it publishes the fixed host port {port}";
        if (service.Options.ContainerName is { } name)
            return $"it has the fixed container name {name}";
        if (service.Volumes.FirstOrDefault(v => !v.ReadOnly && (v.IsNamedVolume || v.IsBind)) is { } mount)
            return $"it mounts {mount.Source} read-write at {mount.Target}";
        if (service.Volumes.FirstOrDefault(v => !v.ReadOnly && v.Type == "volume" && v.Source is null) is { } anonymous)
            return $"it keeps data in the anonymous volume at {anonymous.Target}, which the new container takes over";
        if (imageVolumes?.FirstOrDefault(v => service.Volumes.All(m => m.Target != v)) is { } data)
            return $"its image keeps data in the volume {data}, which the new container takes over";
        return null;
    }

    private static string? FixedPort(ServiceSpec service) => service.Ports.FirstOrDefault(p => p.HostPort is not null) is { } p
        ? $"{(p.HostIp is null ? "" : p.HostIp + ":")}{p.HostPort}/{p.Protocol}"
        : null;
}
