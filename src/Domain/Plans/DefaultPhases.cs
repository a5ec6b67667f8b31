using DeployDeck.Domain.Units;

namespace DeployDeck.Domain.Plans;

/// <summary>A service waiting for a phase: <paramref name="Phase"/> is the one its file names, if any.</summary>
public sealed record PhaseCandidate(ServiceSpec Service, string? Phase);

/// <summary>
/// The five stages of the runbook (core, business, analytics, advanced, observability) and the rule that puts
/// each imported service in one, in this order of precedence:
/// <list type="number">
/// <item>the phase the file names (<c>deploydeck.phase</c> label or <c>x-deploydeck.phase</c>);</item>
/// <item>a well-known image: databases, caches, brokers and gateways → core; metrics, logs and tracing → observability;</item>
/// <item>a keyword of the service name (the runbook's examples: <c>auth</c> → business, <c>etl</c> → analytics …; the latest phase wins);</item>
/// <item>otherwise its dependency depth: one phase after the latest phase it depends on, business at the earliest, advanced at the latest.</item>
/// </list>
/// A service never depends on one in a later phase: an assigned dependency moves up to its dependent's phase,
/// an assigned dependent moves down to its dependency's; when both were named in the file the import is refused.
/// </summary>
public static class DefaultPhases
{
    public const string Core = "core";
    public const string Business = "business";
    public const string Analytics = "analytics";
    public const string Advanced = "advanced";
    public const string Observability = "observability";

    public static readonly IReadOnlyList<PhaseSpec> Templates =
    [
        new() { Name = Core, Risk = RiskLevel.Low, Soak = TimeSpan.FromMinutes(10) },
        new() { Name = Business, Risk = RiskLevel.Medium, Soak = TimeSpan.FromMinutes(15) },
        new() { Name = Analytics, Risk = RiskLevel.Medium, Soak = TimeSpan.FromMinutes(20) },
        new() { Name = Advanced, Risk = RiskLevel.High, Soak = TimeSpan.FromMinutes(30) },
        new() { Name = Observability, Risk = RiskLevel.Low, Soak = TimeSpan.FromMinutes(60) },
    ];

    private static readonly HashSet<string> CoreImages = new(StringComparer.Ordinal)
    {
        "postgres", "postgis", "timescaledb", "pgbouncer", "mysql", "mariadb", "percona-server", "mongo", "mongodb", "redis", "redis-stack",
        "valkey", "keydb", "dragonfly", "memcached", "couchdb", "cassandra", "scylla", "neo4j", "cockroach", "mssql", "rabbitmq",
        "kafka", "zookeeper", "nats", "activemq", "etcd", "consul", "nginx", "openresty", "traefik", "caddy", "haproxy", "envoy", "kong", "varnish",
    };

    private static readonly HashSet<string> ObservabilityImages = new(StringComparer.Ordinal)
    {
        "prometheus", "grafana", "loki", "promtail", "alloy", "elasticsearch", "opensearch", "kibana", "opensearch-dashboards", "logstash", "fluentd",
        "fluent-bit", "filebeat", "metricbeat", "cadvisor", "alertmanager", "pushgateway", "jaeger", "all-in-one", "tempo", "zipkin", "mimir",
        "victoria-metrics", "vector", "otel-collector", "opentelemetry-collector", "opentelemetry-collector-contrib", "netdata", "uptime-kuma",
    };

    /// <summary>The runbook's examples of each stage, matched against the words of a service name.</summary>
    private static readonly Dictionary<string, string> NameKeywords = new(StringComparer.Ordinal)
    {
        ["db"] = Core, ["database"] = Core, ["cache"] = Core, ["api"] = Core, ["web"] = Core, ["www"] = Core, ["frontend"] = Core,
        ["gateway"] = Core, ["proxy"] = Core, ["lb"] = Core,
        ["auth"] = Business, ["config"] = Business, ["policy"] = Business, ["dashboard"] = Business, ["monitoring"] = Business,
        ["admin"] = Business, ["billing"] = Business, ["accounts"] = Business,
        ["etl"] = Analytics, ["analytics"] = Analytics, ["search"] = Analytics, ["data"] = Analytics, ["reporting"] = Analytics,
        ["reports"] = Analytics, ["plots"] = Analytics, ["files"] = Analytics, ["scraper"] = Analytics, ["ingest"] = Analytics,
        ["workflow"] = Advanced, ["integrations"] = Advanced, ["integration"] = Advanced, ["notifications"] = Advanced,
        ["notifier"] = Advanced, ["users"] = Advanced, ["mobile"] = Advanced, ["legacy"] = Advanced, ["worker"] = Advanced,
        ["workers"] = Advanced, ["runner"] = Advanced, ["scheduler"] = Advanced, ["cron"] = Advanced, ["jobs"] = Advanced,
    };

