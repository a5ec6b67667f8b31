using System.Globalization;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace DeployDeck.Compose;

/// <summary>
/// The plan's limits, reservations, restart policies and health checks as a Compose override file, to apply with
/// <c>docker compose -f docker-compose.yml -f docker-compose.deploydeck.yml up -d</c>. Limits are written both as
/// <c>mem_limit</c>/<c>cpus</c> and as <c>deploy.resources</c> with equal values, so Compose v1 and v2 apply the same.
/// </summary>
public static class ComposeExport
{
    public static string Override(PlanSpec plan, string header)
    {
        var services = new YamlMappingNode();
        foreach (var service in plan.AllServices)
            services.Add(service.Name, Service(service));

        var root = new YamlMappingNode { { "services", services } };
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        foreach (var line in header.ReplaceLineEndings("\n").Split('\n'))
            writer.WriteLine("# " + line);
        new YamlStream(new YamlDocument(root)).Save(writer, assignAnchors: false);
        var text = writer.ToString();
        // YamlStream ends documents with "...": valid YAML, but unusual in a Compose file.
        return text.EndsWith("...\n", StringComparison.Ordinal) ? text[..^4] : text;
    }

    private static YamlMappingNode Service(ServiceSpec s)
    {
        var node = new YamlMappingNode();
        var r = s.Resources;
        if (r.MemoryLimit is { } limit)
            node.Add("mem_limit", limit.ToCompose());
        if (r.MemoryReservation is { } reservation)
            node.Add("mem_reservation", reservation.ToCompose());
        if (r.MemorySwapLimit is { } swap)
            node.Add("memswap_limit", swap.ToCompose());
        if (r.Cpus is { } cpus)
            node.Add("cpus", Plain(cpus.ToString()));

        node.Add("restart", Quoted(s.Restart.ToString()));

        if (s.HealthCheck is { } hc)
        {
            var health = new YamlMappingNode();
            if (hc.Test is ["NONE", ..])
            {
                health.Add("disable", Plain("true"));
            }
            else
            {
                health.Add("test", new YamlSequenceNode(hc.Test.Select(t => (YamlNode)Quoted(t))) { Style = YamlDotNet.Core.Events.SequenceStyle.Flow });
                health.Add("interval", Durations.Format(hc.Interval));
                health.Add("timeout", Durations.Format(hc.Timeout));
                health.Add("retries", Plain(hc.Retries.ToString(CultureInfo.InvariantCulture)));
                if (hc.StartPeriod > TimeSpan.Zero)
                    health.Add("start_period", Durations.Format(hc.StartPeriod));
            }

            node.Add("healthcheck", health);
        }

        var limits = new YamlMappingNode();
        if (r.MemoryLimit is { } l)
            limits.Add("memory", l.ToCompose());
        if (r.Cpus is { } c)
            limits.Add("cpus", Quoted(c.ToString()));
        var reservations = new YamlMappingNode();
        if (r.MemoryReservation is { } m)
            reservations.Add("memory", m.ToCompose());
        if (limits.Children.Count + reservations.Children.Count > 0)
        {
            var resources = new YamlMappingNode();
            if (limits.Children.Count > 0)
                resources.Add("limits", limits);
            if (reservations.Children.Count > 0)
                resources.Add("reservations", reservations);
            node.Add("deploy", new YamlMappingNode { { "resources", resources } });
        }

        return node;
    }

    private static YamlScalarNode Plain(string value) => new(value) { Style = ScalarStyle.Plain };

    private static YamlScalarNode Quoted(string value) => new(value) { Style = ScalarStyle.DoubleQuoted };
}
