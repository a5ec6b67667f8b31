using System.Collections.Concurrent;
using DeployDeck.Domain.Monitoring;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Engine;
using DeployDeck.Infrastructure.Live;
using DeployDeck.Infrastructure.Monitoring;
using DeployDeck.Worker.Hosting;
using DeployDeck.Worker.Live;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace DeployDeck.Worker.Monitoring;

/// <summary>The sampled containers of each host this Worker samples, so the engine's events can have a host listed again at once.</summary>
public sealed class SampledHosts
{
    private readonly ConcurrentDictionary<Guid, ManagedContainers> _hosts = new();

    public void Changed(Guid hostId)
    {
        if (_hosts.TryGetValue(hostId, out var containers))
            containers.Changed();
    }

    internal void Add(Guid hostId, ManagedContainers containers) => _hosts[hostId] = containers;

    internal void Remove(Guid hostId) => _hosts.TryRemove(hostId, out _);
}

/// <summary>
/// Samples every host and its managed containers each <see cref="MonitoringOptions.Interval"/>, one loop per host on the
/// host's own engine, sends one batched message per host per tick to the Web hub and hands the tick to the per-phase
/// usage record. Of several Workers one samples a host (an advisory lock per host; a killed Worker's host is taken over
/// within <see cref="PerHostService.RefreshInterval"/>). A tick that overruns skips the next one; a failing host is
/// marked offline, since when and why, and sampling goes on.
/// </summary>
public sealed class StatsSampler(
    IDbContextFactory<DeployDeckDbContext> dbFactory, EngineConnections engines, SampledHosts sampled, ILivePublisher live, UsageStore usage,
    IOptions<MonitoringOptions> options, IConfiguration configuration, TimeProvider time, ILoggerFactory loggers)
    : PerHostService(dbFactory, engines, time, loggers.CreateLogger<StatsSampler>())
{
    private static readonly TimeSpan SeenEvery = TimeSpan.FromSeconds(30);
    private readonly ILogger _logger = loggers.CreateLogger<StatsSampler>();

    protected override async Task RunHostAsync(DockerHost host, HostEngine engine, CancellationToken ct)
    {
        await using var held = await HostLock.TryAcquireAsync(DataServiceCollectionExtensions.RequireConnectionString(configuration), HostLock.Sampling, host.Id, ct);
        if (held is null)
        {
            await Task.Delay(RefreshInterval, Time, ct); // another Worker samples this host
            return;
        }

        var o = options.Value;
        var containers = new ManagedContainers(engine.Client, options, Time, loggers.CreateLogger<ManagedContainers>());
        using var collector = new StatsCollector(engine.Client, containers, engine.Inspector, options, Options.Create(new DockerOptions { Endpoint = engine.Connection.Endpoint.ToString() }),
            Time, loggers.CreateLogger<StatsCollector>());
        sampled.Add(host.Id, containers);
        _logger.LogInformation("Sampling host {Host} every {Interval} from {Source}", host.Name, o.Interval, collector.Source);
        try
        {
            using var timer = new PeriodicTimer(o.Interval, Time);
            var failing = false;
            var seenAt = DateTimeOffset.MinValue;
            var ticks = 0;
            while (!ct.IsCancellationRequested)
            {
                try
                {
                    await TickAsync(host, engine, collector, o, ct);
                    if (failing || Time.GetUtcNow() - seenAt >= SeenEvery)
                    {
                        await HostStatus.SeenAsync(DbFactory, host.Id, Time.GetUtcNow(), ct);
                        seenAt = Time.GetUtcNow();
                        if (failing)
                            _logger.LogInformation("Host {Host} answers again", host.Name);
                    }

                    failing = false;
                }
                catch (Exception ex) when (!ct.IsCancellationRequested)
                {
                    var reason = EngineProblem.Of(ex, ct)?.Reason ?? ex.Message;
                    if (!failing)
                    {
                        _logger.LogWarning("Sampling host {Host} failed ({Reason}); retrying every tick", host.Name, reason);
                        await HostStatus.UnreachableAsync(DbFactory, host.Id, Time.GetUtcNow(), reason, ct);
                    }

                    failing = true;
                }

                // The lock's connection may have gone (PostgreSQL restarted): then another Worker may sample this host now.
                if (++ticks % 30 == 0 && !await held.StillHeldAsync(ct))
                    return;
                await timer.WaitForNextTickAsync(ct);
            }
        }
        finally
        {
            sampled.Remove(host.Id);
        }
    }

    private async Task TickAsync(DockerHost host, HostEngine engine, StatsCollector collector, MonitoringOptions o, CancellationToken ct)
    {
        // A whole tick is bounded too: list, inspects and stats calls each have their own time-out, this caps the sum.
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(o.StatsTimeout * 2 + o.Interval);
        var sample = await collector.SampleAsync(cts.Token);
        usage.Add(new StatsTick(sample.At, sample.Host, sample.Containers, host.Id));
        await live.PublishAsync(new HostStatsMessage(
            engine.Connection.Endpoint.ToString(), [host.Id], sample.At, sample.Source, sample.Took.TotalMilliseconds, sample.Host, sample.Containers), ct);
    }
}
