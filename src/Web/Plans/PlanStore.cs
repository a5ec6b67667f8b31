using DeployDeck.Compose;
using DeployDeck.Domain.Input;
using DeployDeck.Domain.Plans;
using DeployDeck.Infrastructure.Data;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace DeployDeck.Web.Plans;

/// <summary>A refusal the API turns into problem details and the UI into an alert; nothing was saved.</summary>
/// <param name="Errors">The request's fields and what is wrong with each, when the refusal is about fields.</param>
public sealed record PlanRefusal(int Status, string Title, string Detail, IReadOnlyList<IssueDto> Issues, IReadOnlyDictionary<string, string[]>? Errors = null);

/// <summary>Reads and writes plans. Every save is a new immutable revision; nothing is saved when any rule fails.</summary>
public sealed class PlanStore(IDbContextFactory<DeployDeckDbContext> dbFactory, TimeProvider clock, IConfiguration configuration, ILogger<PlanStore> logger)
{
    public async Task<List<PlanSummaryDto>> ListAsync(CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var rows = await db.Plans.AsNoTracking().OrderBy(p => p.Name)
            .Select(p => new
            {
                p.Id, p.Name, p.Description, p.CreatedAt,
                Latest = db.PlanRevisions.Where(r => r.PlanId == p.Id).OrderByDescending(r => r.Number)
                    .Select(r => new { r.Number, Phases = r.Phases.Count, Services = r.Phases.SelectMany(ph => ph.Services).Count() })
                    .FirstOrDefault(),
            })
            .ToListAsync(ct);
        return rows.Select(p => new PlanSummaryDto(p.Id, p.Name, p.Description, p.Latest?.Number ?? 0, p.Latest?.Phases ?? 0, p.Latest?.Services ?? 0, p.CreatedAt)).ToList();
    }

    /// <param name="revision">Null for the latest.</param>
    public async Task<PlanDto?> GetAsync(Guid id, int? revision, CancellationToken ct) =>
        (await GetWithSpecAsync(id, revision, ct))?.Dto;

    /// <summary>The document and the plan it describes (secrets unmasked), from one read of the revision.</summary>
    public async Task<(PlanDto Dto, PlanSpec Spec)?> GetWithSpecAsync(Guid id, int? revision, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var plan = await db.Plans.AsNoTracking().FirstOrDefaultAsync(p => p.Id == id, ct);
        if (plan is null)
            return null;
        var row = await Revisions(db, id, revision).FirstOrDefaultAsync(ct);
        return row is null ? null : (ToDto(plan, row), row.ToSpec());
    }

    public async Task<PlanSpec?> SpecAsync(Guid id, int? revision, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return (await Revisions(db, id, revision).FirstOrDefaultAsync(ct))?.ToSpec();
    }

    public async Task<List<RevisionSummaryDto>?> RevisionsAsync(Guid id, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (!await db.Plans.AnyAsync(p => p.Id == id, ct))
            return null;
        return await db.PlanRevisions.AsNoTracking().IgnoreAutoIncludes().Where(r => r.PlanId == id).OrderByDescending(r => r.Number)
            .Select(r => new RevisionSummaryDto(r.Id, r.Number, r.CreatedAt, r.CreatedBy, r.Comment, r.Phases.Count, r.Phases.SelectMany(p => p.Services).Count()))
            .ToListAsync(ct);
    }

    public static PlanDto ToDto(Plan plan, PlanRevision revision)
    {
        var spec = revision.ToSpec();
        return new PlanDto(plan.Id, plan.Name, plan.Description, revision.Id, revision.Number, revision.CreatedAt, revision.CreatedBy, revision.Comment,
            spec.StackBudget?.Bytes, PlanDocuments.ToDto(spec), Shown(PlanValidation.Validate(spec), spec), revision.ImportNotes)
        {
            ProjectName = plan.ProjectName,
            ProjectDirectory = plan.ProjectDirectory,
            Networks = spec.Resources.Networks,
            Volumes = spec.Resources.Volumes,
            Files = spec.Resources.Files.Select(f => new ProjectFileDto(f.Kind.ToString(), f.Key, f.Origin, System.Text.Encoding.UTF8.GetByteCount(f.Content))).ToList(),
            HostAccess = HostAccess.Find(spec, plan.ProjectDirectory).Select(f => f.ToString()).ToList(),
            HostAccessAllowance = spec.HostAccess,
        };
    }

