using DeployDeck.Domain.Plans;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Web.Api;
using DeployDeck.Web.Auth;
using DeployDeck.Web.Plans;
using DeployDeck.Web.Rollouts;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.EntityFrameworkCore;
using MudBlazor;
using Severity = DeployDeck.Domain.Plans.Severity;

namespace DeployDeck.Web.Components.Pages;

/// <summary>
/// The plan editor: phases as columns with their totals against budget, services moved and edited in a working copy
/// that is validated on every change and saved as a new revision.
/// </summary>
public partial class PlanDetail
{
    private readonly HashSet<string> _openPhases = new(StringComparer.Ordinal);
    private PlanDto? _plan;
    private PlanSpec? _saved;
    private PlanDraft? _draft;
    private PlanSpec? _spec;
    private PlanBudgets? _budgets;
    private List<PlanIssue> _issues = [];
    private List<RevisionSummaryDto> _revisions = [];
    private IReadOnlyList<PlanChange>? _changes;
    private (int From, int To) _compared;
    private bool _loaded;
    private bool _canOperate;
    private bool _canApprove;
    private bool _isAdmin;
    private string? _projectDirectory;
    private string? _hostAccessReason;
    private string? _acknowledgement;
    private List<HostDto> _hosts = [];
    private Guid _hostId;
    private bool _starting;
    private bool _saving;
    private string? _comment;
    private LaunchRefusal? _refusal;
    private Domain.Rollouts.ReconcilePlan? _confirm;
    private bool _forceRecreate;
    private PlanRefusal? _saveRefusal;
    private string? _editing;
    private ServiceDraft? _serviceDraft;
    private List<string> _editProblems = [];

    [Parameter]
    public Guid Id { get; set; }

    [CascadingParameter]
    private Task<AuthenticationState> AuthenticationState { get; set; } = default!;

    [Inject]
    private PlanStore Store { get; set; } = default!;

    [Inject]
    private IDbContextFactory<DeployDeckDbContext> DbFactory { get; set; } = default!;

    [Inject]
    private RolloutLauncher Launcher { get; set; } = default!;

    [Inject]
    private Web.Hosts.HostOperations HostOps { get; set; } = default!;

    [Inject]
    private IAuthorizationService Authorization { get; set; } = default!;

    [Inject]
    private NavigationManager Navigation { get; set; } = default!;

    [Inject]
    private ISnackbar Snackbar { get; set; } = default!;

    /// <summary>The draft differs from the saved revision (or does not parse); set by <see cref="Revalidate"/>, not per render.</summary>
    private bool Dirty { get; set; }

    private bool HasErrors => _spec is null || _issues.Any(i => i.Severity == Severity.Error);

    private double? StackUse => _spec?.StackBudget is { Bytes: > 0 } b && _budgets is not null ? (double)_budgets.Limits.Bytes / b.Bytes : null;

    protected override async Task OnParametersSetAsync()
    {
        var user = (await AuthenticationState).User;
        _canOperate = (await Authorization.AuthorizeAsync(user, Policies.Operate)).Succeeded;
        _canApprove = (await Authorization.AuthorizeAsync(user, Policies.Approve)).Succeeded;
        _isAdmin = (await Authorization.AuthorizeAsync(user, Policies.Admin)).Succeeded;
        await using (var db = await DbFactory.CreateDbContextAsync())
        {
            _hosts = await db.Hosts.AsNoTracking().OrderBy(h => h.Name).Select(h => new HostDto(h.Id, h.Name, h.Endpoint, h.Description, h.CreatedAt)).ToListAsync();
        }

        _hostId = _hosts.Count > 0 ? _hosts[0].Id : Guid.Empty;
        await LoadAsync();
        _loaded = true;
    }

    private async Task LoadAsync()
    {
        var loaded = await Store.GetWithSpecAsync(Id, null, default);
        // The page works on what its user may see: secrets masked; saving resolves the masks against the revision (PlanStore.Unmask).
        (_plan, _saved) = loaded is { } l ? (l.Dto, SecretKeys.MaskedPlan(l.Spec)) : (null, null);
        _revisions = await Store.RevisionsAsync(Id, default) ?? [];
        _draft = _saved is null || _plan is null ? null : PlanDraft.From(_saved, _plan.Revision);
        _projectDirectory = _plan?.ProjectDirectory;
        _editing = null;
        Revalidate();
    }

    private void Revalidate()
    {
        if (_draft is null)
            return;
        _issues = [];
        _spec = _draft.ToSpec(_issues);
        _budgets = _spec is null ? _budgets : PlanBudgets.Of(_spec);
        Dirty = _spec is null || (_saved is not null && PlanDiff.Compare(_saved, _spec).Count > 0);
    }

