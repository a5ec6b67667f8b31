using System.Text.RegularExpressions;

namespace DeployDeck.Domain.Plans;

/// <summary>Environment keys whose values are secrets: shown and returned masked, never logged.</summary>
public static partial class SecretKeys
{
    public const string Mask = "••••••••";

    private static readonly string[] Markers = ["PASS", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "PRIVATE"];

    public static bool IsSecret(string key) => Markers.Any(m => key.Contains(m, StringComparison.OrdinalIgnoreCase));

    /// <summary>A key that names a secret, or a value that carries one: "…;Password=…", "postgres://user:pw@host".</summary>
    public static bool IsSecret(string key, string value) => IsSecret(key) || CredentialInValue().IsMatch(value);

    public static string Show(string key, string value) => IsSecret(key, value) ? Mask : value;

    [GeneratedRegex(@"(password|passwd|pwd|secret|token|apikey|api_key)\s*=|://[^/\s:@]+:[^/\s@]+@", RegexOptions.IgnoreCase)]
    private static partial Regex CredentialInValue();

    /// <summary>Free text (an error, an audit detail, a log line) with credentials in it masked: "password=…", "TOKEN: …", "scheme://user:pw@".</summary>
    public static string Scrub(string? text) => string.IsNullOrEmpty(text) ? text ?? "" : CredentialInText().Replace(text, m =>
        m.Groups["user"].Success ? $"://{m.Groups["user"].Value}:{Mask}@" : $"{m.Groups["key"].Value}{m.Groups["sep"].Value}{Mask}");

    [GeneratedRegex(@"://(?<user>[^/\s:@]+):[^/\s@]+@|(?<key>\b[A-Za-z0-9_.-]*(password|passwd|pwd|secret|token|apikey|api_key|private_key|credential)[A-Za-z0-9_.-]*)(?<sep>\s*[=:]\s*)(?<value>""[^""]*""|'[^']*'|[^\s;,&]+)", RegexOptions.IgnoreCase)]
    private static partial Regex CredentialInText();

    public static IReadOnlyDictionary<string, string> Masked(IReadOnlyDictionary<string, string> environment) =>
        environment.ToDictionary(e => e.Key, e => Show(e.Key, e.Value), StringComparer.Ordinal);

    /// <summary>An edited environment that still holds masks gets the values they stand for back from the revision it was made from.</summary>
    public static Dictionary<string, string> Unmask(IReadOnlyDictionary<string, string> edited, IReadOnlyDictionary<string, string>? previous)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in edited)
            result[key] = value == Mask && previous is not null && previous.TryGetValue(key, out var old) ? old : value;
        return result;
    }
}
