using DeployDeck.Domain.Engine;
using DeployDeck.Domain.Plans;

namespace DeployDeck.Domain.Rollouts;

/// <summary>
/// Checks that what the engine applied is what the plan said. A limit that was silently not applied
/// (a `deploy:` section plain Compose ignores) is the incident this exists for.
/// </summary>
public static class AppliedLimits
{
    /// <summary>Each mismatch as "what: applied ≠ planned"; empty when everything matches.</summary>
    public static IReadOnlyList<string> Mismatches(ServiceSpec spec, ContainerObservation applied)
    {
        var r = spec.Resources;
        var found = new List<string>();
        Check("memory limit", applied.MemoryLimit, r.MemoryLimit?.Bytes ?? 0);
        Check("memory reservation", applied.MemoryReservation, r.MemoryReservation?.Bytes ?? 0);
        if (r.MemorySwapLimit is { } swap)
            Check("memory+swap", applied.MemorySwap, swap.Bytes);
        else if (r.MemoryLimit is { } limit)
            Check("memory+swap", applied.MemorySwap, limit.Bytes);
        Check("CPUs (nano)", applied.NanoCpus, r.Cpus?.NanoCpus ?? 0);

        if (!string.Equals(applied.RestartPolicy, spec.Restart.EngineName, StringComparison.Ordinal)
            && !(spec.Restart.Mode == RestartMode.No && applied.RestartPolicy is "" or "no"))
            found.Add($"restart policy: {applied.RestartPolicy} ≠ {spec.Restart.EngineName}");
        if (spec.Restart.Mode == RestartMode.OnFailure && applied.RestartMaxRetries != spec.Restart.MaxRetries)
            found.Add($"restart retries: {applied.RestartMaxRetries} ≠ {spec.Restart.MaxRetries}");

        if (spec.HealthCheck is { } hc && !(applied.HealthTest ?? []).SequenceEqual(hc.Test))
            found.Add($"health check: [{string.Join(' ', applied.HealthTest ?? [])}] ≠ [{string.Join(' ', hc.Test)}]");
        return found;

        void Check(string what, long actual, long planned)
        {
            if (actual != planned)
                found.Add($"{what}: {actual} ≠ {planned}");
        }
    }
}
