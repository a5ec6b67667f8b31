using System.Globalization;
using DeployDeck.Domain.Hosts;
using DeployDeck.Domain.Units;

namespace DeployDeck.Web.Rollouts;

/// <summary>What an Approver sees of the phase a promotion would start: admitted or not, with the figures.</summary>
/// <param name="PassedPeak">What the phase that passed used at its peak against its budget, from the sampler; null when not measured.</param>
public sealed record NextPhaseForecast(int Index, string Phase, bool Admitted, string Summary, string? PassedPeak = null)
{
    public static string? Peak(string phase, long? containersPeak, long? hostPeak, MemorySize? budget, long hostTotal)
    {
        if (containersPeak is null && hostPeak is null)
            return null;
        var containers = containersPeak is { } c
            ? $"its containers peaked at {new MemorySize(c)}" + (budget is { } b ? string.Create(CultureInfo.InvariantCulture, $" of its {b} budget ({100.0 * c / b.Bytes:0} %)") : " (no phase budget)")
            : "its containers were not measured";
        var host = hostPeak is { } h ? $"; the host peaked at {new MemorySize(h)} of {new MemorySize(hostTotal)}" : "";
        return $"Phase '{phase}': {containers}{host}";
    }

    public static NextPhaseForecast From(int index, string phase, PreflightResult check)
    {
        var forecast = check.Forecast?.Phases.FirstOrDefault(p => p.Phase == phase);
        var host = $"host {check.Verdict.Overall.ToString().ToUpperInvariant()} ({check.Verdict.Summary})";
        if (check.Refusal is { } refusal)
            return new(index, phase, false, $"would be refused now — {refusal}; {host}");
        var peak = forecast?.PredictedPeak is { } p
            ? string.Create(CultureInfo.InvariantCulture, $"predicted peak {new MemorySize(p)} of {new MemorySize(check.Signals.MemoryTotalBytes)} (keeping {check.Thresholds.KeepFreePercent:0.#} % free)")
            : "host memory unknown";
        var budget = forecast?.Budget is { } b ? $", new limits {new MemorySize(forecast.NewLimits)} of its budget {new MemorySize(b)}" : "";
        return new(index, phase, true, $"admitted — {peak}{budget}; {host}");
    }
}
