using System.Text.RegularExpressions;

namespace DeployDeck.Domain.Plans;

/// <summary>
/// What is a secret in a plan and in free text: environment values by their key (<c>DB_PWD</c>, <c>JWT</c>), values
/// that carry a credential (<c>Password=…</c>, <c>user:pw@</c>, <c>Bearer …</c>, a private key), and — through
/// <see cref="ServiceSpec.SecretFields"/> — any field whose value came from .env or an env_file or had a variable
/// substituted into it. Secrets are shown and returned masked, never logged, and scrubbed from output.
/// </summary>
public static partial class SecretKeys
{
    public const string Mask = "••••••••";

    private static readonly string[] Markers = ["PASS", "PWD", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "PRIVATE", "JWT", "AUTH", "SALT", "DSN", "COOKIE", "BEARER", "SIGNING"];

    /// <summary>Fields of a service that say what runs and where, shown as they are: who reviews a plan must see them.</summary>
    private static readonly HashSet<string> NeverMasked = new(StringComparer.Ordinal) { "name", "image", "ports", "networks", "volumes", "build", "dependsOn", "secretFields" };

    /// <summary>Secret values shorter than this are not searched for inside other text: "80" or "on" would mask everything.</summary>
    public const int ShortestScrubbed = 4;

    public static bool IsSecret(string key) => Markers.Any(m => key.Contains(m, StringComparison.OrdinalIgnoreCase));

    /// <summary>A key that names a secret, or a value that carries one: "…;Password=…", "postgres://user:pw@host", "Bearer …".</summary>
    public static bool IsSecret(string key, string value) => IsSecret(key) || CarriesCredential(value);

    public static bool CarriesCredential(string value) => CredentialInValue().IsMatch(value) || TokenShaped().IsMatch(value);

    public static string Show(string key, string value) => IsSecret(key, value) ? Mask : value;

    [GeneratedRegex(@"(password|passwd|pwd|secret|token|apikey|api_key)\s*=|://[^/\s:@]+:[^/\s@]+@", RegexOptions.IgnoreCase)]
    private static partial Regex CredentialInValue();

    /// <summary>Credentials recognisable by their shape: bearer and basic headers, JWTs, private keys, well-known token formats.</summary>
    [GeneratedRegex(@"\b[Bb]earer\s+[A-Za-z0-9._~+/-]{8,}=*|\bBasic\s+(?=[A-Za-z+/]*[0-9=+/])[A-Za-z0-9+/]{8,}={0,2}|\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*|-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)|\bAKIA[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{20,}|\bxox[abprs]-[A-Za-z0-9-]{10,}|\b[sr]k_live_[A-Za-z0-9]{10,}|\bdd_[A-Za-z0-9_-]{40,}", RegexOptions.None)]
    private static partial Regex TokenShaped();

    /// <summary>Free text (an error, an audit detail, a log line) with credentials in it masked: "password=…", "TOKEN: …", "scheme://user:pw@", "Bearer …".</summary>
    public static string Scrub(string? text)
    {
        if (string.IsNullOrEmpty(text))
            return text ?? "";
        var scrubbed = CredentialInText().Replace(text, m =>
            m.Groups["user"].Success ? $"://{m.Groups["user"].Value}:{Mask}@" : $"{m.Groups["key"].Value}{m.Groups["sep"].Value}{Mask}");
        return TokenShaped().Replace(scrubbed, m => m.Value.IndexOf(' ', StringComparison.Ordinal) is > 0 and < 7 and var space ? m.Value[..(space + 1)] + Mask : Mask);
    }

    /// <summary>Free text with each of <paramref name="secrets"/> (the raw values of a service's secrets) masked too: what a gate's command printed.</summary>
    public static string Scrub(string? text, IReadOnlyCollection<string> secrets)
    {
        var scrubbed = Scrub(text);
        foreach (var secret in secrets.Where(s => s.Length >= ShortestScrubbed).OrderByDescending(s => s.Length))
            scrubbed = scrubbed.Replace(secret, Mask, StringComparison.Ordinal);
        return scrubbed;
    }

    [GeneratedRegex(@"://(?<user>[^/\s:@]+):[^/\s@]+@|(?<key>\b[A-Za-z0-9_.-]*(password|passwd|pwd|secret|token|apikey|api_key|private_key|credential|jwt|auth)[A-Za-z0-9_.-]*)(?<sep>\s*[=:]\s*)(?<value>(?:(?:Bearer|Basic|Token)\s+)?(?:""[^""]*""|'[^']*'|[^\s;,&]+))", RegexOptions.IgnoreCase)]
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