    /// <summary>Findings as anyone may read them: a rule that quotes a value (an invalid gate URL) must not quote a secret.</summary>
    private static List<IssueDto> Shown(IEnumerable<PlanIssue> issues, PlanSpec spec)
    {
        var secrets = SecretKeys.ValuesOf(spec);
        return issues.Select(i => (i with { Message = SecretKeys.Scrub(i.Message, secrets) }).ToDto()).ToList();
    }

    public async Task<(PlanImportResponse? Imported, PlanRefusal? Refusal)> ImportAsync(PlanImportRequest request, PlanAuthor author, CancellationToken ct)
    {
        var user = author.Name;
        // The page calls this directly: the same text rules as the API's filter, before anything is parsed or stored.
        var problems = TextRules.Check(request);
        var name = (request.Name ?? "").Trim();
        if (name.Length is 0 or > 100)
            problems.Add(new("name", "a plan needs a name of 1 to 100 characters"));
        if (problems.Count > 0)
            return (null, Refuse(400, "Invalid import", problems));
        var (result, unreadable) = ReadCompose(request, name);
        if (unreadable is not null)
            return (null, unreadable);
        var files = request.Files ?? [];

        var now = clock.GetUtcNow();
        var (allowance, denied) = HostAccessRule.Decide(result.Plan!, null, author, now);
        if (denied is not null)
            return (null, denied);

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (await db.Plans.AnyAsync(p => p.Name == name, ct))
            return (null, Refuse(409, "Name taken", [new("name", $"a plan named '{name}' exists already; choose another name or save a revision of it")]));
        if (await db.Plans.Where(p => p.ProjectName == result.ProjectName).Select(p => p.Name).FirstOrDefaultAsync(ct) is { } holder)
        {
            return (null, Refuse(409, "Project name taken", [new("name",
                $"the Compose project '{result.ProjectName}' belongs to plan '{holder}': two plans of one project would share its containers, networks and volumes; give the file another top-level name: or the plan another name")]));
        }

        var plan = new Plan { Name = name, ProjectName = result.ProjectName, Description = request.Description?.Trim(), CreatedAt = now };
        var revision = (result.Plan! with { HostAccess = allowance }).ToRevision(plan.Id, 1, user, now);
        revision.Comment = Truncate($"imported from {string.Join(", ", files.Select(f => f.Name))}" + (request.Profiles is { Count: > 0 } p ? $" with profiles {string.Join(", ", p)}" : ""));
        revision.ImportNotes = result.Warnings.Select(w => w.ToString()).ToList();
        plan.Revisions.Add(revision);
        db.Plans.Add(plan);
        Audit.AuditTrail.Add(db, now, user, Audit.AuditActions.PlanImported, $"plan {name}", revision.Comment);
        if (allowance is not null)
            AuditHostAccess(db, allowance, name, 1);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException e) when (e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
        {
            return (null, Refuse(409, "Name taken", [new("name", $"a plan named '{name}' was just created by someone else")]));
        }

        logger.LogInformation("Plan {Plan} imported by {User}: {Services} services in {Phases} phases", name, user, result.Plan!.AllServices.Count(), result.Plan.Phases.Count);
        return (new PlanImportResponse(ToDto(plan, revision), result.Warnings.Select(w => w.ToDto()).ToList(), result.SkippedByProfile), null);
    }

