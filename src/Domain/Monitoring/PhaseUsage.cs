namespace DeployDeck.Domain.Monitoring;

/// <summary>What a usage record is about: the whole host, all of a rollout's containers together, or one service.</summary>
public enum UsageSubject
{
    Host,
    Rollout,
    Service,
}

/// <summary>When a phase of a rollout ran: from its start to its end (still running when <paramref name="End"/> is null).</summary>
/// <param name="HostId">The rollout's host: only that host's ticks count for it (null: any tick, as with one host).</param>
public sealed record PhaseWindow(Guid RolloutId, int PhaseIndex, string Phase, DateTimeOffset Start, DateTimeOffset? End, Guid? HostId = null)
{
    public bool Contains(DateTimeOffset at) => at >= Start && (End is null || at <= End);

    public bool Covers(StatsTick tick) => Contains(tick.At) && (HostId is null || tick.HostId is null || HostId == tick.HostId);
}

/// <param name="Service">The service name for <see cref="UsageSubject.Service"/>, else empty.</param>
public sealed record UsageKey(Guid RolloutId, int PhaseIndex, UsageSubject Subject, string Service);

/// <summary>Peak, sum and count of memory samples and the highest CPU: mergeable, so records can be added to flush by flush.</summary>
public sealed record UsageTotals(string Phase, long PeakMemoryBytes, long MemorySumBytes, int Samples, double? MaxCpuPercent, DateTimeOffset First, DateTimeOffset Last)
{
    public long AverageMemoryBytes => Samples == 0 ? 0 : MemorySumBytes / Samples;

    public UsageTotals Add(long memory, double? cpu, DateTimeOffset at) => this with
    {
        PeakMemoryBytes = Math.Max(PeakMemoryBytes, memory),
        MemorySumBytes = MemorySumBytes + memory,
        Samples = Samples + 1,
        MaxCpuPercent = Max(MaxCpuPercent, cpu),
        First = at < First ? at : First,
        Last = at > Last ? at : Last,
    };

    private static double? Max(double? a, double? b) => a is null ? b : b is null ? a : Math.Max(a.Value, b.Value);
}

/// <summary>One tick of the sampler: the host and every managed container at one moment.</summary>
/// <param name="HostId">The host sampled; null when only one is.</param>
public sealed record StatsTick(DateTimeOffset At, HostFigures Host, IReadOnlyList<ContainerFigures> Containers, Guid? HostId = null);

/// <summary>
/// Attributes samples to the rollout phases running when they were taken. While a phase of a rollout runs, each tick
/// adds the host's memory, the sum of that rollout's containers and each of its services (a service's replicas summed).
/// </summary>
public static class PhaseUsage
{
    public static IReadOnlyDictionary<UsageKey, UsageTotals> Aggregate(IEnumerable<StatsTick> ticks, IReadOnlyList<PhaseWindow> windows)
    {
        var totals = new Dictionary<UsageKey, UsageTotals>();
        if (windows.Count == 0)
            return totals;
        foreach (var tick in ticks)
        {
            foreach (var window in windows.Where(w => w.Covers(tick)))
            {
                if (tick.Host.MemoryUsedBytes is { } hostMemory)
                    Add(totals, new UsageKey(window.RolloutId, window.PhaseIndex, UsageSubject.Host, ""), window.Phase, hostMemory, null, tick.At);

                var rolloutId = window.RolloutId.ToString();
                var mine = tick.Containers.Where(c => c.Rollout == rolloutId && c.MemoryBytes is not null).ToList();
                if (mine.Count == 0)
                    continue;
                Add(totals, new UsageKey(window.RolloutId, window.PhaseIndex, UsageSubject.Rollout, ""), window.Phase,
                    mine.Sum(c => c.MemoryBytes!.Value), mine.Any(c => c.CpuPercent is not null) ? mine.Sum(c => c.CpuPercent ?? 0) : null, tick.At);
                foreach (var service in mine.Where(c => c.Service is not null).GroupBy(c => c.Service!, StringComparer.Ordinal))
                {
                    Add(totals, new UsageKey(window.RolloutId, window.PhaseIndex, UsageSubject.Service, service.Key), window.Phase,
                        service.Sum(c => c.MemoryBytes!.Value), service.Any(c => c.CpuPercent is not null) ? service.Sum(c => c.CpuPercent ?? 0) : null, tick.At);
                }
            }
        }

        return totals;
    }

    private static void Add(Dictionary<UsageKey, UsageTotals> totals, UsageKey key, string phase, long memory, double? cpu, DateTimeOffset at) =>
        totals[key] = totals.TryGetValue(key, out var existing)
            ? existing.Add(memory, cpu, at)
            : new UsageTotals(phase, memory, memory, 1, cpu, at, at);
}
