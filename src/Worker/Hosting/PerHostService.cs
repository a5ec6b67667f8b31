using System.Collections.Concurrent;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Engine;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Worker.Hosting;

/// <summary>
/// Runs one loop per host in service, each on the host's own engine and cancellation: a host added gets a loop within
/// <see cref="RefreshInterval"/>, a removed one loses it, a changed connection restarts it. A loop that fails is
/// restarted after a pause; one host's loop never waits for another's.
/// </summary>
public abstract class PerHostService(IDbContextFactory<DeployDeckDbContext> dbFactory, EngineConnections engines, TimeProvider time, ILogger logger) : BackgroundService
{
    private readonly ConcurrentDictionary<Guid, Running> _running = new();

    protected static TimeSpan RefreshInterval { get; } = TimeSpan.FromSeconds(10);

    protected TimeProvider Time => time;

    protected IDbContextFactory<DeployDeckDbContext> DbFactory => dbFactory;

    /// <summary>The host's work until <paramref name="ct"/> is cancelled; an exception restarts it after a pause.</summary>
    protected abstract Task RunHostAsync(DockerHost host, HostEngine engine, CancellationToken ct);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                List<DockerHost> hosts;
                await using (var db = await dbFactory.CreateDbContextAsync(stoppingToken))
                    hosts = await db.Hosts.AsNoTracking().InService().ToListAsync(stoppingToken);
                var ids = hosts.Select(h => h.Id).ToHashSet();
                foreach (var (id, running) in _running.Where(r => !ids.Contains(r.Key)).ToList())
                    await StopAsync(id, running);
                foreach (var host in hosts)
                {
                    if (_running.TryGetValue(host.Id, out var running))
                    {
                        if (running.Version == host.ConnectionVersion)
                            continue;
                        await StopAsync(host.Id, running);
                    }

                    var cts = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                    _running[host.Id] = new Running(host.ConnectionVersion, cts, Task.Run(() => LoopAsync(host, cts.Token), CancellationToken.None));
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Reading the hosts failed ({Reason}); trying again", ex.Message);
            }

            await Task.Delay(RefreshInterval, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        foreach (var (id, running) in _running.ToList())
            await StopAsync(id, running);
    }

    private async Task LoopAsync(DockerHost host, CancellationToken ct)
    {
        var pause = TimeSpan.FromSeconds(1);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await RunHostAsync(host, engines.For(host), ct);
                pause = TimeSpan.FromSeconds(1);
                await Task.Delay(pause, time, ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing); // a stream that ended: not in a tight loop
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogWarning("{Service} of host {Host} failed ({Reason}); again in {Pause}", GetType().Name, host.Name, ex.Message, pause);
                await Task.Delay(pause, time, ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                pause = TimeSpan.FromSeconds(Math.Min(30, pause.TotalSeconds * 2));
            }
        }
    }

    private async Task StopAsync(Guid id, Running running)
    {
        _running.TryRemove(id, out _);
        await running.Cancellation.CancelAsync();
        await running.Loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        running.Cancellation.Dispose();
    }

    private sealed record Running(int Version, CancellationTokenSource Cancellation, Task Loop);
}