    /// <summary>The Compose files of a request as a plan, or why they make none.</summary>
    private (PlanImportResult Result, PlanRefusal? Refusal) ReadCompose(PlanImportRequest request, string projectName)
    {
        var files = request.Files ?? [];
        var problems = TextRules.Check(request);
        if (files.Count == 0)
            problems.Add(new("files", "at least one Compose file is needed"));
        for (var i = 0; i < files.Count; i++)
        {
            if (files[i] is { } f && string.IsNullOrWhiteSpace(f.Content))
                problems.Add(new($"files[{i}].content", $"{(string.IsNullOrWhiteSpace(f.Name) ? $"file {i + 1}" : f.Name)} has no content"));
        }

        if (problems.Count > 0)
            return (null!, Refuse(400, "Invalid import", problems));

        PlanImportResult result;
        try
        {
            result = PlanImport.FromCompose(new ComposeImportRequest(
                files.Select((f, i) => new ComposeSource(string.IsNullOrWhiteSpace(f.Name) ? $"file {i + 1}" : f.Name.Trim(), f.Content!)).ToList(),
                request.Env, request.Profiles, projectName,
                (request.ProjectFiles ?? []).Select(f => new ComposeSource((f.Name ?? "").Trim(), f.Content ?? "")).ToList()),
                request.StackBudgetBytes is > 0 and var b ? new Domain.Units.MemorySize(b) : null);
        }
        catch (ComposeException e)
        {
            return (null!, Refuse(400, "The Compose files cannot be read", [new(FileField(e.Message, files), e.Message)]));
        }

        if (result.Plan is not null && OutboundProblems(result.Plan) is { Count: > 0 } outbound)
            result = result with { Plan = null, Issues = [.. result.Issues, .. outbound] };
        if (result.Plan is null)
        {
            var errors = result.Errors.ToList();
            return (null!, new PlanRefusal(422, "The Compose files do not make a valid plan",
                $"{errors.Count} problem{(errors.Count == 1 ? "" : "s")}: {string.Join("; ", errors.Take(5))}{(errors.Count > 5 ? " …" : "")}",
                result.Issues.Select(i => i.ToDto()).ToList()));
        }

        return (result, null);
    }

    /// <summary>
    /// New Compose files for an existing plan: the files decide every service and the project's networks, volumes, configs
    /// and secrets; the plan keeps its phases — their settings, and the phase each known service was placed in.
    /// </summary>
    public async Task<(PlanImportResponse? Imported, PlanRefusal? Refusal)> ImportRevisionAsync(Guid id, PlanImportRequest request, PlanAuthor author, CancellationToken ct)
    {
        Plan? plan;
        PlanRevision? latest;
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
        {
            plan = await db.Plans.AsNoTracking().FirstOrDefaultAsync(p => p.Id == id, ct);
            if (plan is null)
                return (null, Refuse(404, "Unknown plan", $"There is no plan {id}."));
            latest = await Revisions(db, id, null).FirstOrDefaultAsync(ct);
        }

        var (result, unreadable) = ReadCompose(request, plan.ProjectName);
        if (unreadable is not null)
            return (null, unreadable);
        if (result.ProjectName != plan.ProjectName)
        {
            return (null, Refuse(409, "Another project",
                $"The files name the project '{result.ProjectName}', but this plan is project '{plan.ProjectName}' (its name is fixed: its volumes carry it)."));
        }

        var spec = latest is null ? result.Plan! : KeepPhases(latest.ToSpec(), result.Plan!);
        var comment = request.Description ?? $"imported from {string.Join(", ", (request.Files ?? []).Select(f => f.Name))}";
        var (saved, refusal) = await SaveSpecAsync(id, latest?.Number, spec, comment, author, ct, result.Plan!.Resources, result.Warnings.Select(w => w.ToString()).ToList());
        return refusal is not null ? (null, refusal) : (new PlanImportResponse(saved!, result.Warnings.Select(w => w.ToDto()).ToList(), result.SkippedByProfile), null);
    }

