using DeployDeck.Domain.Monitoring;
using DeployDeck.Infrastructure.Engine;
using DeployDeck.Infrastructure.Live;
using DeployDeck.Infrastructure.Monitoring;
using DeployDeck.Worker.Live;
using Microsoft.Extensions.Options;

namespace DeployDeck.Worker.Monitoring;

/// <summary>
/// Samples the host and every managed container each <see cref="MonitoringOptions.Interval"/>, sends one batched message
/// per host per tick to the Web hub and hands the tick to the per-phase usage record. A tick that overruns the interval
/// skips the next one (no pile-up); a tick that fails is logged and the loop goes on.
/// </summary>
public sealed class StatsSampler(
    StatsCollector collector, ILivePublisher live, UsageStore usage, IOptions<MonitoringOptions> options, IOptions<DockerOptions> docker,
    ILogger<StatsSampler> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        logger.LogInformation("Sampling every {Interval} from {Source}", o.Interval, collector.Source);
        using var timer = new PeriodicTimer(o.Interval);
        var failing = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await TickAsync(o, stoppingToken);
                if (failing)
                    logger.LogInformation("Sampling works again");
                failing = false;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                if (!failing)
                    logger.LogWarning("Sampling failed ({Reason}); retrying every tick", ex.Message);
                failing = true;
            }

            try
            {
                await timer.WaitForNextTickAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task TickAsync(MonitoringOptions o, CancellationToken stoppingToken)
    {
        // A whole tick is bounded too: list, inspects and stats calls each have their own time-out, this caps the sum.
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        cts.CancelAfter(o.StatsTimeout * 2 + o.Interval);
        var sample = await collector.SampleAsync(cts.Token);
        usage.Add(new StatsTick(sample.At, sample.Host, sample.Containers));
        await live.PublishAsync(new HostStatsMessage(
            docker.Value.Endpoint, usage.HostIds, sample.At, sample.Source, sample.Took.TotalMilliseconds, sample.Host, sample.Containers), stoppingToken);
    }
}