    /// <summary>Whether the string at <paramref name="path"/> of <paramref name="service"/> (as <see cref="SpecWalk"/> names it) is a secret.</summary>
    public static bool IsSecretAt(ServiceSpec service, string path, string value)
    {
        var field = path.Split('.', '[')[0];
        if (NeverMasked.Contains(field))
            return false;
        if (field == "environment" && path.Length > "environment.".Length && IsSecret(path["environment.".Length..]))
            return true;
        return CarriesCredential(value) || service.SecretFields.Any(f => f == path || (f.StartsWith(path, StringComparison.Ordinal) && f.Length > path.Length && f[path.Length] == '#'));
    }

    /// <summary>The service as a person may see it: every secret string replaced by <see cref="Mask"/>.</summary>
    public static ServiceSpec MaskedService(ServiceSpec service) =>
        SpecWalk.Map(service, (path, value) => value.Length > 0 && IsSecretAt(service, path, value) ? Mask : value);

    public static PlanSpec MaskedPlan(PlanSpec plan) => plan with
    {
        Phases = plan.Phases.Select(p => p with { Services = p.Services.Select(MaskedService).ToList() }).ToList(),
    };

    /// <summary>The raw secret values of a service, whole and the parts <see cref="ServiceSpec.SecretFields"/> point at: what output is scrubbed of.</summary>
    public static IReadOnlyCollection<string> ValuesOf(ServiceSpec service)
    {
        var values = new HashSet<string>(StringComparer.Ordinal);
        var leaves = SpecWalk.Leaves(service).Where(l => l.Value is string).ToDictionary(l => l.Path, l => (string)l.Value!, StringComparer.Ordinal);
        foreach (var (path, value) in leaves)
        {
            if (value.Length > 0 && IsSecretAt(service, path, value))
                values.Add(value);
        }

        foreach (var span in service.SecretFields.Select(SecretSpan.Parse).OfType<SecretSpan>())
        {
            if (leaves.TryGetValue(span.Path, out var value) && span.Start + span.Length <= value.Length)
                values.Add(value.Substring(span.Start, span.Length));
        }

        return values;
    }

    /// <summary>The raw secret values of every service of a plan.</summary>
    public static IReadOnlyCollection<string> ValuesOf(PlanSpec plan) =>
        plan.AllServices.SelectMany(ValuesOf).Where(v => v.Length >= ShortestScrubbed).ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// The plan an edit means: every <see cref="Mask"/> the editor or the API sent back stands for the value at the same
    /// place in the revision it was made from. A mask with nothing behind it is a problem, not a value.
    /// </summary>
    public static ServiceSpec Unmasked(ServiceSpec edited, ServiceSpec? previous, List<string> problems)
    {
        var before = previous is null ? [] : SpecWalk.Leaves(previous).Where(l => l.Value is string).ToDictionary(l => l.Path, l => (string)l.Value!, StringComparer.Ordinal);
        var restored = SpecWalk.Map(edited, (path, value) =>
        {
            if (value != Mask)
                return value;
            if (before.TryGetValue(path, out var old))
                return old;
            problems.Add($"{path}: {Mask} stands for a secret the revision you edited does not hold there; type the value");
            return value;
        });

        // A secret by origin stays one where it still is, even when its value is typed anew; a part of a value only while the value is unchanged.
        var now = SpecWalk.Leaves(restored).ToDictionary(l => l.Path, l => l.Value as string, StringComparer.Ordinal);
        var kept = restored.SecretFields.Where(f => SecretSpan.Parse(f) is { } span
            ? now.TryGetValue(span.Path, out var current) && before.TryGetValue(span.Path, out var old) && current == old
            : now.ContainsKey(f)).ToList();
        return kept.Count == restored.SecretFields.Count ? restored : restored with { SecretFields = kept };
    }
}

/// <summary>A part of a field that is a secret: "command[2]#11+7" is 7 characters from the 11th of command[2].</summary>
public sealed record SecretSpan(string Path, int Start, int Length)
{
    public override string ToString() => $"{Path}#{Start}+{Length}";

    public static SecretSpan? Parse(string field)
    {
        var hash = field.LastIndexOf('#');
        if (hash < 0)
            return null;
        var plus = field.IndexOf('+', hash);
        return plus > hash && int.TryParse(field[(hash + 1)..plus], out var start) && int.TryParse(field[(plus + 1)..], out var length) && start >= 0 && length > 0
            ? new SecretSpan(field[..hash], start, length)
            : null;
    }
}