    /// <summary>The imported services, in the phases the plan had (with their settings); a new service where the import put it.</summary>
    private static PlanSpec KeepPhases(PlanSpec before, PlanSpec imported)
    {
        var phaseOf = before.Phases.SelectMany(p => p.Services.Select(s => (s.Name, Phase: p.Name))).ToDictionary(x => x.Name, x => x.Phase, StringComparer.Ordinal);
        var placed = imported.Phases.SelectMany(p => p.Services.Select(s => (Service: s, Phase: phaseOf.GetValueOrDefault(s.Name) ?? p.Name))).ToList();
        var names = before.Phases.Select(p => p.Name).Concat(imported.Phases.Select(p => p.Name)).Distinct(StringComparer.Ordinal).ToList();
        var phases = names.Select(n => (before.Phases.FirstOrDefault(p => p.Name == n) ?? imported.Phases.First(p => p.Name == n)) with
            {
                Services = placed.Where(x => x.Phase == n).Select(x => x.Service).ToList(),
            })
            .Where(p => p.Services.Count > 0 || before.Phases.Any(b => b.Name == p.Name))
            .ToList();
        return new PlanSpec(phases, imported.StackBudget ?? before.StackBudget) { Resources = imported.Resources };
    }

    /// <summary>PUT: the document as the API shows it, masked secrets standing for the values of the revision it was made from.</summary>
    public async Task<(PlanDto? Saved, PlanRefusal? Refusal)> SaveRevisionAsync(Guid id, PlanUpdate update, PlanAuthor author, CancellationToken ct)
    {
        if (update.Phases is null || update.Phases.Count == 0)
            return (null, Refuse(400, "No phases", [new("phases", "a plan needs at least one phase with its services")]));
        if (TextRules.Check(update) is { Count: > 0 } problems)
            return (null, Refuse(400, "Invalid plan", problems));
        var previous = await SpecAsync(id, update.BaseRevision, ct);
        var issues = new List<PlanIssue>();
        var spec = PlanDocuments.ToSpec(update, previous, issues);
        if (issues.Count > 0)
            return (null, Invalid(issues));
        return await SaveSpecAsync(id, update.BaseRevision, spec, update.Comment, author with { HostAccessReason = update.HostAccessReason }, ct);
    }

    /// <summary>A new revision when <paramref name="spec"/> passes every rule and differs from the latest; <paramref name="baseRevision"/> must still be the latest.</summary>
    /// <remarks>The editor and PUT change phases and services; the project's networks, volumes, configs and secrets stay those of the latest revision.</remarks>
    /// <param name="resources">The project's networks, volumes, configs and secrets when new files bring them; null keeps the latest revision's.</param>
    /// <param name="importNotes">What an import of new files noticed; null keeps the latest revision's notes.</param>
    public async Task<(PlanDto? Saved, PlanRefusal? Refusal)> SaveSpecAsync(Guid id, int? baseRevision, PlanSpec spec, string? comment, PlanAuthor author, CancellationToken ct,
        ProjectResources? resources = null, List<string>? importNotes = null)
    {
        var user = author.Name;
        if (comment is not null && TextRules.Problem(comment, TextRules.For("comment")) is { } commentProblem)
            return (null, Refuse(400, "Invalid comment", [new("comment", commentProblem)]));
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var plan = await db.Plans.AsNoTracking().FirstOrDefaultAsync(p => p.Id == id, ct);
        if (plan is null)
            return (null, Refuse(404, "Unknown plan", $"There is no plan {id}."));
        var latest = await Revisions(db, id, null).FirstOrDefaultAsync(ct);
        var latestNumber = latest?.Number ?? 0;
        if (baseRevision is { } b && b != latestNumber)
        {
            return (null, Refuse(409, "The plan changed meanwhile",
                $"You edited revision {b}, but revision {latestNumber} was saved since (by {latest?.CreatedBy}). Reload and edit again."));
        }

        var previous = latest?.ToSpec();
        var unmasking = new List<PlanIssue>();
        spec = Unmask(spec, previous, unmasking);
        if (unmasking.Count > 0)
            return (null, Invalid(unmasking));

        var issues = PlanValidation.Validate(spec).Concat(OutboundProblems(spec)).ToList();
        if (issues.Any(i => i.Severity == Severity.Error))
            return (null, Invalid(issues));

        spec = spec with { Resources = resources ?? previous?.Resources ?? spec.Resources, HostAccess = null };
        // The allowance is decided below for what is saved: it is not a change the author made.
        var changes = previous is null ? [] : PlanDiff.Compare(previous with { HostAccess = null }, spec);
        if (latest is not null && changes.Count == 0 && PlanMapping.SameContent(previous!, spec))
            return (ToDto(plan, latest), null);

        var now = clock.GetUtcNow();
        var (allowance, denied) = HostAccessRule.Decide(spec, plan.ProjectDirectory, author, now);
        if (denied is not null)
            return (null, denied);
        spec = spec with { HostAccess = allowance };
        var revision = spec.ToRevision(id, latestNumber + 1, user, now);
        revision.Comment = Truncate(string.IsNullOrWhiteSpace(comment) ? Summary(changes) : comment.Trim());
        revision.ImportNotes = importNotes ?? latest?.ImportNotes ?? [];
        db.PlanRevisions.Add(revision);
        Audit.AuditTrail.Add(db, revision.CreatedAt, user, Audit.AuditActions.PlanRevised, $"plan {plan.Name}",
            $"revision {revision.Number}: {revision.Comment}");
        if (allowance is not null)
            AuditHostAccess(db, allowance, plan.Name, revision.Number);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException e) when (e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
        {
            return (null, Refuse(409, "The plan changed meanwhile", $"Revision {latestNumber + 1} was saved by someone else at the same moment. Reload and edit again."));
        }

        logger.LogInformation("Plan {Plan} revision {Revision} saved by {User}: {Changes} changes", plan.Name, revision.Number, user, changes.Count);
        return (ToDto(plan, revision), null);
    }

