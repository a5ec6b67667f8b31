using System.Globalization;
using DeployDeck.Domain.Plans;

namespace DeployDeck.Domain.Input;

/// <summary>What a text field may hold.</summary>
public enum TextKind
{
    /// <summary>A name or key: one line, no invisible or direction-changing characters at all.</summary>
    Name,

    /// <summary>One line of free text (an image, a URL, a reason): no line breaks, no control or bidi characters.</summary>
    Line,

    /// <summary>Free text over lines (file content, a command, an environment value): tabs and line breaks only.</summary>
    Text,
}

/// <summary>A text field's rule: what it may hold and how long it may be.</summary>
public readonly record struct TextRule(TextKind Kind, int MaxLength);

/// <summary>One problem of a request or a plan, by field: <c>phases[0].services[1].environment.DB_URL</c>.</summary>
public sealed record FieldProblem(string Field, string Reason)
{
    public override string ToString() => $"{Field}: {Reason}";
}

/// <summary>
/// The one input-validation layer: every string that reaches PostgreSQL, from the API, a page or a Compose file, passes
/// these rules first. NUL is refused by PostgreSQL itself (and, before this, answered 500 and logged the statement);
/// unpaired surrogates cannot be encoded as UTF-8; control and bidirectional characters make a name or an audit line
/// read differently from what it is (U+202E turns "deploy-prod" around). Lengths are capped by field so that nothing
/// is longer than its column or large enough to load a page.
/// </summary>
public static class TextRules
{
    public const int NameLength = 100;
    public const int KeyLength = 256;
    public const int LineLength = 2000;
    public const int TextLength = 64 * 1024;
    public const int FileLength = 512 * 1024;

    /// <summary>All the text of one plan revision together: a 200-service stack with large environments is ~300 K.</summary>
    public const int PlanTextLength = 1024 * 1024;

    /// <summary>The end of every problem about a null item: the caller stops before rules that read the item.</summary>
    public const string NotNull = "must not be null";

    private static readonly Dictionary<string, TextRule> ByField = new(StringComparer.OrdinalIgnoreCase)
    {
        ["name"] = new(TextKind.Name, NameLength),
        ["username"] = new(TextKind.Name, 64),
        ["user"] = new(TextKind.Name, 256),
        ["startedBy"] = new(TextKind.Name, 256),
        ["service"] = new(TextKind.Name, 63),
        ["phase"] = new(TextKind.Name, NameLength),
        ["roles"] = new(TextKind.Name, 40),
        ["events"] = new(TextKind.Name, 40),
        ["profiles"] = new(TextKind.Name, NameLength),
        ["networks"] = new(TextKind.Name, KeyLength),
        ["condition"] = new(TextKind.Name, 40),
        ["risk"] = new(TextKind.Name, 40),
        ["promotion"] = new(TextKind.Name, 40),
        ["onFailure"] = new(TextKind.Name, 40),
        ["restart"] = new(TextKind.Name, 40),
        ["kind"] = new(TextKind.Name, 40),
        ["type"] = new(TextKind.Name, 40),
        ["image"] = new(TextKind.Line, 500),
        ["url"] = new(TextKind.Line, LineLength),
        ["server"] = new(TextKind.Line, 255),
        ["password"] = new(TextKind.Line, 1024),
        ["newPassword"] = new(TextKind.Line, 1024),
        ["ports"] = new(TextKind.Line, 200),
        ["source"] = new(TextKind.Line, 4096),
        ["target"] = new(TextKind.Line, 4096),
        ["context"] = new(TextKind.Line, 4096),
        ["dockerfile"] = new(TextKind.Line, 4096),
        ["reason"] = new(TextKind.Line, LineLength),
        ["comment"] = new(TextKind.Line, 500),
        ["acknowledgement"] = new(TextKind.Line, 1000),
        ["description"] = new(TextKind.Text, LineLength),
        ["content"] = new(TextKind.Text, FileLength),
        ["env"] = new(TextKind.Text, TextLength),
        ["pattern"] = new(TextKind.Line, 1000),
    };

    /// <summary>The rule of a field by its name (the last segment of its path, list indexes dropped); free text otherwise.</summary>
    public static TextRule For(string field) => ByField.TryGetValue(field, out var rule) ? rule : new(TextKind.Text, TextLength);

    /// <summary>The rule of a dictionary key (an environment variable, a label, a ulimit): a name.</summary>
    public static TextRule Key => new(TextKind.Name, KeyLength);

    /// <summary>Why <paramref name="value"/> breaks <paramref name="rule"/>, or null.</summary>
    public static string? Problem(string value, TextRule rule)
    {
        if (value.Length > rule.MaxLength)
            return $"is {value.Length:N0} characters long; the limit is {rule.MaxLength:N0}" + (rule.MaxLength % 1024 == 0 ? $" ({rule.MaxLength / 1024} KiB)" : "");
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                var category = CharUnicodeInfo.GetUnicodeCategory(value, i);
                if (rule.Kind == TextKind.Name && category == UnicodeCategory.Format)
                    return $"contains the invisible formatting character {Code(value, i)} at position {i + 1}";
                i++;
                continue;
            }

