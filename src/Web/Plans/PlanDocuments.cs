using System.Globalization;
using DeployDeck.Compose;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;

namespace DeployDeck.Web.Plans;

public sealed record PlanSummaryDto(Guid Id, string Name, string? Description, int LatestRevision, int Phases, int Services, DateTimeOffset CreatedAt);

public sealed record HealthCheckDto(IReadOnlyList<string> Test, double IntervalSeconds, double TimeoutSeconds, int Retries, double StartPeriodSeconds);

public sealed record DependencyDto(string Service, string Condition);

/// <summary>A service as the API shows and takes it; secret environment values are masked both ways.</summary>
public sealed record ServiceDto(
    string Name, string Image, IReadOnlyList<string>? Command, IReadOnlyList<string>? Entrypoint, IReadOnlyDictionary<string, string>? Environment,
    IReadOnlyList<string>? Ports, IReadOnlyDictionary<string, string>? Labels, long? MemoryLimitBytes, long? MemoryReservationBytes, long? MemorySwapBytes,
    double? Cpus, string? Restart, HealthCheckDto? HealthCheck, IReadOnlyList<DependencyDto>? DependsOn, BuildSpec? Build = null,
    IReadOnlyList<VolumeMount>? Volumes = null, IReadOnlyList<NetworkAttachment>? Networks = null, IReadOnlyDictionary<string, Ulimit>? Ulimits = null,
    IReadOnlyList<GateSpec>? Gates = null, string? NetworkMode = null, IReadOnlyList<FileMount>? Files = null, int? Replicas = null, UpdateSpec? Update = null,
    ContainerOptions? Options = null);

/// <param name="MemoryLimitsBytes">Computed: sum of the services' limits (ignored on input).</param>
public sealed record PhaseDto(
    string Name, string? Risk, long? MemoryBudgetBytes, double? CpuBudget, double SoakSeconds, string? Promotion, string? OnFailure,
    IReadOnlyList<ServiceDto>? Services, long MemoryLimitsBytes = 0, long MemoryReservationsBytes = 0, long CumulativeLimitsBytes = 0, double CpusTotal = 0);

public sealed record IssueDto(string Severity, string Message, string? Phase, string? Service);

public sealed record PlanDto(
    Guid Id, string Name, string? Description, Guid RevisionId, int Revision, DateTimeOffset RevisionCreatedAt, string RevisionCreatedBy, string? Comment,
    long? StackBudgetBytes, IReadOnlyList<PhaseDto> Phases, IReadOnlyList<IssueDto> Issues, IReadOnlyList<string> ImportNotes)
{
    /// <summary>The Compose project: fixed when the plan was created.</summary>
    public string ProjectName { get; init; } = "";

    public string? ProjectDirectory { get; init; }

    public IReadOnlyList<NetworkSpec> Networks { get; init; } = [];

    public IReadOnlyList<VolumeSpec> Volumes { get; init; } = [];

    /// <summary>Configs and secrets by name and origin; a config's content is on its own endpoint, a secret's never leaves.</summary>
    public IReadOnlyList<ProjectFileDto> Files { get; init; } = [];

    /// <summary>The keys of this revision that reach the host, and who allowed them.</summary>
    public IReadOnlyList<string> HostAccess { get; init; } = [];

    public HostAccessAllowance? HostAccessAllowance { get; init; }
}

public sealed record ProjectFileDto(string Kind, string Key, string Origin, int Bytes);

/// <summary>Body of PUT /api/plans/{id}/project-directory (Admin).</summary>
public sealed record ProjectDirectoryUpdate(string? ProjectDirectory);

/// <summary>Body of PUT /api/plans/{id}: the whole plan as GET returns it; <paramref name="BaseRevision"/> guards against lost updates.</summary>
/// <param name="HostAccessReason">An Admin's reason for allowing the keys that reach the host (privileged, the Docker socket …).</param>
public sealed record PlanUpdate(int? BaseRevision, string? Comment, long? StackBudgetBytes, IReadOnlyList<PhaseDto>? Phases, string? HostAccessReason = null);