    /// <summary>An Admin's setting: where the plan's relative bind mounts resolve on the host. Null clears it.</summary>
    public async Task<PlanRefusal?> SetProjectDirectoryAsync(Guid id, string? directory, string user, CancellationToken ct)
    {
        var value = string.IsNullOrWhiteSpace(directory) ? null : directory.Trim();
        if (value is not null && (!value.StartsWith('/') || value.Length > 1024 || value.Any(char.IsControl)))
            return Refuse(400, "Not a directory", "The project directory is an absolute path on the host, at most 1024 characters.");
        if (value is not null)
            value = ProjectPaths.Normalise(value);
        if (value == "/")
            return Refuse(400, "Not a project directory", "\"/\" would put every path of the host inside the project.");
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var plan = await db.Plans.FirstOrDefaultAsync(p => p.Id == id, ct);
        if (plan is null)
            return Refuse(404, "Unknown plan", $"There is no plan {id}.");
        var before = plan.ProjectDirectory;
        plan.ProjectDirectory = value;
        Audit.AuditTrail.Add(db, clock.GetUtcNow(), user, Audit.AuditActions.ProjectDirectoryChanged, $"plan {plan.Name}", $"{before ?? "none"} → {value ?? "none"}");
        await db.SaveChangesAsync(ct);
        return null;
    }

    private static void AuditHostAccess(DeployDeckDbContext db, HostAccessAllowance allowance, string plan, int revision) =>
        Audit.AuditTrail.Add(db, allowance.At, allowance.AllowedBy, Audit.AuditActions.HostAccessAllowed, $"plan {plan} revision {revision}",
            $"{allowance.Reason} — allowed: {string.Join("; ", allowance.Findings)}");

    private static PlanRefusal Invalid(IReadOnlyList<PlanIssue> issues)
    {
        var errors = issues.Where(i => i.Severity == Severity.Error).ToList();
        return new PlanRefusal(422, "The plan is not valid",
            $"{errors.Count} problem{(errors.Count == 1 ? "" : "s")}: {string.Join("; ", errors.Take(5))}{(errors.Count > 5 ? " …" : "")}",
            issues.Select(i => i.ToDto()).ToList());
    }

