using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using DeployDeck.Domain.Engine;
using DeployDeck.Domain.Plans;

namespace DeployDeck.Worker.Rollouts;

/// <param name="Figure">What was measured, for the record: "HTTP 200 in 12 ms", "exit 1: …", "31 % of 64 MB".</param>
public sealed record GateOutcome(GateSpec Gate, bool Passed, string Figure);

/// <summary>
/// Evaluates one gate of one container, from the Worker: HTTP from here (never to link-local or metadata addresses unless
/// allowed), exec, logs and memory through the engine of the container's host. What a gate reports is scrubbed of the
/// service's secrets before anyone sees it: an exec gate that prints its environment, or an error that quotes its URL,
/// must not carry them on.
/// </summary>
public sealed class GateRunner(TimeProvider time, IConfiguration configuration)
{
    /// <summary>Longest figure kept: output beyond this says nothing more about a gate.</summary>
    public const int MaxFigure = 1000;

    private readonly HttpClient _http = new(Infrastructure.Net.GuardedHttp.Handler(configuration.GetValue<bool>(Domain.Input.OutboundAddresses.AllowSetting)))
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    /// <param name="engine">The engine of the container's host.</param>
    public async Task<GateOutcome> EvaluateAsync(IContainerEngine engine, GateSpec gate, ServiceSpec service, string containerId, DateTimeOffset phaseStarted, CancellationToken ct)
    {
        var outcome = await MeasureAsync(engine, gate, service, containerId, phaseStarted, ct);
        var figure = SecretKeys.Scrub(outcome.Figure, SecretKeys.ValuesOf(service));
        return outcome with { Figure = figure.Length > MaxFigure ? figure[..MaxFigure] + "…" : figure };
    }

    private async Task<GateOutcome> MeasureAsync(IContainerEngine engine, GateSpec gate, ServiceSpec service, string containerId, DateTimeOffset phaseStarted, CancellationToken ct)
    {
        var timeout = TimeSpan.FromSeconds(gate.TimeoutSeconds);
        try
        {
            return gate.Kind switch
            {
                GateKind.Http => await HttpAsync(_http, gate, timeout, ct),
                GateKind.Exec => await ExecAsync(engine, gate, containerId, timeout, ct),
                GateKind.Logs => await LogsAsync(engine, gate, containerId, phaseStarted, ct),
                GateKind.Chaos => await ChaosAsync(engine, gate, service, containerId, ct),
                _ => await MemoryAsync(engine, gate, service, containerId, ct),
            };
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new GateOutcome(gate, false, $"no answer within {timeout.TotalSeconds:0.#} s");
        }
        catch (Exception e) when (e is HttpRequestException or Docker.DotNet.DockerApiException or IOException or InvalidOperationException)
        {
            return new GateOutcome(gate, false, e.Message);
        }
    }

    private static async Task<GateOutcome> HttpAsync(HttpClient http, GateSpec gate, TimeSpan timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        var watch = Stopwatch.StartNew();
        using var response = await http.GetAsync(gate.Url, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        var status = (int)response.StatusCode;
        return new GateOutcome(gate, status >= gate.MinStatus && status <= gate.MaxStatus, $"HTTP {status} in {watch.ElapsedMilliseconds} ms");
    }

    private static async Task<GateOutcome> ExecAsync(IContainerEngine engine, GateSpec gate, string containerId, TimeSpan timeout, CancellationToken ct)
    {
        var result = await engine.ExecAsync(containerId, gate.Command ?? [], timeout, ct);
        return new GateOutcome(gate, result.ExitCode == 0, result.Output.Length == 0 ? $"exit {result.ExitCode}" : $"exit {result.ExitCode}: {result.Output}");
    }

    /// <summary>Only lines since the phase began count: an error from the previous run is not this rollout's.</summary>
    private async Task<GateOutcome> LogsAsync(IContainerEngine engine, GateSpec gate, string containerId, DateTimeOffset phaseStarted, CancellationToken ct)
    {
        var windowStart = time.GetUtcNow() - TimeSpan.FromSeconds(gate.WindowSeconds);
        var lines = await engine.LogsAsync(containerId, windowStart > phaseStarted ? windowStart : phaseStarted, ct);
        var regex = gate.Regex();
        try
        {
            var match = lines.FirstOrDefault(regex.IsMatch);
            return match is null
                ? new GateOutcome(gate, true, $"no match in {lines.Count} line(s)")
                : new GateOutcome(gate, false, $"matched: {(match.Length > 200 ? match[..200] + "…" : match)}");
        }
        catch (RegexMatchTimeoutException)
        {
            return new GateOutcome(gate, false, $"the pattern /{gate.Pattern}/ took too long on a log line");
        }
    }

    /// <summary>Seed 004: the restart policy is only proven by a crash. Back means running again after a restart, and healthy when there is a health check.</summary>
    private async Task<GateOutcome> ChaosAsync(IContainerEngine engine, GateSpec gate, ServiceSpec service, string containerId, CancellationToken ct)
    {
        var before = await engine.InspectAsync(containerId, ct);
        if (before is not { Running: true })
            return new GateOutcome(gate, false, "not running before the kill");
        var killed = time.GetUtcNow();
        await engine.CrashAsync(containerId, ct);
        var within = TimeSpan.FromSeconds(gate.TimeoutSeconds);
        ContainerObservation? now;
        do
        {
            await Task.Delay(TimeSpan.FromMilliseconds(250), time, ct);
            now = await engine.InspectAsync(containerId, ct);
            var back = now is { Running: true } && now.RestartCount > before.RestartCount
                && (service.HealthCheck is null || now.Health == HealthStatus.Healthy);
            if (back)
            {
                return new GateOutcome(gate, true, string.Create(CultureInfo.InvariantCulture,
                    $"killed; back{(service.HealthCheck is null ? "" : " and healthy")} after {(time.GetUtcNow() - killed).TotalSeconds:0.0} s (restart {now!.RestartCount})"));
            }
        }
        while (time.GetUtcNow() - killed < within);

        var seen = now is null ? "gone" : now.Running ? $"running, health {now.Health.ToString().ToLowerInvariant()}, restarts {now.RestartCount}" : $"{now.Status}, exit {now.ExitCode}, restarts {now.RestartCount}";
        return new GateOutcome(gate, false, string.Create(CultureInfo.InvariantCulture, $"killed; not back within {within.TotalSeconds:0.#} s ({seen}; restart policy {before.RestartPolicy})"));
    }

    private static async Task<GateOutcome> MemoryAsync(IContainerEngine engine, GateSpec gate, ServiceSpec service, string containerId, CancellationToken ct)
    {
        var limit = service.Resources.MemoryLimit;
        var used = await engine.MemoryUsageAsync(containerId, ct);
        if (used is null || limit is null)
            return new GateOutcome(gate, false, "memory use could not be read");
        var percent = 100.0 * used.Value / limit.Value.Bytes;
        return new GateOutcome(gate, percent <= gate.MaxMemoryPercent,
            string.Create(CultureInfo.InvariantCulture, $"{percent:0.#} % of {limit} ({new Domain.Units.MemorySize(used.Value)})"));
    }
}
