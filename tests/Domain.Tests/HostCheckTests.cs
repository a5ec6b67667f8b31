using DeployDeck.Domain.Hosts;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;

namespace DeployDeck.Domain.Tests;

public sealed class HostCheckTests
{
    private const long Gb = 1L << 30;

    private static HostSignals Host(double? memoryPercent = 10, double? diskPercent = 10, double? load = 0.5) => new()
    {
        MemoryTotalBytes = 100 * Gb,
        MemoryUsedBytes = memoryPercent is { } m ? (long)(m * Gb) : null,
        DiskUsedBytes = diskPercent is { } d ? (long)(d * 10 * Gb) : null,
        DiskAvailableBytes = diskPercent is { } d2 ? (long)((100 - d2) * 10 * Gb) : null,
        Load1 = load,
        Cpus = 2,
    };

    [Theory]
    [InlineData(69.9, Band.Green)]
    [InlineData(70.0, Band.Yellow)]
    [InlineData(85.0, Band.Yellow)]
    [InlineData(85.1, Band.Red)]
    public void Memory_and_disk_bands_follow_the_runbook_edges(double percent, Band band)
    {
        Assert.Equal(band, HostCheck.Evaluate(Host(memoryPercent: percent), HostThresholds.Default).Signals.Single(s => s.Signal == "memory").Band);
        Assert.Equal(band, HostCheck.Evaluate(Host(diskPercent: percent), HostThresholds.Default).Signals.Single(s => s.Signal == "disk").Band);
    }

    [Theory]
    [InlineData(1.99, Band.Green)]
    [InlineData(2.0, Band.Yellow)]
    [InlineData(5.0, Band.Yellow)]
    [InlineData(5.01, Band.Red)]
    public void Load_bands_follow_the_runbook_edges(double load, Band band) =>
        Assert.Equal(band, HostCheck.Evaluate(Host(load: load), HostThresholds.Default).Signals.Single(s => s.Signal == "load").Band);

    [Fact]
    public void The_worst_signal_decides_and_an_unknown_one_needs_a_person()
    {
        Assert.Equal(Band.Green, HostCheck.Evaluate(Host(), HostThresholds.Default).Overall);
        Assert.Equal(Band.Red, HostCheck.Evaluate(Host(memoryPercent: 90, load: 3), HostThresholds.Default).Overall);
        var unknown = HostCheck.Evaluate(Host(load: null), HostThresholds.Default);
        Assert.Equal(Band.Yellow, unknown.Overall);
        Assert.Equal("load unknown", unknown.Summary);
    }

    [Fact]
    public void Thresholds_are_per_host_and_their_figures_are_named()
    {
        var verdict = HostCheck.Evaluate(Host(memoryPercent: 50), new HostThresholds(MemoryYellow: 30, MemoryRed: 45));
        Assert.Equal(Band.Red, verdict.Overall);
        Assert.Equal("memory 50 % (red above 45 %)", verdict.Summary);
        Assert.Contains(new HostThresholds(MemoryYellow: 90, MemoryRed: 80).Problems(), p => p.Contains("yellow not above red", StringComparison.Ordinal));
        Assert.Empty(HostThresholds.Default.Problems());
    }
}

public sealed class AdmissionTests
{
    private const long Mb = 1L << 20;

    private static ServiceSpec S(string name, long? limitMb, long? reservationMb = null, string image = "app") => new()
    {
        Name = name,
        Image = image,
        Resources = new ResourceLimits(limitMb is { } l ? MemorySize.FromMebibytes(l) : null, reservationMb is { } r ? MemorySize.FromMebibytes(r) : null, null, null),
    };

    private static readonly HostSignals Host = new() { MemoryTotalBytes = 4000 * Mb, MemoryUsedBytes = 1000 * Mb, DiskUsedBytes = 10, DiskAvailableBytes = 90, Load1 = 0.1, Cpus = 2 };

    private static readonly Dictionary<string, ImageFacts> Present = new() { ["app"] = new(true, 100 * Mb) };