    public async Task<IReadOnlyList<PlanChange>?> CompareAsync(Guid id, int from, int to, CancellationToken ct)
    {
        var a = await SpecAsync(id, from, ct);
        var b = await SpecAsync(id, to, ct);
        return a is null || b is null ? null : PlanDiff.Compare(a, b);
    }

    public async Task<(string FileName, string Content)?> ExportAsync(Guid id, int? revision, CancellationToken ct)
    {
        if (await GetWithSpecAsync(id, revision, ct) is not var (plan, spec))
            return null;
        var header = $"DeployDeck plan \"{plan.Name}\", revision {plan.Revision}: limits, reservations, restart policies and health checks.\n"
            + "Apply with: docker compose -f docker-compose.yml -f docker-compose.deploydeck.yml up -d";
        return ($"docker-compose.deploydeck.yml", ComposeExport.Override(spec, header));
    }

    private static IQueryable<PlanRevision> Revisions(DeployDeckDbContext db, Guid id, int? number) =>
        db.PlanRevisions.AsNoTracking().Where(r => r.PlanId == id && (number == null || r.Number == number)).OrderByDescending(r => r.Number);

    private static PlanRefusal Refuse(int status, string title, string detail) => new(status, title, detail, []);

    private static PlanRefusal Refuse(int status, string title, IReadOnlyList<FieldProblem> problems) =>
        new(status, title, string.Join("; ", problems.Take(5)) + (problems.Count > 5 ? $" (and {problems.Count - 5} more)" : ""), [], Api.InputValidation.Errors(problems));

    /// <summary>
    /// What the editor or the API sent, with every mask resolved against the revision it was made from (the plan page
    /// and GET show secrets masked, and both send the document back as they got it). A mask with nothing behind it is refused.
    /// </summary>
    public static PlanSpec Unmask(PlanSpec edited, PlanSpec? previous, List<PlanIssue> problems)
    {
        var before = previous?.AllServices.GroupBy(s => s.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal) ?? [];
        return edited with
        {
            Phases = edited.Phases.Select(p => p with
            {
                Services = p.Services.Select(s =>
                {
                    var messages = new List<string>();
                    var restored = SecretKeys.Unmasked(s, before.GetValueOrDefault(s.Name), messages);
                    problems.AddRange(messages.Select(m => new PlanIssue(Severity.Error, m, p.Name, s.Name)));
                    return restored;
                }).ToList(),
            }).ToList(),
        };
    }

    /// <summary>HTTP gates may not call link-local or metadata addresses unless an Admin allows it (the Worker checks again when it connects).</summary>
    private List<PlanIssue> OutboundProblems(PlanSpec spec) => configuration.GetValue<bool>(OutboundAddresses.AllowSetting)
        ? []
        : spec.Phases.SelectMany(p => p.Services.SelectMany(s => s.Gates
            .Where(g => g.Kind == GateKind.Http && Uri.TryCreate(g.Url, UriKind.Absolute, out _))
            .Select(g => OutboundAddresses.Problem(new Uri(g.Url!)))
            .OfType<string>()
            .Select(problem => new PlanIssue(Severity.Error, $"HTTP gate: {problem}", p.Name, s.Name)))).ToList();

    /// <summary>The file a reader's message is about ("compose.yml line 4: …"), as a request field.</summary>
    private static string FileField(string message, IReadOnlyList<ImportFileDto> files)
    {
        for (var i = 0; i < files.Count; i++)
        {
            if (files[i].Name is { Length: > 0 } n && message.StartsWith(n.Trim(), StringComparison.Ordinal))
                return $"files[{i}].content";
        }

        return message.StartsWith(".env", StringComparison.Ordinal) || message.Contains("variable", StringComparison.Ordinal) ? "env" : "files";
    }

    private static string Summary(IReadOnlyList<PlanChange> changes) =>
        string.Join("; ", changes.Take(3).Select(c => c.ToString())) + (changes.Count > 3 ? $" and {changes.Count - 3} more" : "");

    private static string Truncate(string text) => text.Length > 500 ? text[..497] + "…" : text;
}
