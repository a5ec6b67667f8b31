using System.Text;
using DeployDeck.Compose.Yaml;

namespace DeployDeck.Compose;

/// <summary>
/// Compose variable interpolation: <c>$VAR</c>, <c>${VAR}</c>, <c>${VAR:-default}</c>, <c>${VAR-default}</c>,
/// <c>${VAR:?error}</c>, <c>${VAR?error}</c>, <c>${VAR:+alt}</c>, <c>${VAR+alt}</c> and <c>$$</c> for a literal dollar.
/// Variables come only from the .env content given with the import, never from the server's environment.
/// Defaults nest at most <see cref="MaxNesting"/> levels, and everything one instance substitutes (one import) is at
/// most <see cref="MaxExpandedChars"/> characters: a large variable used through many aliases cannot fill the memory.
/// </summary>
public sealed class Interpolation(IReadOnlyDictionary<string, string> variables)
{
    /// <summary>Levels of <c>${A:-${B:-…}}</c>; Compose files use one or two.</summary>
    public const int MaxNesting = 16;

    /// <summary>Characters all substitutions of one import may produce together.</summary>
    public const long MaxExpandedChars = 1024 * 1024;

    private readonly HashSet<string> _unset = new(StringComparer.Ordinal);
    private long _produced;

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
        Substitute(text, 0, text.Length, path, 0, result);
        _produced += result.Length;
        if (_produced > MaxExpandedChars)
            throw TooLarge(path);
        return result.ToString();
    }

    /// <summary>Substitutes <c>text[from..to]</c> into <paramref name="result"/>; ranges, not substrings, so nesting copies nothing.</summary>
    private void Substitute(string text, int from, int to, string path, int nesting, StringBuilder result)
    {
        var i = from;
        while (i < to)
        {
            var c = text[i];
            if (c != '$')
            {
                result.Append(c);
                i++;
                continue;
            }

            if (i + 1 < to && text[i + 1] == '$')
            {
                result.Append('$');
                i += 2;
                continue;
            }

            if (i + 1 < to && text[i + 1] == '{')
            {
                if (nesting >= MaxNesting)
                    throw new ComposeException($"interpolation in {path} nests defaults more than {MaxNesting} levels deep — refused");
                var close = ClosingBrace(text, i + 2, to);
                if (close < 0)
                    throw Invalid(text, path);
                Braced(text, i + 2, close, path, nesting, result);
                i = close + 1;
                continue;
            }

            var end = i + 1;
            while (end < to && IsNameChar(text[end], end == i + 1))
                end++;
            if (end == i + 1)
                throw Invalid(text, path);
            var name = text[(i + 1)..end];
            Append(result, Lookup(name) ?? Missing(name), path);
            i = end;
        }
    }

    /// <summary>One scalar made of many large variables is refused while it grows, not once it is built.</summary>
    private void Append(StringBuilder result, string value, string path)
    {
        if (_produced + result.Length + value.Length > MaxExpandedChars)
            throw TooLarge(path);
        result.Append(value);
    }

    private static ComposeException TooLarge(string path) =>
        new($"interpolation in {path}: the variables expand the files to more than {MaxExpandedChars / 1024 / 1024} Mi characters — refused (is a large .env value used through many aliases?)");

    /// <summary>The inside of "${…}", <c>text[start..close]</c>: a name, then nothing or an operator and its argument.</summary>
    private void Braced(string text, int start, int close, string path, int nesting, StringBuilder result)
    {
        var nameEnd = start;
        while (nameEnd < close && IsNameChar(text[nameEnd], nameEnd == start))
            nameEnd++;
        if (nameEnd == start)
            throw Invalid(text, path);
        var name = text[start..nameEnd];
        var value = Lookup(name);
        if (nameEnd == close)
        {
            Append(result, value ?? Missing(name), path);
            return;
        }

        var colon = text[nameEnd] == ':';
        var opAt = colon ? nameEnd + 1 : nameEnd;
        var op = opAt < close ? text[opAt] : '\0'; // "${A:}" has no operator: invalid below
        var absent = colon ? string.IsNullOrEmpty(value) : value is null;
        switch (op)
        {
            case '-' when absent:
            case '+' when !absent:
                Substitute(text, opAt + 1, close, path, nesting + 1, result);
                break;
            case '-' or '?':
                if (absent)
                {
                    var message = text[(opAt + 1)..close];
                    throw new ComposeException($"required variable {name} is missing a value: {(message.Length == 0 ? "it must be set" : message.Length > 200 ? message[..200] + "…" : message)} (at {path})");
                }

                Append(result, value!, path);
                break;
            case '+':
                break;
            default:
                throw Invalid(text, path);
        }
    }

    /// <summary>The '}' that closes a "${" whose content starts at <paramref name="start"/>; defaults may nest "${…}".</summary>
    private static int ClosingBrace(string text, int start, int to)
    {
        var depth = 0;
        for (var i = start; i < to; i++)
        {
            if (text[i] == '$' && i + 1 < to && text[i + 1] == '$')
                i++;
            else if (text[i] == '$' && i + 1 < to && text[i + 1] == '{')
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
        new($"invalid interpolation format in {path}: \"{(text.Length > 80 ? text[..80] + "…" : text)}\" — write $$ for a literal dollar sign");
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
