using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Live;
using DeployDeck.Web.Live;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Prometheus;

namespace DeployDeck.Web.Monitoring;

/// <summary>
/// What /metrics shows. Sampled host and container figures are set from each batch the Worker pushes (the latest one
/// wins; containers that disappear are removed). Rollouts, phases and gates come from PostgreSQL at scrape time, cached
/// for <see cref="MetricsOptions.DatabaseCacheFor"/> so a fast scraper cannot load the database.
/// </summary>
public sealed class DeployDeckMetrics
{
    private static readonly string[] HostLabels = ["host"];
    private static readonly string[] ContainerLabels = ["host", "container", "service", "phase"];

    private readonly CollectorRegistry _registry = Metrics.DefaultRegistry;
    private readonly IDbContextFactory<DeployDeckDbContext> _dbFactory;
    private readonly MetricsOptions _options;
    private readonly TimeProvider _clock;
    private readonly SemaphoreSlim _dbLock = new(1, 1);
    private readonly Dictionary<Guid, HashSet<string[]>> _containerSeries = [];
    private readonly Lock _seriesLock = new();
    private DateTimeOffset _dbReadAt = DateTimeOffset.MinValue;

    private readonly Gauge _hostMemoryUsed;
    private readonly Gauge _hostMemoryTotal;
    private readonly Gauge _hostDiskUsed;
    private readonly Gauge _hostDiskTotal;
    private readonly Gauge _hostLoad1;
    private readonly Gauge _containerMemory;
    private readonly Gauge _containerMemoryLimit;
    private readonly Gauge _containerCpu;
    private readonly Gauge _containerRestarts;
    private readonly Histogram _samplerDuration;
    private readonly Gauge _rollouts;
    private readonly Counter _phaseSeconds;
    private readonly Counter _phases;
    private readonly Counter _gates;

    public DeployDeckMetrics(HostStatsBroadcaster stats, IDbContextFactory<DeployDeckDbContext> dbFactory, IOptions<MetricsOptions> options, TimeProvider clock)
    {
        _dbFactory = dbFactory;
        _options = options.Value;
        _clock = clock;
        var f = Metrics.WithCustomRegistry(_registry);
        _hostMemoryUsed = f.CreateGauge("deploydeck_host_memory_used_bytes", "Host memory in use (MemTotal − MemAvailable), latest sample.", HostLabels);
        _hostMemoryTotal = f.CreateGauge("deploydeck_host_memory_total_bytes", "Host memory in total.", HostLabels);
        _hostDiskUsed = f.CreateGauge("deploydeck_host_disk_used_bytes", "Used bytes on the Docker data root's filesystem.", HostLabels);
        _hostDiskTotal = f.CreateGauge("deploydeck_host_disk_total_bytes", "Size of the Docker data root's filesystem.", HostLabels);
        _hostLoad1 = f.CreateGauge("deploydeck_host_load1", "1-minute load average.", HostLabels);
        _containerMemory = f.CreateGauge("deploydeck_container_memory_bytes", "Container memory without page cache (usage − inactive_file).", ContainerLabels);
        _containerMemoryLimit = f.CreateGauge("deploydeck_container_memory_limit_bytes", "Container memory limit (absent when none).", ContainerLabels);
        _containerCpu = f.CreateGauge("deploydeck_container_cpu_percent", "Container CPU, percent of one core, since the previous sample.", ContainerLabels);
        _containerRestarts = f.CreateGauge("deploydeck_container_restarts", "Restart count the engine reports for the container.", ContainerLabels);
        _samplerDuration = f.CreateHistogram("deploydeck_sampler_duration_seconds", "Wall time of one sampler tick in the Worker (host + every managed container).",
            new HistogramConfiguration { LabelNames = ["source"], Buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });
        _rollouts = f.CreateGauge("deploydeck_rollouts", "Rollouts by state.", ["state"]);
        _phaseSeconds = f.CreateCounter("deploydeck_phase_duration_seconds_total", "Summed duration of finished rollout phases.", ["phase", "state"]);
        _phases = f.CreateCounter("deploydeck_phases_finished_total", "Finished rollout phases.", ["phase", "state"]);
        _gates = f.CreateCounter("deploydeck_gate_results_total", "Gate results recorded by rollouts.", ["kind", "outcome"]);

        stats.Received += Observe;
        _registry.AddBeforeCollectCallback(ReadDatabaseAsync);
    }

