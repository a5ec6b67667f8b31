using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Preflight;
using DeployDeck.Web.Live;
using DeployDeck.Web.Rollouts;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Components;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Web.Components.Pages;

/// <summary>
/// Shows a rollout and follows it live: a snapshot from the database, then every event pushed through the
/// broadcaster triggers a reload, at most a few times a second.
/// </summary>
public sealed partial class RolloutDetail
{
    private static readonly TimeSpan MinRenderGap = TimeSpan.FromMilliseconds(250);

    private readonly CancellationTokenSource _disposed = new();
    private RolloutView? _view;
    private bool _loaded;
    private bool _live;

    /// <summary>The pull under way before the first phase, as the Worker last pushed it; live only.</summary>
    private Infrastructure.Live.PullFigures? _pull;
    private Task? _subscription;
    private int _reloadPending;

    [Parameter]
    public Guid Id { get; set; }

    [Inject]
    public required IDbContextFactory<DeployDeckDbContext> DbFactory { get; init; }

    [Inject]
    public required RolloutBroadcaster Broadcaster { get; init; }

    [Inject]
    public required RolloutApprovals Approvals { get; init; }

    [Inject]
    public required RolloutAborts Aborts { get; init; }

    [Inject]
    public required RolloutResumes Resumes { get; init; }

    [Inject]
    public required PreflightRunner Preflight { get; init; }

    [Inject]
    public required ILogger<RolloutDetail> Logger { get; init; }

    /// <summary>For an Approver: would the next phase be admitted on the host as it is now.</summary>
    private NextPhaseForecast? _forecast;

    private bool _canOperate;

    [Inject]
    public required IAuthorizationService Authorization { get; init; }

    [CascadingParameter]
    private Task<Microsoft.AspNetCore.Components.Authorization.AuthenticationState> AuthenticationState { get; set; } = default!;

    private bool _canApprove;
    private string? _approvalComment;

    private LaunchRefusal? _approvalRefusal;

    /// <summary>The evidence for an Approver: what the phase that passed proved (gates with figures, soak).</summary>
    private IEnumerable<RolloutEventView> Evidence => _view is null ? []
        : _view.Events.Where(e => e.Kind is "gate.passed" or "gate.failed" or "phase.soaked" or "soak.failed" or "phase.admitted" or "service.ready"
            && e.Phase == _view.Phases.ElementAtOrDefault(_view.CurrentPhase - 1)?.Name);

    private bool CanResume => _canOperate && _view is { State: "Paused" } && !_view.Events.Any(e => e.Kind == "rollout.abort-requested");

    private async Task ResumeAsync()
    {
        var user = (await AuthenticationState).User;
        _approvalRefusal = await Resumes.ResumeAsync(Id, user, _approvalComment, _disposed.Token);
        await LoadAsync();
    }

    private bool CanAbort => _canOperate && _view is { State: "Queued" or "Running" or "AwaitingApproval" or "Paused" }
        && !_view.Events.Any(e => e.Kind == "rollout.abort-requested");

    private async Task AbortAsync()
    {
        var user = (await AuthenticationState).User;
        _approvalRefusal = await Aborts.AbortAsync(Id, user, _approvalComment, _disposed.Token);
        await LoadAsync();
    }

    private async Task ApproveAsync()
    {
        var user = (await AuthenticationState).User;
        _approvalRefusal = await Approvals.ApproveAsync(Id, user, _approvalComment, _disposed.Token);
        await LoadAsync();
    }

    protected override async Task OnInitializedAsync()
    {
        var user = (await AuthenticationState).User;
        _canApprove = (await Authorization.AuthorizeAsync(user, Auth.Policies.Approve)).Succeeded;
        _canOperate = (await Authorization.AuthorizeAsync(user, Auth.Policies.Operate)).Succeeded;
        await LoadAsync();
        _subscription = FollowAsync(_disposed.Token);
    }

    private async Task LoadAsync()
    {
        await using var db = await DbFactory.CreateDbContextAsync(_disposed.Token);
        _view = await RolloutQueries.GetAsync(db, Id, _disposed.Token);
        _loaded = true;
        if (_view is { State: "AwaitingApproval" } && _forecast?.Index != _view.CurrentPhase && RendererInfo.IsInteractive)
            _forecast = await ForecastNextAsync(db, _view.CurrentPhase);
    }

    /// <summary>One host check (a short probe container) per promotion shown, not per live update.</summary>
    private async Task<NextPhaseForecast?> ForecastNextAsync(DeployDeckDbContext db, int index)
    {
        var rollout = await db.Rollouts.AsNoTracking().Include(r => r.PlanRevision).Include(r => r.Host).FirstAsync(r => r.Id == Id, _disposed.Token);
        var spec = rollout.PlanRevision!.ToSpec();
        if (index >= spec.Phases.Count)
            return null;
        try
        {
            var check = await Preflight.ForecastAsync(spec, rollout.PlanId, rollout.Host!, index, _disposed.Token, rollout.Preflight?.Reconcile);
            var passed = spec.Phases[index - 1];
            var usage = await db.PhaseUsage.AsNoTracking().Where(u => u.RolloutId == Id && u.PhaseIndex == index - 1).ToListAsync(_disposed.Token);
            var peak = NextPhaseForecast.Peak(passed.Name,
                usage.FirstOrDefault(u => u.Subject == Domain.Monitoring.UsageSubject.Rollout)?.PeakMemoryBytes,
                usage.FirstOrDefault(u => u.Subject == Domain.Monitoring.UsageSubject.Host)?.PeakMemoryBytes,
                passed.MemoryBudget, check.Signals.MemoryTotalBytes);
            return NextPhaseForecast.From(index, spec.Phases[index].Name, check) with { PassedPeak = peak };
        }
        catch (Exception ex) when (ex is Docker.DotNet.DockerApiException or HttpRequestException or TimeoutException)
        {
            Logger.LogWarning("Forecast for rollout {RolloutId} failed: {Reason}", Id, ex.Message);
            return new NextPhaseForecast(index, spec.Phases[index].Name, false, $"the host check failed ({ex.Message}); the Worker checks again before the phase starts");
        }
    }

    private async Task FollowAsync(CancellationToken cancellationToken)
    {
        try
        {
            var events = Broadcaster.SubscribeAsync(Id, cancellationToken);
            _live = true;
            await InvokeAsync(StateHasChanged);
            await foreach (var message in events)
            {
                if (message.Kind == Domain.Rollouts.RolloutEventKinds.PullProgress)
                {
                    _pull = message.Pull;
                    await InvokeAsync(StateHasChanged);
                    continue;
                }

                if (message.Kind != Domain.Rollouts.RolloutEventKinds.ImagePulling)
                    _pull = null; // pulled, or the rollout went on: the record says the rest
                // Coalesce bursts: one reload, a moment later, shows every event that arrived meanwhile.
                if (Interlocked.Exchange(ref _reloadPending, 1) == 0)
                    _ = ReloadSoonAsync(cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task ReloadSoonAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(MinRenderGap, cancellationToken);
            Interlocked.Exchange(ref _reloadPending, 0);
            await InvokeAsync(async () =>
            {
                await LoadAsync();
                StateHasChanged();
            });
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    // Cancelled, not disposed: a load still under way reads the token (see HostCards).
    public async ValueTask DisposeAsync()
    {
        await _disposed.CancelAsync();
        if (_subscription is not null)
            await _subscription.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }
}
