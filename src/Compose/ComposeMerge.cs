using DeployDeck.Compose.Yaml;

namespace DeployDeck.Compose;

/// <summary>
/// How a later Compose file changes a service of an earlier one (<c>docker compose -f a -f b</c>): mappings
/// merge key by key, volumes by container path, some lists by union, everything else is replaced.
/// </summary>
internal static class ComposeMerge
{
    private static readonly string[] MappingFields = ["environment", "labels", "ulimits", "depends_on", "extra_hosts", "sysctls", "storage_opt", "networks"];

    private static readonly string[] UnionFields = ["cap_add", "cap_drop", "expose", "external_links", "volumes_from", "device_cgroup_rules", "profiles", "dns", "dns_search", "env_file", "tmpfs", "ports", "secrets", "configs", "links", "security_opt"];

    public static YMap MergeService(YMap @base, YMap over)
    {
        var result = new List<KeyValuePair<string, YNode>>();
        foreach (var key in @base.Keys.Concat(over.Keys.Where(k => !@base.Has(k))))
        {
            var b = @base[key];
            var o = over[key];
            if (b is null || o is null)
            {
                result.Add(new(key, (o ?? b)!));
                continue;
            }

            YNode merged = key switch
            {
                _ when MappingFields.Contains(key) => MergeMaps(AsMap(b, key), AsMap(o, key)),
                _ when UnionFields.Contains(key) => Union(b, o),
                "volumes" or "devices" => MergeByTarget(b, o),
                "healthcheck" when o is YMap om && om["disable"] is YScalar { Value: "true" or "yes" } => o,
                "healthcheck" or "logging" => b is YMap bm && o is YMap om2 ? MergeMaps(bm, om2) : o,
                "build" => MergeMaps(BuildMap(b), BuildMap(o)),
                "deploy" => DeepMerge(b, o),
                _ => o,
            };
            result.Add(new(key, merged));
        }

        return new YMap(result, @base.Line, @base.Column);
    }

    /// <summary>Top-level networks, volumes, configs and secrets of a later file: merged by name, each declaration deeply.</summary>
    public static YMap MergeDeclarations(YMap b, YMap o) => (YMap)DeepMerge(b, o);

    public static YMap MergeMaps(YMap b, YMap o)
    {
        var entries = b.Entries.Where(e => !o.Has(e.Key)).Concat(o.Entries).ToList();
        return new YMap(entries, b.Line, b.Column);
    }

    private static YNode DeepMerge(YNode b, YNode o)
    {
        if (b is not YMap bm || o is not YMap om)
            return o;
        var entries = new List<KeyValuePair<string, YNode>>();
        foreach (var key in bm.Keys.Concat(om.Keys.Where(k => !bm.Has(k))))
        {
            var bv = bm[key];
            var ov = om[key];
            entries.Add(new(key, bv is null ? ov! : ov is null ? bv : DeepMerge(bv, ov)));
        }

        return new YMap(entries, bm.Line, bm.Column);
    }

    /// <summary>Environment, labels, depends_on and networks may be lists; for merging they become mappings.</summary>
    public static YMap AsMap(YNode node, string field)
    {
        if (node is YMap map)
            return map;
        if (node is not YSeq seq)
            return node is YScalar { IsNull: true } ? YMap.Empty(node.Line, node.Column) : throw new ComposeException($"{field} must be a mapping or a list, not {node.Kind} (line {node.Line})");
        var entries = new List<KeyValuePair<string, YNode>>();
        foreach (var item in seq.Items)
        {
            if (item is not YScalar s)
                throw new ComposeException($"{field} entries must be plain values, not {item.Kind} (line {item.Line})");
            if (field is "depends_on" or "networks")
            {
                entries.Add(new(s.Value, YMap.Empty(s.Line, s.Column)));
                continue;
            }

            var eq = s.Value.IndexOf('=', StringComparison.Ordinal);
            entries.Add(eq < 0
                ? new(s.Value, field == "labels" ? new YScalar("", false, s.Line, s.Column) : new YScalar("", true, s.Line, s.Column))
                : new(s.Value[..eq], new YScalar(s.Value[(eq + 1)..], false, s.Line, s.Column)));
        }

        return new YMap(entries.GroupBy(e => e.Key).Select(g => g.Last()).ToList(), seq.Line, seq.Column);
    }

    private static YMap BuildMap(YNode node) => node switch
    {
        YMap m => m,
        YScalar s => new YMap([new("context", s)], s.Line, s.Column),
        _ => throw new ComposeException($"build must be a path or a mapping (line {node.Line})"),
    };

    private static YNode Union(YNode b, YNode o)
    {
        static IEnumerable<YNode> Items(YNode n) => n is YSeq s ? s.Items : [n];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var items = Items(b).Concat(Items(o)).Where(i => i is not YScalar s || seen.Add(s.Value)).ToList();
        return new YSeq(items, b.Line, b.Column);
    }

    private static YSeq MergeByTarget(YNode b, YNode o)
    {
        static IEnumerable<YNode> Items(YNode n) => n is YSeq s ? s.Items : [];
        var byTarget = new Dictionary<string, YNode>(StringComparer.Ordinal);
        foreach (var item in Items(b).Concat(Items(o)))
            byTarget[TargetOf(item)] = item;
        return new YSeq(byTarget.Values.ToList(), b.Line, b.Column);
    }

    private static string TargetOf(YNode item) => item switch
    {
        YMap m => (m["target"] as YScalar)?.Value ?? "",
        YScalar s => s.Value.Split(':') is { Length: > 1 } parts ? parts[1] : s.Value,
        _ => "",
    };
}
