using DeployDeck.Domain.Hosts;
using DeployDeck.Domain.Monitoring;

namespace DeployDeck.Domain.Tests.Monitoring;

public sealed class PhaseUsageTests
{
    private const long Mb = 1L << 20;
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private static readonly Guid RolloutA = Guid.NewGuid();
    private static readonly Guid RolloutB = Guid.NewGuid();

    private static ContainerFigures Container(Guid rollout, string service, long mb, double? cpu = null) => new()
    {
        Id = Guid.NewGuid().ToString("N"),
        Name = service,
        Rollout = rollout.ToString(),
        Phase = "core",
        Service = service,
        MemoryBytes = mb * Mb,
        CpuPercent = cpu,
    };

    private static StatsTick Tick(int second, long hostMb, params ContainerFigures[] containers) =>
        new(T0.AddSeconds(second), new HostFigures { MemoryTotalBytes = 4096 * Mb, MemoryUsedBytes = hostMb * Mb }, containers);

    [Fact]
    public void Samples_in_a_running_phase_give_peak_average_and_max_cpu_per_service_rollout_and_host()
    {
        var windows = new[] { new PhaseWindow(RolloutA, 0, "core", T0, null) };
        var ticks = new[]
        {
            Tick(1, 1000, Container(RolloutA, "api", 100, 10), Container(RolloutA, "db", 200, 5)),
            Tick(2, 1200, Container(RolloutA, "api", 300, 40), Container(RolloutA, "db", 200, 1)),
        };

        var usage = PhaseUsage.Aggregate(ticks, windows);

        var api = usage[new UsageKey(RolloutA, 0, UsageSubject.Service, "api")];
        Assert.Equal((300 * Mb, 200 * Mb, 2, 40.0), (api.PeakMemoryBytes, api.AverageMemoryBytes, api.Samples, api.MaxCpuPercent));
        var total = usage[new UsageKey(RolloutA, 0, UsageSubject.Rollout, "")];
        Assert.Equal((500 * Mb, 400 * Mb, 41.0), (total.PeakMemoryBytes, total.AverageMemoryBytes, total.MaxCpuPercent));
        var host = usage[new UsageKey(RolloutA, 0, UsageSubject.Host, "")];
        Assert.Equal((1200 * Mb, 1100 * Mb, (double?)null), (host.PeakMemoryBytes, host.AverageMemoryBytes, host.MaxCpuPercent));
        Assert.Equal("core", host.Phase);
    }

    [Fact]
    public void Host_memory_counts_for_a_rollout_only_from_its_own_host()
    {
        Guid here = Guid.NewGuid(), elsewhere = Guid.NewGuid();
        var windows = new[] { new PhaseWindow(RolloutA, 0, "core", T0, null, here) };
        var ticks = new[]
        {
            Tick(1, 1000, Container(RolloutA, "api", 100)) with { HostId = here },
            Tick(1, 3000) with { HostId = elsewhere },
        };

        var usage = PhaseUsage.Aggregate(ticks, windows);

        var host = usage[new UsageKey(RolloutA, 0, UsageSubject.Host, "")];
        Assert.Equal((1000 * Mb, 1), (host.PeakMemoryBytes, host.Samples));
    }

    [Fact]
    public void Samples_outside_a_phase_window_and_containers_of_other_rollouts_are_not_counted()
    {
        var windows = new[] { new PhaseWindow(RolloutA, 1, "business", T0.AddSeconds(2), T0.AddSeconds(3)) };
        var ticks = new[]
        {
            Tick(1, 900, Container(RolloutA, "api", 999)),
            Tick(2, 1000, Container(RolloutA, "api", 100), Container(RolloutB, "api", 700)),
            Tick(4, 2000, Container(RolloutA, "api", 999)),
        };

        var usage = PhaseUsage.Aggregate(ticks, windows);

        Assert.Equal(100 * Mb, usage[new UsageKey(RolloutA, 1, UsageSubject.Service, "api")].PeakMemoryBytes);
        Assert.Equal(1, usage[new UsageKey(RolloutA, 1, UsageSubject.Host, "")].Samples);
        Assert.DoesNotContain(usage.Keys, k => k.RolloutId == RolloutB);
    }

    [Fact]
    public void Replicas_of_a_service_are_summed_and_unreadable_containers_skipped()
    {
        var windows = new[] { new PhaseWindow(RolloutA, 0, "core", T0, null) };
        var unreadable = Container(RolloutA, "api", 0) with { MemoryBytes = null };
        var usage = PhaseUsage.Aggregate([Tick(1, 1000, Container(RolloutA, "api", 100), Container(RolloutA, "api", 50), unreadable)], windows);

        Assert.Equal(150 * Mb, usage[new UsageKey(RolloutA, 0, UsageSubject.Service, "api")].PeakMemoryBytes);
    }

    [Fact]
    public void No_running_phase_records_nothing() =>
        Assert.Empty(PhaseUsage.Aggregate([Tick(1, 1000, Container(RolloutA, "api", 100))], []));

    [Theory]
    [InlineData(50, Band.Green)]
    [InlineData(75, Band.Yellow)]
    [InlineData(90, Band.Red)]
    public void A_container_near_its_memory_limit_is_red(long mb, Band band) =>
        Assert.Equal(band, LimitBand.Of(Container(RolloutA, "api", mb) with { MemoryLimitBytes = 100 * Mb }));

    [Fact]
    public void A_container_without_a_limit_has_no_limit_band() =>
        Assert.Equal(Band.Unknown, LimitBand.Of(Container(RolloutA, "api", 50)));
}
