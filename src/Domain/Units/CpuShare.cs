using System.Globalization;

namespace DeployDeck.Domain.Units;

/// <summary>A CPU limit in cores ("0.5", "2"), carried as the engine's NanoCPUs.</summary>
public readonly record struct CpuShare(long NanoCpus) : IComparable<CpuShare>
{
    private const long PerCore = 1_000_000_000;

    public static CpuShare FromCores(double cores) => new((long)Math.Round(cores * PerCore));

    public double Cores => NanoCpus / (double)PerCore;

    public static CpuShare operator +(CpuShare a, CpuShare b) => new(a.NanoCpus + b.NanoCpus);

    public int CompareTo(CpuShare other) => NanoCpus.CompareTo(other.NanoCpus);

    public static CpuShare Parse(string text) =>
        TryParse(text, out var cpus, out var error) ? cpus : throw new FormatException(error);

    public static bool TryParse(string? text, out CpuShare cpus, out string error)
    {
        cpus = default;
        if (!double.TryParse((text ?? "").Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var cores)
            || double.IsNaN(cores) || double.IsInfinity(cores))
        {
            error = $"'{text}' is not a CPU count (e.g. 0.5, 2)";
            return false;
        }

        if (cores <= 0)
        {
            error = $"CPU '{text}' must be greater than 0";
            return false;
        }

        if (cores > 1024)
        {
            error = $"CPU '{text}' is more than 1024 cores — not a plausible limit";
            return false;
        }

        cpus = FromCores(cores);
        error = "";
        return true;
    }

    public override string ToString() => Cores.ToString("0.###", CultureInfo.InvariantCulture);
}