public sealed record RevisionSummaryDto(Guid Id, int Number, DateTimeOffset CreatedAt, string CreatedBy, string? Comment, int Phases, int Services);

public sealed record ImportFileDto(string? Name, string? Content);

/// <summary>Body of POST /api/plans/import.</summary>
/// <param name="ProjectFiles">Files the Compose files refer to (env_file, configs, secrets, extends), each named by the path the Compose file writes.</param>
/// <param name="HostAccessReason">An Admin's reason for allowing the keys that reach the host.</param>
public sealed record PlanImportRequest(string? Name, string? Description, IReadOnlyList<ImportFileDto>? Files, string? Env, IReadOnlyList<string>? Profiles, long? StackBudgetBytes,
    IReadOnlyList<ImportFileDto>? ProjectFiles = null, string? HostAccessReason = null);

public sealed record PlanImportResponse(PlanDto Plan, IReadOnlyList<IssueDto> Warnings, IReadOnlyList<string> SkippedByProfile);

/// <summary>Between <see cref="PlanSpec"/> and the API's documents.</summary>
public static class PlanDocuments
{
    public static IssueDto ToDto(this PlanIssue issue) => new(issue.Severity.ToString(), issue.ToString(), issue.Phase, issue.Service);

    public static IReadOnlyList<PhaseDto> ToDto(PlanSpec spec)
    {
        var budgets = PlanBudgets.Of(spec).Phases;
        return spec.Phases.Select((p, i) => new PhaseDto(
            p.Name, p.Risk.ToString(), p.MemoryBudget?.Bytes, p.CpuBudget?.Cores, p.Soak.TotalSeconds, p.Promotion.ToString(), p.OnFailure.ToString(),
            p.Services.Select(ToDto).ToList(), budgets[i].Limits.Bytes, budgets[i].Reservations.Bytes, budgets[i].CumulativeLimits.Bytes, budgets[i].Cpus.Cores)).ToList();
    }

    /// <summary>The service as anyone may read it: secrets by key, by value and by origin masked, wherever they are.</summary>
    public static ServiceDto ToDto(ServiceSpec service) => Document(SecretKeys.MaskedService(service));

    private static ServiceDto Document(ServiceSpec s) => new(
        s.Name, s.Image, s.Command, s.Entrypoint, s.Environment, s.Ports.Select(p => p.ToString()).ToList(), s.Labels,
        s.Resources.MemoryLimit?.Bytes, s.Resources.MemoryReservation?.Bytes, s.Resources.MemorySwapLimit?.Bytes, s.Resources.Cpus?.Cores,
        s.Restart.ToString(),
        s.HealthCheck is { } h ? new HealthCheckDto(h.Test, h.Interval.TotalSeconds, h.Timeout.TotalSeconds, h.Retries, h.StartPeriod.TotalSeconds) : null,
        s.DependsOn.Select(d => new DependencyDto(d.Service, Condition(d.Condition))).ToList(),
        s.Build, s.Volumes, s.Networks, s.Ulimits, s.Gates, s.NetworkMode, s.Files, s.Replicas, s.Update, s.Options);

    public static string Condition(DependencyCondition c) => c switch
    {
        DependencyCondition.ServiceHealthy => "service_healthy",
        DependencyCondition.ServiceCompletedSuccessfully => "service_completed_successfully",
        _ => "service_started",
    };