    private void Observe(HostStatsMessage message)
    {
        _samplerDuration.WithLabels(message.Source).Observe(message.SampleMilliseconds / 1000);
        foreach (var hostId in message.HostIds)
        {
            var host = hostId.ToString();
            if (message.Host.MemoryUsedBytes is { } used)
                _hostMemoryUsed.WithLabels(host).Set(used);
            _hostMemoryTotal.WithLabels(host).Set(message.Host.MemoryTotalBytes);
            if (message.Host.DiskUsedBytes is { } diskUsed)
                _hostDiskUsed.WithLabels(host).Set(diskUsed);
            if (message.Host.DiskTotalBytes is { } diskTotal)
                _hostDiskTotal.WithLabels(host).Set(diskTotal);
            if (message.Host.Load1 is { } load)
                _hostLoad1.WithLabels(host).Set(load);

            var now = new HashSet<string[]>(LabelsComparer.Instance);
            foreach (var c in message.Containers)
            {
                string[] labels = [host, c.Name, c.Service ?? "", c.Phase ?? ""];
                now.Add(labels);
                if (c.MemoryBytes is { } memory)
                    _containerMemory.WithLabels(labels).Set(memory);
                if (c.MemoryLimitBytes is { } limit)
                    _containerMemoryLimit.WithLabels(labels).Set(limit);
                if (c.CpuPercent is { } cpu)
                    _containerCpu.WithLabels(labels).Set(cpu);
                _containerRestarts.WithLabels(labels).Set(c.RestartCount);
            }

            lock (_seriesLock)
            {
                if (_containerSeries.TryGetValue(hostId, out var before))
                {
                    foreach (var gone in before.Where(l => !now.Contains(l)))
                    {
                        _containerMemory.RemoveLabelled(gone);
                        _containerMemoryLimit.RemoveLabelled(gone);
                        _containerCpu.RemoveLabelled(gone);
                        _containerRestarts.RemoveLabelled(gone);
                    }
                }

                _containerSeries[hostId] = now;
            }
        }
    }

    private async Task ReadDatabaseAsync(CancellationToken cancellationToken)
    {
        if (_clock.GetUtcNow() - _dbReadAt < _options.DatabaseCacheFor)
            return;
        await _dbLock.WaitAsync(cancellationToken);
        try
        {
            if (_clock.GetUtcNow() - _dbReadAt < _options.DatabaseCacheFor)
                return;
            await using var db = await _dbFactory.CreateDbContextAsync(cancellationToken);
            var states = await db.Rollouts.GroupBy(r => r.State).Select(g => new { g.Key, Count = g.Count() }).ToListAsync(cancellationToken);
            foreach (var state in Enum.GetValues<Domain.Rollouts.RolloutState>())
                _rollouts.WithLabels(state.ToString()).Set(states.FirstOrDefault(s => s.Key == state)?.Count ?? 0);

            var phases = await db.Database.SqlQuery<PhaseTotal>($"""
                SELECT "Name", "State", count(*)::int AS "Count", coalesce(sum(extract(epoch FROM ("FinishedAt" - "StartedAt"))), 0)::float8 AS "Seconds"
                FROM rollout_phases WHERE "StartedAt" IS NOT NULL AND "FinishedAt" IS NOT NULL
                GROUP BY 1, 2
                """).ToListAsync(cancellationToken);
            foreach (var p in phases)
            {
                _phases.WithLabels(p.Name, p.State).IncTo(p.Count);
                _phaseSeconds.WithLabels(p.Name, p.State).IncTo(p.Seconds);
            }

            // The gate's kind is how its recorded description begins (GateSpec.ToString).
            var gates = await db.Database.SqlQuery<GateCount>($"""
                SELECT CASE WHEN "Message" LIKE 'GET %' THEN 'http' WHEN "Message" LIKE 'no log line%' THEN 'logs'
                            WHEN "Message" LIKE '`%' THEN 'exec' WHEN "Message" LIKE 'memory at most%' THEN 'memory' ELSE 'other' END AS "Kind",
                       CASE WHEN "Kind" = 'gate.passed' THEN 'passed' ELSE 'failed' END AS "Outcome",
                       count(*)::int AS "Count"
                FROM rollout_events WHERE "Kind" IN ('gate.passed', 'gate.failed')
                GROUP BY 1, 2
                """).ToListAsync(cancellationToken);
            foreach (var g in gates)
                _gates.WithLabels(g.Kind, g.Outcome).IncTo(g.Count);
            _dbReadAt = _clock.GetUtcNow();
        }
        finally
        {
            _dbLock.Release();
        }
    }

    private sealed class GateCount
    {
        public string Kind { get; set; } = "";

        public string Outcome { get; set; } = "";

        public int Count { get; set; }
    }

    private sealed class PhaseTotal
    {
        public string Name { get; set; } = "";

        public string State { get; set; } = "";

        public int Count { get; set; }

        public double Seconds { get; set; }
    }

    private sealed class LabelsComparer : IEqualityComparer<string[]>
    {
        public static readonly LabelsComparer Instance = new();

        public bool Equals(string[]? x, string[]? y) => x is not null && y is not null && x.AsSpan().SequenceEqual(y);

        public int GetHashCode(string[] obj)
        {
            var hash = new HashCode();
            foreach (var s in obj)
                hash.Add(s, StringComparer.Ordinal);
            return hash.ToHashCode();
        }
    }
}
