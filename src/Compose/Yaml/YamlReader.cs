using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace DeployDeck.Compose.Yaml;

/// <summary>
/// Builds a <see cref="YNode"/> tree from YamlDotNet's parser events: aliases point at their anchor's node,
/// merge keys (<c>&lt;&lt;</c>) are applied, duplicate keys are refused, and a document whose aliases would
/// expand past <c>maxNodes</c> (the "billion laughs" bomb) is refused before anything walks it.
/// </summary>
public static class YamlReader
{
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
            var root = ReadNode(parser, anchors, fileName, maxNodes);
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
        catch (InvalidOperationException)
        {
            // YamlDotNet's parser gives up this way on some unclosed flow collections; the last event read is the best position we have.
            var at = parser.Current?.End;
            throw new ComposeException($"{fileName} line {at?.Line ?? 1}, column {at?.Column ?? 1}: malformed YAML after this point (is a '{{' or '[' left open?)");
        }
    }

    private static YNode ReadNode(IParser parser, Dictionary<string, YNode> anchors, string file, long maxNodes)
    {
        YNode node;
        string? anchor = null;
        switch (parser.Current)
        {
            case AnchorAlias alias:
                parser.MoveNext();
                return anchors.TryGetValue(alias.Value.Value, out var target)
                    ? target
                    : throw new ComposeException($"{file} line {alias.Start.Line}, column {alias.Start.Column}: alias *{alias.Value.Value} has no anchor before it");
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
                    items.Add(ReadNode(parser, anchors, file, maxNodes));
                node = new YSeq(items, (int)start.Start.Line, (int)start.Start.Column);
                break;
            }

            case MappingStart start:
                parser.MoveNext();
                anchor = start.Anchor.IsEmpty ? null : start.Anchor.Value;
                node = ReadMapping(parser, anchors, file, maxNodes, start);
                break;
            default:
                throw new ComposeException($"{file}: unexpected YAML event {parser.Current?.GetType().Name}");
        }

        if (node.ExpandedSize > maxNodes)
        {
            throw new ComposeException(
                $"{file} line {node.Line}: its aliases expand to more than {maxNodes:N0} nodes — refused as a YAML bomb (\"billion laughs\")");
        }

        if (anchor is not null)
            anchors[anchor] = node;
        return node;
    }

    private static YMap ReadMapping(IParser parser, Dictionary<string, YNode> anchors, string file, long maxNodes, MappingStart start)
    {
        var entries = new List<KeyValuePair<string, YNode>>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var merges = new List<YMap>();
        while (!parser.TryConsume<MappingEnd>(out _))
        {
            var keyNode = ReadNode(parser, anchors, file, maxNodes);
            if (keyNode is not YScalar key)
                throw new ComposeException($"{file} line {keyNode.Line}, column {keyNode.Column}: a mapping key must be a plain value, not {keyNode.Kind}");
            var value = ReadNode(parser, anchors, file, maxNodes);
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
}
