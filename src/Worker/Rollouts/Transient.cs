using System.Net.Sockets;
using DeployDeck.Infrastructure.Data;
using Docker.DotNet;
using Npgsql;

namespace DeployDeck.Worker.Rollouts;

/// <summary>
/// Failures of a moment — the engine or PostgreSQL not answering (restarting, a dropped connection) — as opposed to a
/// decision (a refused container, a failed gate). A transient failure ends the drive; Hangfire's retry resumes it level-wise.
/// </summary>
public static class Transient
{
    public static bool Is(Exception ex) => ex switch
    {
        HttpRequestException or SocketException or IOException or TimeoutException => true,
        // PostgreSQL going or coming (a restart: 57P01–03 included) as the Web's 503 reads it.
        NpgsqlException => DatabaseOutage.Is(ex),
        Microsoft.EntityFrameworkCore.DbUpdateException { InnerException: { } inner } => Is(inner),
        InvalidOperationException { InnerException: { } inner } => Is(inner),
        // The engine is up but its daemon is restarting: 502–504 from a proxy, 503 "daemon not ready".
        DockerApiException api => (int)api.StatusCode is 502 or 503 or 504,
        // A request timed out by the adapter's own deadline (not the drive's cancellation, which the caller tells apart).
        TaskCanceledException { InnerException: TimeoutException } => true,
        AggregateException aggregate => aggregate.InnerExceptions.All(Is),
        Renci.SshNet.Common.SshConnectionException or Renci.SshNet.Common.SshOperationTimeoutException => true,
        _ => false,
    };

    /// <summary>A passing failure of the host's engine, not of PostgreSQL.</summary>
    public static bool IsEngine(Exception ex) => Is(ex) && ex is not (NpgsqlException or Microsoft.EntityFrameworkCore.DbUpdateException);
}
