using System.Globalization;

namespace DeployDeck.Domain.Hosts;

public enum Band
{
    Green,
    Yellow,
    Red,
    Unknown,
}

public sealed record SignalVerdict(string Signal, Band Band, double? Value, string Text);

/// <param name="Overall">Red when any signal is red; yellow when any is yellow or unknown (nobody can vouch for it); else green.</param>
public sealed record HostVerdict(Band Overall, IReadOnlyList<SignalVerdict> Signals)
{
    /// <summary>"memory 91 % (red above 85 %), load 6.2 (red above 5)": the signals that are not green, or all of them when all are.</summary>
    public string Summary => string.Join(", ", (Signals.Any(s => s.Band != Band.Green) ? Signals.Where(s => s.Band != Band.Green) : Signals).Select(s => s.Text));
}

/// <summary>"ALWAYS RUN FIRST": memory, disk and load against the host's bands. RED refuses; YELLOW needs an Approver.</summary>
public static class HostCheck
{
    public static HostVerdict Evaluate(HostSignals signals, HostThresholds thresholds)
    {
        var verdicts = new List<SignalVerdict>
        {
            Percent("memory", signals.MemoryPercent, thresholds.MemoryYellow, thresholds.MemoryRed),
            Percent("disk", signals.DiskPercent, thresholds.DiskYellow, thresholds.DiskRed),
            Level("load", signals.Load1, thresholds.LoadYellow, thresholds.LoadRed, v => v.ToString("0.00", CultureInfo.InvariantCulture), ""),
        };
        var overall = verdicts.Any(v => v.Band == Band.Red) ? Band.Red
            : verdicts.Any(v => v.Band is Band.Yellow or Band.Unknown) ? Band.Yellow
            : Band.Green;
        return new HostVerdict(overall, verdicts);
    }

    /// <summary>Below yellow is green; from yellow up to and including red is yellow; above red is red.</summary>
    public static Band Classify(double? value, double yellow, double red) => value switch
    {
        null => Band.Unknown,
        var v when v < yellow => Band.Green,
        var v when v <= red => Band.Yellow,
        _ => Band.Red,
    };

    private static SignalVerdict Percent(string name, double? value, double yellow, double red) =>
        Level(name, value, yellow, red, v => v.ToString("0.##", CultureInfo.InvariantCulture), " %");

    private static SignalVerdict Level(string name, double? value, double yellow, double red, Func<double, string> format, string unit)
    {
        var band = Classify(value, yellow, red);
        var text = band switch
        {
            Band.Unknown => $"{name} unknown",
            Band.Green => $"{name} {format(value!.Value)}{unit}",
            Band.Yellow => $"{name} {format(value!.Value)}{unit} (yellow from {format(yellow)}{unit})",
            _ => $"{name} {format(value!.Value)}{unit} (red above {format(red)}{unit})",
        };
        return new SignalVerdict(name, band, value, text);
    }
}