            if (char.IsSurrogate(c))
                return $"contains an unpaired surrogate {Code(value, i)} at position {i + 1} (not valid Unicode)";
            if (c == '\0')
                return $"contains a NUL character (U+0000) at position {i + 1}";
            if (IsBidiControl(c))
                return $"contains the bidirectional control {Code(value, i)} at position {i + 1} (it makes text read differently from what it is)";
            if (c is '\n' or '\r')
            {
                if (rule.Kind != TextKind.Text)
                    return $"contains a line break at position {i + 1}; it must be one line";
                continue;
            }

            if (c == '\t')
            {
                if (rule.Kind == TextKind.Name)
                    return $"contains a tab at position {i + 1}";
                continue;
            }

            var kind = char.GetUnicodeCategory(c);
            if (kind == UnicodeCategory.Control)
                return $"contains the control character {Code(value, i)} at position {i + 1}";
            if (kind is UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator && rule.Kind != TextKind.Text)
                return $"contains the line separator {Code(value, i)} at position {i + 1}; it must be one line";
            if (kind == UnicodeCategory.Format && rule.Kind == TextKind.Name)
                return $"contains the invisible formatting character {Code(value, i)} at position {i + 1}";
        }

        return null;
    }

    /// <summary>
    /// Problems of every string in a request or a plan, by path; a null item of a list or value of a dictionary is one too
    /// (<c>"command": [null]</c>), while a null property is a field not given.
    /// </summary>
    public static List<FieldProblem> Check(object? document, string path = "")
    {
        var problems = new List<FieldProblem>();
        var dictionaryOf = new Dictionary<string, string>(StringComparer.Ordinal); // entry path → the dictionary's field
        SpecWalk.Visit(document, path, (at, value, isKey) =>
        {
            var field = dictionaryOf.TryGetValue(at, out var parent) ? parent : LastName(at);
            switch (value)
            {
                case string key when isKey:
                    dictionaryOf[at] = LastName(at[..Math.Max(0, at.Length - key.Length - 1)]);
                    if (key.Length == 0)
                        problems.Add(new(at.Length == 0 ? "(key)" : Printable(at), "a key must not be empty"));
                    else if (Problem(key, Key) is { } keyProblem)
                        problems.Add(new(Printable(at), "the key " + keyProblem));
                    break;
                case string text:
                    if (Problem(text, For(field)) is { } problem)
                        problems.Add(new(Printable(at), problem));
                    break;
                case double d when double.IsNaN(d) || double.IsInfinity(d):
                    problems.Add(new(Printable(at), $"{d.ToString(CultureInfo.InvariantCulture)} is not a number"));
                    break;
                case Enum e when !Enum.IsDefined(e.GetType(), e):
                    problems.Add(new(Printable(at), $"{Convert.ToInt64(e, CultureInfo.InvariantCulture)} is not one of {string.Join(", ", Enum.GetNames(e.GetType()))}"));
                    break;
                case null when at.EndsWith(']') || dictionaryOf.ContainsKey(at):
                    problems.Add(new(Printable(at), NotNull));
                    break;
            }
        });
        return problems;
    }

    /// <summary>A path as an answer may repeat it: a refused key must not bring its NUL or bidi control back with it.</summary>
    public static string Printable(string path)
    {
        var text = new System.Text.StringBuilder(path.Length);
        for (var i = 0; i < path.Length; i++)
        {
            var c = path[i];
            var pair = char.IsHighSurrogate(c) && i + 1 < path.Length && char.IsLowSurrogate(path[i + 1]);
            var category = pair ? CharUnicodeInfo.GetUnicodeCategory(path, i) : char.GetUnicodeCategory(c);
            if (pair && category != UnicodeCategory.Format)
            {
                text.Append(c).Append(path[++i]);
            }
            else if (char.IsSurrogate(c) || IsBidiControl(c) || category is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator)
            {
                text.Append($"\\u{(int)c:X4}");
            }
            else
            {
                text.Append(c);
            }
        }

        return text.Length > 300 ? text.ToString(0, 300) + "…" : text.ToString();
    }

    /// <summary>"phases[0].services[1].command[2]" → "command"; "…environment.DB_URL" → "DB_URL".</summary>
    public static string LastName(string path)
    {
        var end = path.Length;
        while (end > 0 && path[end - 1] == ']')
        {
            var open = path.LastIndexOf('[', end - 1);
            if (open < 0)
                break;
            end = open;
        }

        var dot = path.LastIndexOf('.', Math.Max(0, end - 1));
        return path[(dot + 1)..end];
    }

    public static bool IsBidiControl(char c) => c is '\u061C' or '\u200E' or '\u200F' or (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069');

    private static string Code(string value, int i) =>
        char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1])
            ? $"U+{char.ConvertToUtf32(value[i], value[i + 1]):X4}"
            : $"U+{(int)value[i]:X4}";
}
