using System.Globalization;
using System.Text.RegularExpressions;

namespace DeployDeck.Domain.Units;

/// <summary>An amount of memory in bytes, parsed from Compose notation ("512m", "1.5g", "2gb", "1048576").</summary>
public readonly partial record struct MemorySize(long Bytes) : IComparable<MemorySize>
{
    /// <summary>Docker refuses memory limits under 6 MiB.</summary>
    public static readonly MemorySize EngineMinimum = FromMebibytes(6);

    /// <summary>Anything above this is a typo, not a limit.</summary>
    public static readonly MemorySize Absurd = FromGibibytes(4096);

    public static MemorySize Zero => new(0);

    public static MemorySize FromMebibytes(double mib) => new((long)(mib * 1024 * 1024));

    public static MemorySize FromGibibytes(double gib) => new((long)(gib * 1024 * 1024 * 1024));

    public double Mebibytes => Bytes / 1024d / 1024d;

    public static MemorySize operator +(MemorySize a, MemorySize b) => new(a.Bytes + b.Bytes);

    public static MemorySize operator -(MemorySize a, MemorySize b) => new(a.Bytes - b.Bytes);

    public static bool operator <(MemorySize a, MemorySize b) => a.Bytes < b.Bytes;

    public static bool operator >(MemorySize a, MemorySize b) => a.Bytes > b.Bytes;

    public static bool operator <=(MemorySize a, MemorySize b) => a.Bytes <= b.Bytes;

    public static bool operator >=(MemorySize a, MemorySize b) => a.Bytes >= b.Bytes;

    public int CompareTo(MemorySize other) => Bytes.CompareTo(other.Bytes);

    public static MemorySize Parse(string text) =>
        TryParse(text, out var size, out var error) ? size : throw new FormatException(error);

    public static bool TryParse(string? text, out MemorySize size, out string error)
    {
        size = default;
        var s = (text ?? "").Trim().ToLowerInvariant();
        if (s.Length == 0)
        {
            error = "a memory size is empty";
            return false;
        }

        var match = Shape().Match(s);
        if (!match.Success)
        {
            error = $"'{text}' is not a memory size (e.g. 512m, 1.5g)";
            return false;
        }

        var number = match.Groups["n"].Value;
        var unit = match.Groups["u"].Value;
        long multiplier = unit switch
        {
            "" or "b" => 1,
            "k" or "kb" or "kib" => 1024,
            "m" or "mb" or "mib" => 1024 * 1024,
            "g" or "gb" or "gib" => 1024L * 1024 * 1024,
            "t" or "tb" or "tib" => 1024L * 1024 * 1024 * 1024,
            _ => -1,
        };
        if (multiplier < 0)
        {
            error = $"'{text}' has an unknown unit '{unit}' (use b, k, m, g or t)";
            return false;
        }

        if (number.StartsWith('-'))
        {
            error = $"'{text}' is negative: a memory size must be positive";
            return false;
        }

        var value = double.Parse(number, NumberStyles.Float, CultureInfo.InvariantCulture);

        var bytes = value * multiplier;
        if (double.IsInfinity(bytes) || bytes > Absurd.Bytes)
        {
            error = $"'{text}' is larger than {Absurd} — not a plausible memory size";
            return false;
        }

        size = new MemorySize((long)bytes);
        error = "";
        return true;
    }

    [GeneratedRegex(@"^(?<n>[+-]?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?)\s*(?<u>[a-z]*)$")]
    private static partial Regex Shape();

    /// <summary>Compose-style short form: whole units where possible ("512m", "1g", "1536m").</summary>
    public string ToCompose()
    {
        if (Bytes == 0)
        {
            return "0";
        }

        const long k = 1024, m = k * 1024, g = m * 1024;
        if (Bytes % g == 0) return $"{Bytes / g}g";
        if (Bytes % m == 0) return $"{Bytes / m}m";
        if (Bytes % k == 0) return $"{Bytes / k}k";
        return Bytes.ToString(CultureInfo.InvariantCulture);
    }

    public override string ToString() => Bytes >= 1024L * 1024 * 1024
        ? string.Create(CultureInfo.InvariantCulture, $"{Bytes / 1024d / 1024 / 1024:0.##} GB")
        : string.Create(CultureInfo.InvariantCulture, $"{Bytes / 1024d / 1024:0.#} MB");
}
