using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;

namespace DeployDeck.Domain.Hosts;

/// <summary>What one image is on the host: absent images have no size here (the rollout reads it from the registry before it pulls).</summary>
public sealed record ImageFacts(bool Present, long? SizeBytes)
{
    /// <summary>The image's id on the host: a container running another id runs an older image of the same reference.</summary>
    public string? Id { get; init; }

    /// <summary>The directories the image declares as volumes (its <c>VOLUME</c>s): a new container takes over its predecessor's.</summary>
    public IReadOnlyList<string> Volumes { get; init; } = [];
}

public enum ImageClass
{
    Small,
    Medium,
    Large,
    Unknown,
}

public sealed record ImageForecast(string Service, string Image, bool Present, long? SizeBytes, ImageClass Class, string Strategy, bool NeedsBuild);

/// <param name="NewLimits">Memory limits of the phase's new containers.</param>
/// <param name="Overlap">Previous containers of this phase's services, kept running until the phase passes (already in use on the host).</param>
/// <param name="Freed">Previous containers of earlier phases, removed when those passed.</param>
/// <param name="RunningBefore">Host memory in use when this phase starts: now, less what was freed, plus earlier phases' new limits.</param>
/// <param name="PredictedPeak">RunningBefore + NewLimits: the most this phase can take the host to. Null when host memory is unknown.</param>
/// <param name="Headroom">What the phase may add: capacity (total less the part kept free) − RunningBefore.</param>
public sealed record PhaseForecast(
    string Phase, long NewLimits, long NewReservations, long Overlap, long Freed, long? RunningBefore, long? PredictedPeak, long Capacity,
    long? Headroom, long? Budget, long CumulativeLimits, long? StackBudget, bool? Fits, IReadOnlyList<string> Problems,
    IReadOnlyList<string> Blamed, IReadOnlyList<string> Unlimited)
{
    /// <summary>Services the reconcile plan keeps: their running containers stay, adding nothing and freeing nothing.</summary>
    public IReadOnlyList<string> Kept { get; init; } = [];
}

/// <summary>The prediction for every phase; <see cref="Refusal"/> says in one line why the plan cannot start, with the figures.</summary>
public sealed record AdmissionForecast(
    IReadOnlyList<PhaseForecast> Phases, IReadOnlyList<ImageForecast> Images, long? DiskUsedBytes, long? DiskAvailableBytes,
    double? PredictedDiskPercent, Band DiskBand, double KeepFreePercent, IReadOnlyList<string> Warnings)
{
    public bool Fits => Phases.All(p => p.Fits != false);

    public string? Refusal => Fits ? null : string.Join("; ", Phases.SelectMany(p => p.Problems));
}

/// <summary>
/// Admission: before the rollout and again before each phase, predict the host's memory once the phase's new
/// containers run beside what already runs, and refuse a phase that would leave less than the configured share free
/// or break its phase or stack budget.
/// </summary>
public static class Admission
{
    public const long SmallImage = 500L * 1024 * 1024;
    public const long LargeImage = 2L * 1024 * 1024 * 1024;

