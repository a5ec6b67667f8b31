using System.Globalization;
using System.Text.RegularExpressions;

namespace DeployDeck.Domain.Plans;

public enum GateKind
{
    /// <summary>An HTTP GET answers with a status in the range.</summary>
    Http,

    /// <summary>No line of the container's recent logs matches the pattern.</summary>
    Logs,

    /// <summary>A command run inside the container exits 0 (pg_isready, psql -c 'SELECT 1').</summary>
    Exec,

    /// <summary>The container uses at most this share of its memory limit.</summary>
    Memory,

    /// <summary>
    /// The container's main process is killed as a crash would kill it, and the restart policy must bring it back
    /// (healthy, when it has a health check) within the gate's timeout. Run once, after the other gates; never in soak.
    /// </summary>
    Chaos,
}

/// <summary>A success criterion of a service, checked after it is ready and again during the phase's soak.</summary>
public sealed record GateSpec
{
    public required GateKind Kind { get; init; }

    public string? Url { get; init; }

    public int MinStatus { get; init; } = 200;

    public int MaxStatus { get; init; } = 399;

    public string? Pattern { get; init; }

    public int WindowSeconds { get; init; } = 60;

    public IReadOnlyList<string>? Command { get; init; }

    public double? MaxMemoryPercent { get; init; }

    public double TimeoutSeconds { get; init; } = 5;

    /// <summary>Gates that disturb the service run last and only once: a restart they cause is theirs, not a failure.</summary>
    public bool Disturbs => Kind == GateKind.Chaos;

    public override string ToString() => Kind switch
    {
        GateKind.Http => $"GET {Url} answers {MinStatus}–{MaxStatus}",
        GateKind.Logs => $"no log line matching /{Pattern}/ in the last {WindowSeconds} s",
        GateKind.Exec => $"`{string.Join(' ', Command ?? [])}` exits 0",
        GateKind.Chaos => $"killed and back (healthy, if it has a health check) within {TimeoutSeconds:0.#} s",
        _ => $"memory at most {MaxMemoryPercent?.ToString("0.#", CultureInfo.InvariantCulture)} % of its limit",
    };

    /// <summary>What makes this gate unusable, in words for the user.</summary>
    public IEnumerable<string> Problems(ServiceSpec service)
    {
        if (TimeoutSeconds is <= 0 or > 300)
            yield return $"gate {Kind}: timeout {TimeoutSeconds} s must be above 0 and at most 300";
        switch (Kind)
        {
            case GateKind.Http:
                if (!Uri.TryCreate(Url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                    yield return $"HTTP gate: '{Url}' is not an http:// or https:// URL";
                if (MinStatus is < 100 or > 599 || MaxStatus is < 100 or > 599 || MinStatus > MaxStatus)
                    yield return $"HTTP gate: status range {MinStatus}–{MaxStatus} must lie within 100–599";
                break;
            case GateKind.Logs:
                if (string.IsNullOrEmpty(Pattern))
                {
                    yield return "log gate: needs a pattern";
                }
                else if (PatternError(Pattern) is { } error)
                {
                    yield return $"log gate: /{Pattern}/ is not a regular expression: {error}";
                }

                if (WindowSeconds is < 1 or > 86_400)
                    yield return $"log gate: window {WindowSeconds} s must be from 1 s to a day";
                break;
            case GateKind.Exec:
                if (Command is not { Count: > 0 } || string.IsNullOrWhiteSpace(Command[0]))
                    yield return "exec gate: needs a command";
                break;
            case GateKind.Memory:
                if (MaxMemoryPercent is not (> 0 and <= 100))
                    yield return $"memory gate: {MaxMemoryPercent} % must be above 0 and at most 100";
                if (service.Resources.MemoryLimit is null)
                    yield return "memory gate: the service has no memory limit to compare with";
                break;
            case GateKind.Chaos:
                if (service.Restart.Mode == RestartMode.No)
                    yield return "chaos gate: restart policy 'no' never brings a killed container back; set always, unless-stopped or on-failure";
                break;
        }
    }

    /// <summary>Patterns run against untrusted log lines: compiled with a match timeout so none can hang a Worker.</summary>
    public Regex Regex() => new(Pattern ?? "", RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));

    private static string? PatternError(string pattern)
    {
        try
        {
            _ = new Regex(pattern, RegexOptions.None, TimeSpan.FromMilliseconds(100));
            return null;
        }
        catch (ArgumentException e)
        {
            return e.Message;
        }
    }
}