    /// <summary>The plan a document describes; every problem is named in <paramref name="issues"/>.</summary>
    public static PlanSpec ToSpec(PlanUpdate update, PlanSpec? previous, List<PlanIssue> issues)
    {
        var before = previous?.AllServices.ToDictionary(s => s.Name, StringComparer.Ordinal) ?? [];
        var phases = new List<PhaseSpec>();
        foreach (var p in (update.Phases ?? []).OfType<PhaseDto>())
        {
            var name = (p.Name ?? "").Trim();
            if (name.Length is 0 or > 100)
                issues.Add(new(Severity.Error, "a phase needs a name of 1 to 100 characters"));
            if (p.SoakSeconds is < 0 or > 86_400 || double.IsNaN(p.SoakSeconds))
                issues.Add(new(Severity.Error, $"soak {p.SoakSeconds} s must be between 0 and 86400 seconds (a day)", name));
            phases.Add(new PhaseSpec
            {
                Name = name,
                Risk = Enum<RiskLevel>(p.Risk, "risk", name, issues, RiskLevel.Low),
                MemoryBudget = Bytes(p.MemoryBudgetBytes, "memory budget", name, null, issues),
                CpuBudget = Cpus(p.CpuBudget, "CPU budget", name, null, issues),
                Soak = TimeSpan.FromSeconds(double.IsNaN(p.SoakSeconds) ? 0 : Math.Clamp(p.SoakSeconds, 0, 86_400)),
                Promotion = Enum<PromotionMode>(p.Promotion, "promotion", name, issues, PromotionMode.Automatic),
                OnFailure = Enum<FailurePolicy>(p.OnFailure, "on failure", name, issues, FailurePolicy.RollbackPhase),
                Services = (p.Services ?? []).OfType<ServiceDto>().Select(s => ToSpec(s, name, before.GetValueOrDefault((s.Name ?? "").Trim()), issues)).ToList(),
            });
        }

        // The document carries phases and services only: the project's declarations and the allowance stay the revision's.
        return new PlanSpec(phases, Bytes(update.StackBudgetBytes, "stack budget", null, null, issues))
        {
            Resources = previous?.Resources ?? ProjectResources.None,
            HostAccess = previous?.HostAccess,
        };
    }

    private static ServiceSpec ToSpec(ServiceDto s, string phase, ServiceSpec? previous, List<PlanIssue> issues)
    {
        var name = (s.Name ?? "").Trim();
        var ports = new List<PortMapping>();
        foreach (var port in s.Ports ?? [])
        {
            try
            {
                ports.AddRange(PortSyntax.ParseShort(port ?? ""));
            }
            catch (FormatException e)
            {
                issues.Add(new(Severity.Error, $"port {e.Message}", phase, name));
            }
        }

        var restart = RestartPolicy.No;
        if (s.Restart is not null && !RestartPolicy.TryParse(s.Restart, out restart, out var restartError))
            issues.Add(new(Severity.Error, restartError, phase, name));

        // Fields the document does not carry keep the revision's values (and its secrets by origin); masks are resolved by PlanStore.
        return (previous ?? new ServiceSpec { Name = name, Image = "" }) with
        {
            Name = name,
            Image = (s.Image ?? "").Trim(),
            Command = s.Command,
            Entrypoint = s.Entrypoint,
            Environment = s.Environment ?? new Dictionary<string, string>(),
            Ports = ports,
            Labels = s.Labels ?? new Dictionary<string, string>(),
            Resources = new ResourceLimits(
                Bytes(s.MemoryLimitBytes, "memory limit", phase, name, issues),
                Bytes(s.MemoryReservationBytes, "memory reservation", phase, name, issues),
                Bytes(s.MemorySwapBytes, "memory+swap limit", phase, name, issues),
                Cpus(s.Cpus, "CPUs", phase, name, issues)),
            Restart = restart,
            HealthCheck = HealthCheck(s.HealthCheck, phase, name, issues),
            DependsOn = (s.DependsOn ?? []).OfType<DependencyDto>().Select(d => new ServiceDependency(d.Service ?? "", d.Condition switch
            {
                null or "" or "service_started" => DependencyCondition.ServiceStarted,
                "service_healthy" => DependencyCondition.ServiceHealthy,
                "service_completed_successfully" => DependencyCondition.ServiceCompletedSuccessfully,
                _ => Fail(issues, phase, name, $"depends on {d.Service}: condition '{d.Condition}' is not service_started, service_healthy or service_completed_successfully", DependencyCondition.ServiceStarted),
            })
            {
                // restart and required are not in the document: the revision's stay.
                Restart = previous?.DependsOn.FirstOrDefault(x => x.Service == d.Service)?.Restart ?? false,
                Required = previous?.DependsOn.FirstOrDefault(x => x.Service == d.Service)?.Required ?? true,
            }).ToList(),
            Build = s.Build ?? previous?.Build,
            Volumes = s.Volumes ?? previous?.Volumes ?? [],
            Networks = s.Networks ?? previous?.Networks ?? [],
            Ulimits = s.Ulimits ?? previous?.Ulimits ?? new Dictionary<string, Ulimit>(),
            Gates = s.Gates ?? previous?.Gates ?? [],
            NetworkMode = s.NetworkMode ?? previous?.NetworkMode,
            Files = s.Files ?? previous?.Files ?? [],
            Replicas = s.Replicas ?? previous?.Replicas ?? 1,
            Update = s.Update ?? previous?.Update ?? UpdateSpec.Default,
            Options = s.Options ?? previous?.Options ?? ContainerOptions.None,
        };
    }