    /// <param name="previous">Memory in use by the plan's running containers, by service: they are replaced during the rollout.</param>
    /// <param name="images">Facts about each image reference of the plan.</param>
    /// <param name="fromPhase">Phases before this one are already done (admission before each phase).</param>
    /// <param name="kept">Services whose running containers the rollout keeps (unchanged): already in the host's memory in use.</param>
    public static AdmissionForecast Predict(
        PlanSpec plan, HostSignals host, HostThresholds thresholds, IReadOnlyDictionary<string, long> previous,
        IReadOnlyDictionary<string, ImageFacts> images, int fromPhase = 0, IReadOnlySet<string>? kept = null)
    {
        kept ??= new HashSet<string>();
        var capacity = (long)(host.MemoryTotalBytes * (1 - thresholds.KeepFreePercent / 100));
        var usedNow = host.MemoryUsedBytes;
        var warnings = new List<string>();
        if (usedNow is null)
            warnings.Add("host memory in use is unknown: no phase can be checked against the host (budgets still are)");

        var phases = new List<PhaseForecast>();
        long freed = 0, earlierLimits = 0, cumulative = 0;
        for (var i = 0; i < plan.Phases.Count; i++)
        {
            var phase = plan.Phases[i];
            // Budgets are about what the phase defines; the host's peak only about the containers it adds.
            var limits = phase.Services.Sum(s => s.Resources.MemoryLimit?.Bytes ?? 0);
            var added = phase.Services.Where(s => !kept.Contains(s.Name)).ToList();
            var newLimits = added.Sum(s => s.Resources.MemoryLimit?.Bytes ?? 0);
            var reservations = added.Sum(s => s.Resources.MemoryReservation?.Bytes ?? 0);
            var overlap = added.Sum(s => previous.GetValueOrDefault(s.Name));
            cumulative += limits;
            if (i < fromPhase)
            {
                // Already rolled out: its containers are in use now and its previous ones are gone.
                continue;
            }

            var runningBefore = usedNow - freed + earlierLimits;
            var peak = runningBefore + newLimits;
            var headroom = capacity - runningBefore;
            var problems = new List<string>();
            var excess = 0L;
            if (peak is { } p && p > capacity)
            {
                excess = Math.Max(excess, p - capacity);
                problems.Add($"phase {phase.Name} needs {Size(newLimits)}; {Size(Math.Max(0, headroom!.Value))} free after keeping {thresholds.KeepFreePercent:0.#} % of {Size(host.MemoryTotalBytes)}");
            }

            if (phase.MemoryBudget is { } budget && limits > budget.Bytes)
            {
                excess = Math.Max(excess, limits - budget.Bytes);
                problems.Add($"phase {phase.Name} limits total {Size(limits)}, over its budget of {budget}");
            }

            if (plan.StackBudget is { } stack && cumulative > stack.Bytes)
            {
                excess = Math.Max(excess, cumulative - stack.Bytes);
                problems.Add($"after phase {phase.Name} the stack's limits total {Size(cumulative)}, over the stack budget of {stack}");
            }

            // Over the host: the containers it adds are to blame; over a budget, any of the phase's services.
            var blamed = Blame(problems.Count == (peak > capacity ? 1 : 0) ? added : phase.Services, excess);
            if (blamed.Count > 0)
                problems[^1] += $" (largest: {string.Join(", ", blamed)})";

            var unlimited = phase.Services.Where(s => s.Resources.MemoryLimit is null).Select(s => s.Name).ToList();
            if (unlimited.Count > 0)
                warnings.Add($"phase {phase.Name}: {string.Join(", ", unlimited)} {(unlimited.Count == 1 ? "has" : "have")} no memory limit and can take any amount; not counted");

            bool? fits = problems.Count > 0 ? false : peak is null ? null : true;
            phases.Add(new PhaseForecast(phase.Name, newLimits, reservations, overlap, freed, runningBefore, peak, capacity, headroom,
                phase.MemoryBudget?.Bytes, cumulative, plan.StackBudget?.Bytes, fits, problems, blamed, unlimited)
            {
                Kept = phase.Services.Where(s => kept.Contains(s.Name)).Select(s => s.Name).ToList(),
            });

            freed += overlap;
            earlierLimits += newLimits;
        }

        var imageForecasts = plan.AllServices.Select(s =>
        {
            var facts = images.GetValueOrDefault(s.Image) ?? new ImageFacts(false, null);
            var size = facts.Present ? facts.SizeBytes : null;
            return new ImageForecast(s.Name, s.Image, facts.Present, size, Classify(size), Strategy(Classify(size), facts.Present, s.Build is not null), s.Build is not null);
        }).ToList();

        var absent = imageForecasts.Where(i => !i.Present).ToList();
        if (absent.Count > 0)
            warnings.Add($"{absent.Count} image{(absent.Count == 1 ? " is" : "s are")} not on the host ({string.Join(", ", absent.Select(i => i.Image).Distinct().Take(5))}{(absent.Count > 5 ? ", …" : "")}): they are pulled before the first phase, once their registry's sizes fit the disk (pull_policy never refuses the rollout instead)");

        // Present images add nothing; absent ones have no known size, so the disk forecast is the disk now — or unknown.
        double? diskPercent = absent.Count == 0 ? host.DiskPercent : null;
        var diskBand = HostCheck.Classify(diskPercent, thresholds.DiskYellow, thresholds.DiskRed);
        return new AdmissionForecast(phases, imageForecasts, host.DiskUsedBytes, host.DiskAvailableBytes, diskPercent, diskBand, thresholds.KeepFreePercent, warnings);
    }

    public static ImageClass Classify(long? bytes) => bytes switch
    {
        null => ImageClass.Unknown,
        < SmallImage => ImageClass.Small,
        <= LargeImage => ImageClass.Medium,
        _ => ImageClass.Large,
    };

    public static string Strategy(ImageClass imageClass, bool present, bool build) => imageClass switch
    {
        ImageClass.Small => "small: building on the host is fine",
        ImageClass.Medium => "medium: build with memory and CPU limits (docker build --memory), off-peak",
        ImageClass.Large => "large: build elsewhere (CI, multi-stage), transfer compressed (docker save | gzip)",
        _ when build => "to be built: its size class is known once built",
        _ when !present => "absent: pulled before the first phase, after a disk check with the registry's sizes",
        _ => "unknown size",
    };

    /// <summary>The phase's largest services, until their limits cover what is too much.</summary>
    private static List<string> Blame(IEnumerable<ServiceSpec> services, long excess)
    {
        var blamed = new List<string>();
        if (excess <= 0)
            return blamed;
        var covered = 0L;
        foreach (var s in services.Where(s => s.Resources.MemoryLimit is not null).OrderByDescending(s => s.Resources.MemoryLimit!.Value.Bytes))
        {
            blamed.Add($"{s.Name} {s.Resources.MemoryLimit}");
            covered += s.Resources.MemoryLimit!.Value.Bytes;
            if (covered >= excess)
                break;
        }

        return blamed;
    }

    private static string Size(long bytes) => new MemorySize(bytes).ToString();
}

/// <summary>A host check with the admission forecast of a plan: what a rollout records and the preflight page shows.</summary>
public sealed record PreflightResult(HostSignals Signals, HostThresholds Thresholds, HostVerdict Verdict, AdmissionForecast? Forecast)
{
    /// <summary>Why the rollout may not start at all: a RED host or a phase that does not fit. Null when it may.</summary>
    public string? Refusal => Verdict.Overall == Band.Red
        ? $"the host is RED: {Verdict.Summary}"
        : Forecast?.Refusal;

    public bool NeedsAcknowledgement => Refusal is null && Verdict.Overall == Band.Yellow;

    /// <summary>What the rollout does with each service given what the host runs (dry run, launch); null where not worked out.</summary>
    public Rollouts.ReconcilePlan? Reconcile { get; init; }
}