    /// <summary>The repository name of an image: "docker.elastic.co/elasticsearch/elasticsearch:8.14" → "elasticsearch".</summary>
    public static string ImageName(string image)
    {
        var name = image;
        var at = name.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
            name = name[..at];
        var slash = name.LastIndexOf('/');
        var colon = name.LastIndexOf(':');
        if (colon > slash)
            name = name[..colon];
        return name[(slash + 1)..].ToLowerInvariant();
    }

    /// <summary>The phase an image alone decides, or null.</summary>
    public static string? ByImage(string image)
    {
        var name = ImageName(image);
        if (CoreImages.Contains(name) || image.Contains("mssql", StringComparison.OrdinalIgnoreCase))
            return Core;
        if (ObservabilityImages.Contains(name) || name.EndsWith("-exporter", StringComparison.Ordinal) || name.EndsWith("_exporter", StringComparison.Ordinal)
            || image.Contains("jaegertracing", StringComparison.OrdinalIgnoreCase))
            return Observability;
        return null;
    }

    /// <summary>The phase the words of a service name decide, or null.</summary>
    public static string? ByName(string service)
    {
        string? best = null;
        foreach (var word in service.ToLowerInvariant().Split('-', '_', '.'))
        {
            if (NameKeywords.TryGetValue(word, out var phase) && (best is null || Index(phase) > Index(best)))
                best = phase;
        }

        return best;
    }

    private static int Index(string phase) => Templates.Select(t => t.Name).ToList().IndexOf(phase);

    public static (PlanSpec Plan, IReadOnlyList<PlanIssue> Issues) Assign(IReadOnlyList<PhaseCandidate> candidates, MemorySize? stackBudget = null)
    {
        var issues = new List<PlanIssue>();
        var order = Templates.Select(t => t.Name).ToList();
        foreach (var custom in candidates.Select(c => c.Phase).OfType<string>().Where(p => !order.Contains(p)).Distinct(StringComparer.Ordinal))
            order.Insert(order.Count - 1, custom);

        var byName = candidates.GroupBy(c => c.Service.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var phase = new Dictionary<string, int>(StringComparer.Ordinal);
        var named = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in candidates)
        {
            if (c.Phase is not null)
            {
                phase[c.Service.Name] = order.IndexOf(c.Phase);
                named.Add(c.Service.Name);
            }
            else if ((ByImage(c.Service.Image) ?? ByName(c.Service.Name)) is { } p)
            {
                phase[c.Service.Name] = order.IndexOf(p);
            }
        }

        // Dependency depth for the rest, in dependency order; a cycle is reported by validation, here it just stops.
        var visiting = new HashSet<string>(StringComparer.Ordinal);
        int Depth(string name)
        {
            if (phase.TryGetValue(name, out var known))
                return known;
            if (!byName.TryGetValue(name, out var c) || !visiting.Add(name))
                return order.IndexOf(Business);
            var after = c.Service.DependsOn.Select(d => byName.ContainsKey(d.Service) ? Depth(d.Service) + 1 : 0).DefaultIfEmpty(0).Max();
            var result = Math.Clamp(after, order.IndexOf(Business), order.IndexOf(Advanced));
            phase[name] = result;
            return result;
        }

        foreach (var c in candidates)
            Depth(c.Service.Name);

        // No dependency on a later phase: move whichever side was assigned by rule, until nothing moves.
        for (var pass = 0; pass <= candidates.Count; pass++)
        {
            var moved = false;
            foreach (var c in candidates)
            {
                foreach (var dep in c.Service.DependsOn.Where(d => phase.ContainsKey(d.Service)))
                {
                    var from = phase[c.Service.Name];
                    var to = phase[dep.Service];
                    if (to <= from)
                        continue;
                    if (!named.Contains(dep.Service))
                    {
                        phase[dep.Service] = from;
                        issues.Add(new(Severity.Warning, $"moved '{dep.Service}' from {order[to]} to {order[from]}: '{c.Service.Name}' ({order[from]}) depends on it", order[from], dep.Service));
                    }
                    else if (!named.Contains(c.Service.Name))
                    {
                        phase[c.Service.Name] = to;
                        issues.Add(new(Severity.Warning, $"moved '{c.Service.Name}' from {order[from]} to {order[to]}: it depends on '{dep.Service}' ({order[to]})", order[to], c.Service.Name));
                    }
                    else
                    {
                        issues.Add(new(Severity.Error, $"is in phase {order[from]} but depends on '{dep.Service}' in the later phase {order[to]}; both phases are set in the file — move one of them", order[from], c.Service.Name));
                        continue;
                    }

                    moved = true;
                }
            }

            if (!moved || issues.Any(i => i.Severity == Severity.Error))
                break;
        }

        var phases = order.Select((name, i) =>
            {
                var template = Templates.FirstOrDefault(t => t.Name == name) ?? new PhaseSpec { Name = name, Risk = RiskLevel.Medium };
                return template with { Services = candidates.Where(c => phase[c.Service.Name] == i).Select(c => c.Service).ToList() };
            })
            .Where(p => p.Services.Count > 0)
            .ToList();
        return (new PlanSpec(phases, stackBudget), issues);
    }
}
