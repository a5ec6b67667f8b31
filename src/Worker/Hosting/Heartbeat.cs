using Microsoft.Extensions.Options;

namespace DeployDeck.Worker.Hosting;

/// <summary>Touches a file every 10 s so a container health check can tell a live Worker from a hung one.</summary>
public sealed class Heartbeat(IOptions<WorkerOptions> options, TimeProvider time, ILogger<Heartbeat> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var path = options.Value.HeartbeatFile;
        if (string.IsNullOrEmpty(path))
            return;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(10), time);
        do
        {
            try
            {
                await File.WriteAllTextAsync(path, time.GetUtcNow().ToString("O"), stoppingToken);
            }
            catch (IOException ex)
            {
                logger.LogWarning("Cannot write the heartbeat file {Path}: {Reason}", path, ex.Message);
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
