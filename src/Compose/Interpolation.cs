using System.Text;
using DeployDeck.Compose.Yaml;

namespace DeployDeck.Compose;

/// <summary>
/// Compose variable interpolation: <c>$VAR</c>, <c>${VAR}</c>, <c>${VAR:-default}</c>, <c>${VAR-default}</c>,
/// <c>${VAR:?error}</c>, <c>${VAR?error}</c>, <c>${VAR:+alt}</c>, <c>${VAR+alt}</c> and <c>$$</c> for a literal dollar.
/// Variables come only from the .env content given with the import, never from the server's environment.
/// </summary>
public sealed class Interpolation(IReadOnlyDictionary<string, string> variables)
{
    private readonly HashSet<string> _unset = new(StringComparer.Ordinal);

    /// <summary>Variables used without a value and without a default: Compose substitutes "".</summary>
    public IReadOnlyCollection<string> Unset => _unset;

    public YNode Apply(YNode node, string path) => node switch
    {
        YScalar s => s.Value.Contains('$', StringComparison.Ordinal) ? s.With(Substitute(s.Value, path)) : s,
        YSeq seq => new YSeq(seq.Items.Select((item, i) => Apply(item, $"{path}[{i}]")).ToList(), seq.Line, seq.Column),
        YMap map => new YMap(map.Entries.Select(e => new KeyValuePair<string, YNode>(e.Key, Apply(e.Value, $"{path}.{e.Key}"))).ToList(), map.Line, map.Column),
        _ => node,
    };

    public string Substitute(string text, string path)
    {
        var result = new StringBuilder(text.Length);
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (c != '$')
            {
                result.Append(c);
                i++;
                continue;
            }

            if (i + 1 < text.Length && text[i + 1] == '$')
            {
                result.Append('$');
                i += 2;
                continue;
            }

            if (i + 1 < text.Length && text[i + 1] == '{')
            {
                var close = ClosingBrace(text, i + 2);
                if (close < 0)
                    throw Invalid(text, path);
                result.Append(Braced(text[(i + 2)..close], text, path));
                i = close + 1;
                continue;
            }

            var end = i + 1;
            while (end < text.Length && IsNameChar(text[end], end == i + 1))
                end++;
            if (end == i + 1)
                throw Invalid(text, path);
            result.Append(Lookup(text[(i + 1)..end]) ?? Missing(text[(i + 1)..end]));
            i = end;
        }

        return result.ToString();
    }

    private string Braced(string inner, string text, string path)
    {
        var nameEnd = 0;
        while (nameEnd < inner.Length && IsNameChar(inner[nameEnd], nameEnd == 0))
            nameEnd++;
        if (nameEnd == 0)
            throw Invalid(text, path);
        var name = inner[..nameEnd];
        var rest = inner[nameEnd..];
        var value = Lookup(name);
        if (rest.Length == 0)
            return value ?? Missing(name);

        var colon = rest[0] == ':';
        var op = colon ? (rest.Length > 1 ? rest[1] : '\0') : rest[0];
        var argument = rest[(colon ? 2 : 1)..];
        var absent = colon ? string.IsNullOrEmpty(value) : value is null;
        return op switch
        {
            '-' => absent ? Substitute(argument, path) : value!,
            '?' => absent
                ? throw new ComposeException($"required variable {name} is missing a value: {(argument.Length > 0 ? argument : "it must be set")} (at {path})")
                : value!,
            '+' => absent ? "" : Substitute(argument, path),
            _ => throw Invalid(text, path),
        };
    }

    /// <summary>The '}' that closes a "${" whose content starts at <paramref name="start"/>; defaults may nest "${…}".</summary>
    private static int ClosingBrace(string text, int start)
    {
        var depth = 0;
        for (var i = start; i < text.Length; i++)
        {
            if (text[i] == '$' && i + 1 < text.Length && text[i + 1] == '$')
                i++;
            else if (text[i] == '$' && i + 1 < text.Length && text[i + 1] == '{')
                depth++;
            else if (text[i] == '}' && depth-- == 0)
                return i;
        }

        return -1;
    }

    private string? Lookup(string name) => variables.TryGetValue(name, out var v) ? v : null;

    private string Missing(string name)
    {
        _unset.Add(name);
        return "";
    }

    private static bool IsNameChar(char c, bool first) => c == '_' || char.IsAsciiLetter(c) || (!first && char.IsAsciiDigit(c));

    private static ComposeException Invalid(string text, string path) =>
        new($"invalid interpolation format in {path}: \"{text}\" — write $$ for a literal dollar sign");
}

/// <summary>Reads .env content the way Compose does: KEY=value lines, # comments, optional quotes and "export".</summary>
public static class EnvFile
{
    public static Dictionary<string, string> Parse(string? content, string fileName = ".env")
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrEmpty(content))
            return result;
        var lineNumber = 0;
        foreach (var raw in content.ReplaceLineEndings("\n").Split('\n'))
        {
            lineNumber++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
                continue;
            if (line.StartsWith("export ", StringComparison.Ordinal))
                line = line["export ".Length..].TrimStart();
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            var key = eq < 0 ? line : line[..eq].Trim();
            if (eq <= 0 || key.Length == 0 || !key.All(c => c == '_' || c == '.' || char.IsAsciiLetterOrDigit(c)))
                throw new ComposeException($"{fileName} line {lineNumber}: expected KEY=value, got \"{Truncate(line)}\"");
            var value = line[(eq + 1)..].Trim();
            var closing = value.Length >= 2 && value[0] is '"' or '\'' ? value.IndexOf(value[0], 1) : -1;
            if (closing > 0 && (closing == value.Length - 1 || value[(closing + 1)..].TrimStart().StartsWith('#')))
            {
                value = value[1..closing];
            }
            else
            {
                var comment = value.IndexOf(" #", StringComparison.Ordinal);
                if (comment >= 0)
                    value = value[..comment].TrimEnd();
            }

            result[key] = value;
        }

        return result;
    }

    private static string Truncate(string s) => s.Length > 60 ? s[..60] + "…" : s;
}