    [Fact]
    public void Each_phase_adds_its_limits_to_what_runs_and_frees_the_previous_containers_of_earlier_phases()
    {
        var plan = new PlanSpec([
            new PhaseSpec { Name = "core", Services = [S("db", 500, 250), S("api", 300)] },
            new PhaseSpec { Name = "business", Services = [S("auth", 200)] },
        ]);
        var previous = new Dictionary<string, long> { ["db"] = 400 * Mb, ["auth"] = 150 * Mb };

        var forecast = Admission.Predict(plan, Host, HostThresholds.Default, previous, Present);

        var core = forecast.Phases[0];
        Assert.Equal(800 * Mb, core.NewLimits);
        Assert.Equal(250 * Mb, core.NewReservations);
        Assert.Equal(400 * Mb, core.Overlap);
        Assert.Equal(1000 * Mb, core.RunningBefore);
        Assert.Equal(1800 * Mb, core.PredictedPeak);
        Assert.Equal(2800 * Mb, core.Capacity);
        Assert.Equal(1800 * Mb, core.Headroom);
        Assert.True(core.Fits);

        // The old db (400 MB) is gone once core passes; core's 800 MB of limits now run.
        var business = forecast.Phases[1];
        Assert.Equal(400 * Mb, business.Freed);
        Assert.Equal(150 * Mb, business.Overlap);
        Assert.Equal((1000 - 400 + 800) * Mb, business.RunningBefore);
        Assert.Equal((1000 - 400 + 800 + 200) * Mb, business.PredictedPeak);
        Assert.Equal(1000 * Mb, business.CumulativeLimits);
        Assert.True(forecast.Fits);
        Assert.Null(forecast.Refusal);
    }

    [Fact]
    public void A_phase_over_the_headroom_is_refused_with_the_figures_and_its_largest_services()
    {
        var plan = new PlanSpec([new PhaseSpec { Name = "analytics", Services = [S("etl", 1000), S("search", 1200), S("plots", 100)] }]);

        var forecast = Admission.Predict(plan, Host, HostThresholds.Default, new Dictionary<string, long>(), Present);

        Assert.False(forecast.Fits);
        Assert.Equal(["search 1.17 GB"], forecast.Phases[0].Blamed);
        Assert.Equal("phase analytics needs 2.25 GB; 1.76 GB free after keeping 30 % of 3.91 GB (largest: search 1.17 GB)", forecast.Refusal);
    }

    [Fact]
    public void A_service_the_rollout_keeps_adds_nothing_to_the_hosts_peak_and_frees_nothing_but_still_counts_in_its_budgets()
    {
        var plan = new PlanSpec([
            new PhaseSpec { Name = "core", Services = [S("db", 2000), S("api", 300)] },
            new PhaseSpec { Name = "business", Services = [S("auth", 200)] },
        ]);
        var previous = new Dictionary<string, long> { ["db"] = 900 * Mb, ["api"] = 100 * Mb };

        // Created anew, db's 2 GB and api's 300 MB on top of the 1 GB in use do not fit the 2.8 GB left after keeping 30 % free.
        var recreated = Admission.Predict(plan, Host, HostThresholds.Default, previous, Present);
        Assert.False(recreated.Fits);
        Assert.Equal(["db 1.95 GB"], recreated.Phases[0].Blamed);

        // Kept, db's running container is already in the 1 GB in use: the phase adds api alone and frees api's old one.
        var kept = Admission.Predict(plan, Host, HostThresholds.Default, previous, Present, kept: new HashSet<string> { "db" });
        var core = kept.Phases[0];
        Assert.True(kept.Fits, kept.Refusal);
        Assert.Equal(["db"], core.Kept);
        Assert.Equal(300 * Mb, core.NewLimits);
        Assert.Equal(100 * Mb, core.Overlap);
        Assert.Equal(1300 * Mb, core.PredictedPeak);
        Assert.Equal(2300 * Mb, core.CumulativeLimits);
        Assert.Equal((1000 - 100 + 300 + 200) * Mb, kept.Phases[1].PredictedPeak);

        // Budgets are about what the phases define, kept or not.
        var budgeted = plan with { Phases = [plan.Phases[0] with { MemoryBudget = MemorySize.FromMebibytes(1000) }, plan.Phases[1]] };
        var overBudget = Admission.Predict(budgeted, Host, HostThresholds.Default, previous, Present, kept: new HashSet<string> { "db" });
        Assert.False(overBudget.Fits);
        Assert.Equal("phase core limits total 2.25 GB, over its budget of 1000 MB (largest: db 1.95 GB)", overBudget.Refusal);
    }

