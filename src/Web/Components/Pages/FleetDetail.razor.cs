using DeployDeck.Web.Fleet;
using DeployDeck.Web.Rollouts;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Components;

namespace DeployDeck.Web.Components.Pages;

/// <summary>
/// A fleet rollout: hosts × phases, the wave waiting for approval, abort. Each host's own page is live through the hub;
/// this one reloads the fleet's view every two seconds while it runs (one query), which is all a grid of states needs.
/// </summary>
public sealed partial class FleetDetail
{
    private static readonly TimeSpan Refresh = TimeSpan.FromSeconds(2);

    private readonly CancellationTokenSource _disposed = new();
    private FleetRolloutView? _view;
    private bool _loaded;
    private bool _canApprove;
    private bool _canOperate;
    private string? _comment;
    private LaunchRefusal? _refusal;
    private Task? _polling;

    [Parameter]
    public Guid Id { get; set; }

    [Inject]
    public required FleetLauncher Fleets { get; init; }

    [Inject]
    public required IAuthorizationService Authorization { get; init; }

    [Inject]
    public required ILogger<FleetDetail> Logger { get; init; }

    [CascadingParameter]
    private Task<Microsoft.AspNetCore.Components.Authorization.AuthenticationState> AuthenticationState { get; set; } = default!;

    private bool Active => _view is { State: "Queued" or "Running" or "AwaitingApproval" };

    private bool CanAbort => _canOperate && Active && _view!.AbortRequestedBy is null;

    private int NextWave => _view!.NextWave ?? 0;

    /// <summary>What a host did with one phase: done, the one under way (with the rollout's state), or not yet.</summary>
    private static string PhaseCell(FleetHostView host, int phase)
    {
        if (!host.Started)
            return "waiting";
        if (host.RolloutState == "Succeeded" || phase < host.CurrentPhase)
            return "done";
        if (phase == host.CurrentPhase)
            return host.RolloutState == "Running" ? "under way" : host.RolloutState;
        return host.RolloutState is "Failed" or "RolledBack" or "Aborted" ? "—" : "pending";
    }

    protected override async Task OnInitializedAsync()
    {
        var user = (await AuthenticationState).User;
        _canApprove = (await Authorization.AuthorizeAsync(user, Auth.Policies.Approve)).Succeeded;
        _canOperate = (await Authorization.AuthorizeAsync(user, Auth.Policies.Operate)).Succeeded;
        await LoadAsync();
        if (RendererInfo.IsInteractive)
            _polling = PollAsync(_disposed.Token);
    }

    private async Task LoadAsync()
    {
        _view = await Fleets.ViewAsync(Id, _disposed.Token);
        _loaded = true;
    }

    private async Task PollAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(Refresh);
        try
        {
            // An ended fleet does not change: the page stops following it (a reload after an action still shows it).
            while (Active && await timer.WaitForNextTickAsync(ct))
            {
                await InvokeAsync(async () =>
                {
                    await LoadAsync();
                    StateHasChanged();
                });
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            Logger.LogWarning(e, "Fleet page {FleetId} stopped following the fleet", Id);
        }
    }

    private async Task ApproveAsync()
    {
        var problem = await Fleets.ApproveWaveAsync(Id, _comment, (await AuthenticationState).User, _disposed.Token);
        _refusal = Refusal(problem);
        if (problem is null)
            _comment = null;
        await LoadAsync();
    }

    private async Task AbortAsync()
    {
        _refusal = Refusal(await Fleets.AbortAsync(Id, _comment, (await AuthenticationState).User, _disposed.Token));
        await LoadAsync();
    }

    private static LaunchRefusal? Refusal(Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult? problem) =>
        problem is null ? null : new LaunchRefusal(problem.StatusCode, problem.ProblemDetails.Title ?? "Refused", problem.ProblemDetails.Detail ?? "");

    public async ValueTask DisposeAsync()
    {
        // Cancelled, not disposed: a load still under way reads the token (see the host cards).
        await _disposed.CancelAsync();
        if (_polling is not null)
            await _polling.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }
}
