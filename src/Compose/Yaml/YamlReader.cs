using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace DeployDeck.Compose.Yaml;

/// <summary>
/// Builds a <see cref="YNode"/> tree from YamlDotNet's parser events: aliases point at their anchor's node,
/// merge keys (<c>&lt;&lt;</c>) are applied, duplicate keys are refused, and a document whose aliases would
/// expand past <c>maxNodes</c> (the "billion laughs" bomb), past <see cref="MaxExpandedChars"/> of text, or deeper
/// than <see cref="MaxDepth"/> levels is refused before anything walks it. Every consumer of the tree recurses, so
/// the depth limit is what keeps a 5 KB file of nested mappings from overflowing a request thread's stack.
/// </summary>
public static class YamlReader
{
    /// <summary>Levels of nesting, aliases expanded; a Compose file needs about 8 (services.web.deploy.resources.limits.memory is 6).</summary>
    public const int MaxDepth = 64;

    /// <summary>Characters of keys and scalars a file may expand to through aliases: 4× the largest file the import takes.</summary>
    public const long MaxExpandedChars = 2 * 1024 * 1024;

    public static YNode? Read(string fileName, string text, long maxNodes)
    {
        var parser = new Parser(new StringReader(text));
        var anchors = new Dictionary<string, YNode>(StringComparer.Ordinal);
        try
        {
            parser.Consume<StreamStart>();
            if (parser.TryConsume<StreamEnd>(out _))
                return null;
            parser.Consume<DocumentStart>();
            var root = ReadNode(parser, anchors, fileName, maxNodes, depth: 1);
            parser.Consume<DocumentEnd>();
            if (!parser.TryConsume<StreamEnd>(out _))
                throw new ComposeException($"{fileName}: holds more than one YAML document; a Compose file is one document");
            return root;
        }
        catch (YamlException e)
        {
            var reason = e.InnerException?.Message ?? e.Message;
            // YamlDotNet's messages repeat the position; keep the reason.
            var cut = reason.IndexOf("): ", StringComparison.Ordinal);
            if (reason.StartsWith('(') && cut > 0)
                reason = reason[(cut + 3)..];
            throw new ComposeException($"{fileName} line {e.Start.Line}, column {e.Start.Column}: {reason}");
        }
        catch (ArgumentException e) when (e.Source == typeof(Parser).Assembly.GetName().Name)
        {
            // YamlDotNet's parser refuses some tags this way ("Global tags must be valid URIs").
            var at = parser.Current?.End;
            throw new ComposeException($"{fileName} line {at?.Line ?? 1}, column {at?.Column ?? 1}: malformed YAML after this point: {e.Message.Split(" (Parameter", 2)[0]}");
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's parser gives up this way on some unclosed flow collections; the last event read is the best position we have.
            var at = parser.Current?.End;
            throw new ComposeException($"{fileName} line {at?.Line ?? 1}, column {at?.Column ?? 1}: malformed YAML after this point (is a '{{' or '[' left open?)");
        }
    }

    private static YNode ReadNode(IParser parser, Dictionary<string, YNode> anchors, string file, long maxNodes, int depth)
    {
        if (depth > MaxDepth)
            throw TooDeep(file, parser.Current?.Start.Line ?? 0);
        YNode node;
        string? anchor = null;
        switch (parser.Current)
        {
            case AnchorAlias alias:
                parser.MoveNext();
                if (!anchors.TryGetValue(alias.Value.Value, out var target))
                    throw new ComposeException($"{file} line {alias.Start.Line}, column {alias.Start.Column}: alias *{alias.Value.Value} has no anchor before it");
                // An alias grafts its anchor's whole subtree here: deep anchors used deep down nest deeper than the text shows.
                if (depth - 1 + target.Height > MaxDepth)
                    throw TooDeep(file, alias.Start.Line);
                return target;
            case Scalar scalar:
                parser.MoveNext();
                anchor = scalar.Anchor.IsEmpty ? null : scalar.Anchor.Value;
                node = new YScalar(scalar.Value, scalar.Style == ScalarStyle.Plain, (int)scalar.Start.Line, (int)scalar.Start.Column);
                break;
            case SequenceStart start:
            {
                parser.MoveNext();
                anchor = start.Anchor.IsEmpty ? null : start.Anchor.Value;
                var items = new List<YNode>();
                while (!parser.TryConsume<SequenceEnd>(out _))
                    items.Add(ReadNode(parser, anchors, file, maxNodes, depth + 1));
                node = new YSeq(items, (int)start.Start.Line, (int)start.Start.Column);
                break;
            }

            case MappingStart start:
                parser.MoveNext();
                anchor = start.Anchor.IsEmpty ? null : start.Anchor.Value;
                node = ReadMapping(parser, anchors, file, maxNodes, start, depth);
                break;
            default:
                throw new ComposeException($"{file}: unexpected YAML event {parser.Current?.GetType().Name}");
        }

        if (node.ExpandedSize > maxNodes)
        {
            throw new ComposeException(
                $"{file} line {node.Line}: its aliases expand to more than {maxNodes:N0} nodes — refused as a YAML bomb (\"billion laughs\")");
        }

        if (depth - 1 + node.Height > MaxDepth)
            throw TooDeep(file, node.Line); // merge keys graft subtrees too

        if (node.ExpandedChars > MaxExpandedChars)
        {
            throw new ComposeException(
                $"{file} line {node.Line}: its aliases expand to more than {MaxExpandedChars / 1024 / 1024} Mi characters of text — refused as a YAML bomb");
        }

        if (anchor is not null)
            anchors[anchor] = node;
        return node;
    }

    private static YMap ReadMapping(IParser parser, Dictionary<string, YNode> anchors, string file, long maxNodes, MappingStart start, int depth)
    {
        var entries = new List<KeyValuePair<string, YNode>>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var merges = new List<YMap>();
        while (!parser.TryConsume<MappingEnd>(out _))
        {
            var keyNode = ReadNode(parser, anchors, file, maxNodes, depth + 1);
            if (keyNode is not YScalar key)
                throw new ComposeException($"{file} line {keyNode.Line}, column {keyNode.Column}: a mapping key must be a plain value, not {keyNode.Kind}");
            var value = ReadNode(parser, anchors, file, maxNodes, depth + 1);
            if (key.Plain && key.Value == "<<")
            {
                switch (value)
                {
                    case YMap map:
                        merges.Add(map);
                        break;
                    case YSeq seq when seq.Items.All(i => i is YMap):
                        merges.AddRange(seq.Items.Cast<YMap>());
                        break;
                    default:
                        throw new ComposeException($"{file} line {key.Line}, column {key.Column}: a merge key (<<) takes a mapping or a list of mappings, not {value.Kind}");
                }

                continue;
            }

            if (!seen.Add(key.Value))
                throw new ComposeException($"{file} line {key.Line}, column {key.Column}: duplicate key '{key.Value}'");
            entries.Add(new(key.Value, value));
        }

        // Explicit keys win over merged ones; among merged mappings the first listed wins (YAML merge key spec).
        foreach (var merged in merges)
        {
            foreach (var entry in merged.Entries)
            {
                if (seen.Add(entry.Key))
                    entries.Add(entry);
            }
        }

        return new YMap(entries, (int)start.Start.Line, (int)start.Start.Column);
    }

    private static ComposeException TooDeep(string file, long line) =>
        new($"{file} line {line}: nested more than {MaxDepth} levels deep (aliases expanded) — refused; a Compose file needs fewer than ten");
}