    [Fact]
    public void Phase_and_stack_budgets_are_checked_even_when_the_host_has_room()
    {
        var plan = new PlanSpec(
            [new PhaseSpec { Name = "core", MemoryBudget = MemorySize.FromMebibytes(512), Services = [S("db", 400), S("api", 300)] },
             new PhaseSpec { Name = "business", Services = [S("auth", 400)] }],
            MemorySize.FromMebibytes(1000));

        var forecast = Admission.Predict(plan, Host, HostThresholds.Default, new Dictionary<string, long>(), Present);

        Assert.Contains("phase core limits total 700 MB, over its budget of 512 MB (largest: db 400 MB)", forecast.Phases[0].Problems);
        Assert.Contains("after phase business the stack's limits total 1.07 GB, over the stack budget of 1000 MB (largest: auth 400 MB)", forecast.Phases[1].Problems);
    }

    [Fact]
    public void Unknown_host_memory_leaves_the_fit_unknown_never_guessed()
    {
        var plan = new PlanSpec([new PhaseSpec { Name = "core", Services = [S("db", 100)] }]);
        var forecast = Admission.Predict(plan, Host with { MemoryUsedBytes = null }, HostThresholds.Default, new Dictionary<string, long>(), Present);
        Assert.Null(forecast.Phases[0].Fits);
        Assert.Null(forecast.Phases[0].PredictedPeak);
        Assert.True(forecast.Fits);
        Assert.Contains(forecast.Warnings, w => w.Contains("host memory in use is unknown", StringComparison.Ordinal));
    }

    [Fact]
    public void Unlimited_services_and_absent_images_are_warned_and_disk_becomes_unknown()
    {
        var plan = new PlanSpec([new PhaseSpec { Name = "core", Services = [S("db", null), S("web", 100, image: "ghost:1")] }]);
        var forecast = Admission.Predict(plan, Host, HostThresholds.Default, new Dictionary<string, long>(), Present);
        Assert.Equal(["db"], forecast.Phases[0].Unlimited);
        Assert.Contains(forecast.Warnings, w => w.Contains("ghost:1", StringComparison.Ordinal) && w.Contains("pulled before the first phase", StringComparison.Ordinal));
        Assert.Null(forecast.PredictedDiskPercent);
        Assert.Equal(Band.Unknown, forecast.DiskBand);
        Assert.False(forecast.Images.Single(i => i.Service == "web").Present);
    }

    [Fact]
    public void Admission_before_a_later_phase_counts_only_what_is_still_to_come()
    {
        var plan = new PlanSpec([new PhaseSpec { Name = "core", Services = [S("db", 2000)] }, new PhaseSpec { Name = "business", Services = [S("auth", 200)] }]);
        var forecast = Admission.Predict(plan, Host, HostThresholds.Default, new Dictionary<string, long>(), Present, fromPhase: 1);
        var business = Assert.Single(forecast.Phases);
        Assert.Equal(1000 * Mb, business.RunningBefore);
        Assert.Equal(1200 * Mb, business.PredictedPeak);
        Assert.Equal(2200 * Mb, business.CumulativeLimits);
    }

    [Theory]
    [InlineData(100L * 1024 * 1024, ImageClass.Small)]
    [InlineData(500L * 1024 * 1024, ImageClass.Medium)]
    [InlineData(2L * 1024 * 1024 * 1024, ImageClass.Medium)]
    [InlineData(2L * 1024 * 1024 * 1024 + 1, ImageClass.Large)]
    [InlineData(null, ImageClass.Unknown)]
    public void Images_are_classed_by_size(long? bytes, ImageClass expected) => Assert.Equal(expected, Admission.Classify(bytes));
}

public sealed class OwnershipTests
{
    [Fact]
    public void Two_rollouts_started_within_the_same_minute_get_different_container_names()
    {
        var first = Guid.CreateVersion7();
        var second = Guid.CreateVersion7();
        var layout = new Engine.ProjectLayout("shop", new Plans.PlanSpec([]), null);
        var api = new Plans.ServiceSpec { Name = "api", Image = "probe" };
        Assert.NotEqual(layout.ContainerName(api, 1, first), layout.ContainerName(api, 1, second));
        Assert.StartsWith("shop-api-1-", layout.ContainerName(api, 1, first), StringComparison.Ordinal);
    }
}
