using System.Globalization;
using System.Text.RegularExpressions;

namespace DeployDeck.Domain.Units;

/// <summary>Compose/Go durations: "1m30s", "500ms", "2h", "10s", "1.5s".</summary>
public static partial class Durations
{
    [GeneratedRegex(@"^(?:(?<n>[0-9]+(?:\.[0-9]+)?)(?<u>h|ms|m|s|us|µs|ns))+$")]
    private static partial Regex Pattern();

    public static TimeSpan Parse(string text) =>
        TryParse(text, out var d, out var error) ? d : throw new FormatException(error);

    public static bool TryParse(string? text, out TimeSpan duration, out string error)
    {
        duration = default;
        var s = (text ?? "").Trim();
        if (s == "0")
        {
            error = "";
            return true;
        }

        var match = Pattern().Match(s);
        if (!match.Success)
        {
            error = $"'{text}' is not a duration (e.g. 30s, 1m30s, 500ms)";
            return false;
        }

        double ms = 0;
        for (var i = 0; i < match.Groups["n"].Captures.Count; i++)
        {
            var n = double.Parse(match.Groups["n"].Captures[i].Value, CultureInfo.InvariantCulture);
            ms += match.Groups["u"].Captures[i].Value switch
            {
                "h" => n * 3_600_000,
                "m" => n * 60_000,
                "s" => n * 1000,
                "ms" => n,
                "us" or "µs" => n / 1000,
                _ => n / 1_000_000,
            };
        }

        if (ms > TimeSpan.FromDays(7).TotalMilliseconds)
        {
            error = $"'{text}' is longer than a week — not a plausible duration";
            return false;
        }

        duration = TimeSpan.FromMilliseconds(ms);
        error = "";
        return true;
    }

    /// <summary>The shortest Compose form: "1m30s", "500ms", "0s".</summary>
    public static string Format(TimeSpan d)
    {
        if (d == TimeSpan.Zero) return "0s";
        var parts = new List<string>();
        if (d.Hours + d.Days * 24 > 0) parts.Add($"{d.Hours + d.Days * 24}h");
        if (d.Minutes > 0) parts.Add($"{d.Minutes}m");
        if (d.Seconds > 0) parts.Add($"{d.Seconds}s");
        if (d.Milliseconds > 0) parts.Add($"{d.Milliseconds}ms");
        return string.Concat(parts);
    }
}
