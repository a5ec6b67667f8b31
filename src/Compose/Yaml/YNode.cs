namespace DeployDeck.Compose.Yaml;

/// <summary>A YAML node with aliases already resolved and merge keys applied; where it was written, for messages.</summary>
public abstract class YNode
{
    protected YNode(int line, int column)
    {
        Line = line;
        Column = column;
    }

    public int Line { get; }

    public int Column { get; }

    /// <summary>Nodes this one stands for once aliases are expanded: what a consumer would walk.</summary>
    public long ExpandedSize { get; protected init; } = 1;

    /// <summary>Characters of keys and scalars once aliases are expanded: what a consumer would copy.</summary>
    public long ExpandedChars { get; protected init; }

    /// <summary>Levels from this node to its deepest scalar once aliases are expanded: how deep a consumer would recurse.</summary>
    public int Height { get; protected init; } = 1;

    public abstract string Kind { get; }
}

public sealed class YScalar : YNode
{
    public YScalar(string value, bool plain, int line, int column)
        : base(line, column)
    {
        Value = value;
        Plain = plain;
        ExpandedChars = value.Length;
    }

    public string Value { get; }

    /// <summary>Unquoted: "null", "~" and "" mean null only then.</summary>
    public bool Plain { get; }

    public bool IsNull => Plain && Value is "" or "~" or "null" or "Null" or "NULL";

    public override string Kind => "a scalar";

    public YScalar With(string value) => new(value, Plain && value == Value, Line, Column);

    public override string ToString() => Value;
}

public sealed class YSeq : YNode
{
    public YSeq(IReadOnlyList<YNode> items, int line, int column)
        : base(line, column)
    {
        Items = items;
        ExpandedSize = Saturating(items.Select(i => i.ExpandedSize));
        ExpandedChars = Saturating(items.Select(i => i.ExpandedChars), start: 0);
        Height = 1 + (items.Count == 0 ? 0 : items.Max(i => i.Height));
    }

    public IReadOnlyList<YNode> Items { get; }

    public override string Kind => "a list";

    internal static long Saturating(IEnumerable<long> sizes, long start = 1)
    {
        var total = start;
        foreach (var s in sizes)
            total = Add(total, s);
        return total;
    }

    internal static long Add(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;
}

public sealed class YMap : YNode
{
    private readonly Dictionary<string, YNode> _byKey;

    public YMap(IReadOnlyList<KeyValuePair<string, YNode>> entries, int line, int column)
        : base(line, column)
    {
        Entries = entries;
        _byKey = new Dictionary<string, YNode>(StringComparer.Ordinal);
        foreach (var (k, v) in entries)
            _byKey.TryAdd(k, v);
        ExpandedSize = YSeq.Saturating(entries.Select(e => YSeq.Add(e.Value.ExpandedSize, 1)));
        ExpandedChars = YSeq.Saturating(entries.Select(e => YSeq.Add(e.Value.ExpandedChars, e.Key.Length)), start: 0);
        Height = 1 + (entries.Count == 0 ? 0 : entries.Max(e => e.Value.Height));
    }

    public IReadOnlyList<KeyValuePair<string, YNode>> Entries { get; }

    public IEnumerable<string> Keys => Entries.Select(e => e.Key);

    public override string Kind => "a mapping";

    public YNode? this[string key] => _byKey.GetValueOrDefault(key);

    public bool Has(string key) => _byKey.ContainsKey(key);

    public static YMap Empty(int line = 0, int column = 0) => new([], line, column);
}