    private void Move(string service, string phase)
    {
        _draft!.Move(service, phase);
        Revalidate();
    }

    private void Edit(ServiceSpec service)
    {
        _editing = service.Name;
        _serviceDraft = ServiceDraft.From(service);
        _editProblems = [];
    }

    private void CancelEdit()
    {
        _editing = null;
        _serviceDraft = null;
    }

    private void ApplyEdit(string phase, ServiceSpec service)
    {
        var problems = new List<PlanIssue>();
        var edited = _serviceDraft!.Apply(service, phase, problems);
        _editProblems = problems.Select(p => p.Message).ToList();
        if (edited is null)
            return;
        _draft!.Replace(edited);
        CancelEdit();
        Revalidate();
    }

    private void AddGate(ServiceSpec service)
    {
        var problem = _serviceDraft!.AddGate(service);
        _editProblems = problem is null ? [] : [problem];
    }

    private static string GateHint(GateKind kind) => kind switch
    {
        GateKind.Http => "URL, e.g. http://127.0.0.1:8080/health",
        GateKind.Logs => "error pattern, e.g. ERROR|FATAL",
        GateKind.Exec => "command, e.g. pg_isready -U app",
        GateKind.Chaos => "back within, e.g. 30s",
        _ => "at most % of the limit, e.g. 90",
    };

    private static void Toggle(HashSet<string> set, string key)
    {
        if (!set.Remove(key))
            set.Add(key);
    }

    private async Task SaveProjectDirectoryAsync()
    {
        var user = (await AuthenticationState).User;
        var refusal = await Store.SetProjectDirectoryAsync(Id, _projectDirectory, user.Identity!.Name!, default);
        if (refusal is not null)
        {
            Snackbar.Add($"{refusal.Title}: {refusal.Detail}", MudBlazor.Severity.Error);
            return;
        }

        Snackbar.Add("Project directory set", MudBlazor.Severity.Success);
        await LoadAsync();
    }

    private async Task SaveAsync()
    {
        if (_spec is null || _draft is null)
            return;
        _saving = true;
        _saveRefusal = null;
        try
        {
            var user = (await AuthenticationState).User;
            var (saved, refusal) = await Store.SaveSpecAsync(Id, _draft.BaseRevision, _spec, _comment, PlanAuthor.Of(user, _hostAccessReason), default);
            if (refusal is not null)
            {
                _saveRefusal = refusal;
                return;
            }

            _comment = null;
            Snackbar.Add($"Saved revision {saved!.Revision}", MudBlazor.Severity.Success);
            await LoadAsync();
        }
        finally
        {
            _saving = false;
        }
    }

    private async Task ResetAsync()
    {
        _saveRefusal = null;
        await LoadAsync();
    }

    private async Task CompareAsync(int from, int to)
    {
        _compared = (from, to);
        _changes = await Store.CompareAsync(Id, from, to, default);
    }

    /// <summary>"Start rollout" shows first what the start would do to each service on the host: the reconcile plan.</summary>
    private async Task ConfirmAsync()
    {
        _starting = true;
        _refusal = null;
        try
        {
            var (result, problem) = await HostOps.DryRunAsync(Id, null, _hostId, default, _forceRecreate);
            if (problem is not null)
            {
                _refusal = new LaunchRefusal(problem.ProblemDetails.Status ?? 500, problem.ProblemDetails.Title ?? "Dry run failed", problem.ProblemDetails.Detail ?? "");
                _confirm = null;
                return;
            }

            _confirm = result!.Reconcile;
        }
        finally
        {
            _starting = false;
        }
    }

    private async Task ForceRecreateChangedAsync(bool value)
    {
        _forceRecreate = value;
        await ConfirmAsync();
    }

    private async Task StartAsync(string? acknowledgement)
    {
        _starting = true;
        _refusal = null;
        try
        {
            var user = (await AuthenticationState).User;
            var (id, refusal) = await Launcher.StartAsync(Id, _hostId, user, default, acknowledgement, _forceRecreate);
            if (refusal is not null)
            {
                _refusal = refusal;
                _confirm = null;
                return;
            }

            Snackbar.Add("Rollout started", MudBlazor.Severity.Success);
            Navigation.NavigateTo($"/rollouts/{id}");
        }
        finally
        {
            _starting = false;
        }
    }

    private static string Format(Domain.Units.MemorySize? size) => size?.ToString() ?? "—";

    private static Color BarColor(double use) => use > 1 ? Color.Error : use >= 0.85 ? Color.Warning : Color.Success;

    private static string HealthText(HealthCheck? hc) => hc switch
    {
        null => "no health check",
        { Test: ["NONE", ..] } => "health check disabled",
        _ => $"health every {hc.Interval.TotalSeconds:0.#}s, start {hc.StartPeriod.TotalSeconds:0}s",
    };
}