    private static HealthCheck? HealthCheck(HealthCheckDto? h, string phase, string service, List<PlanIssue> issues)
    {
        if (h is null)
            return null;
        if (h.Test is not [("CMD" or "CMD-SHELL"), _, ..] and not ["NONE", ..])
            issues.Add(new(Severity.Error, "health check test must be [\"CMD\", …], [\"CMD-SHELL\", \"…\"] or [\"NONE\"]", phase, service));
        foreach (var (what, seconds) in new[] { ("interval", h.IntervalSeconds), ("timeout", h.TimeoutSeconds), ("start period", h.StartPeriodSeconds) })
        {
            if (seconds is < 0 or > 86_400 || double.IsNaN(seconds))
                issues.Add(new(Severity.Error, $"health check {what} {seconds.ToString(CultureInfo.InvariantCulture)} s must be between 0 and 86400", phase, service));
        }

        if (h.Retries is < 1 or > 1000)
            issues.Add(new(Severity.Error, $"health check retries {h.Retries} must be between 1 and 1000", phase, service));
        static TimeSpan Seconds(double s) => TimeSpan.FromSeconds(double.IsNaN(s) ? 0 : Math.Clamp(s, 0, 86_400));
        return new HealthCheck(h.Test ?? [], Seconds(h.IntervalSeconds), Seconds(h.TimeoutSeconds), h.Retries, Seconds(h.StartPeriodSeconds));
    }

    private static MemorySize? Bytes(long? bytes, string what, string? phase, string? service, List<PlanIssue> issues)
    {
        if (bytes is null)
            return null;
        if (bytes <= 0 || bytes > MemorySize.Absurd.Bytes)
            return Fail<MemorySize?>(issues, phase, service, $"{what} of {bytes} bytes must be above 0 and at most {MemorySize.Absurd}", null);
        return new MemorySize(bytes.Value);
    }

    private static CpuShare? Cpus(double? cores, string what, string? phase, string? service, List<PlanIssue> issues)
    {
        if (cores is null)
            return null;
        if (!CpuShare.TryParse(cores.Value.ToString(CultureInfo.InvariantCulture), out var cpus, out var error))
            return Fail<CpuShare?>(issues, phase, service, $"{what}: {error}", null);
        return cpus;
    }

    private static T Enum<T>(string? text, string what, string phase, List<PlanIssue> issues, T fallback)
        where T : struct, Enum
    {
        if (string.IsNullOrEmpty(text))
            return fallback;
        if (System.Enum.TryParse<T>(text, ignoreCase: true, out var value) && System.Enum.IsDefined(value))
            return value;
        return Fail(issues, phase, null, $"{what} '{text}' is not one of {string.Join(", ", System.Enum.GetNames<T>())}", fallback);
    }

    private static T Fail<T>(List<PlanIssue> issues, string? phase, string? service, string message, T fallback)
    {
        issues.Add(new(Severity.Error, message, phase, service));
        return fallback;
    }
}
