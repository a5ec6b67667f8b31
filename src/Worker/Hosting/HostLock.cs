using Npgsql;

namespace DeployDeck.Worker.Hosting;

/// <summary>
/// A PostgreSQL advisory lock per host and kind of work (sampling), held on its own connection: of several Workers
/// exactly one does it, and a killed Worker's lock goes with its connection, so another takes over.
/// </summary>
public sealed class HostLock : IAsyncDisposable
{
    /// <summary>Lock spaces (the first key of the two-key advisory lock); rollouts use the one-key form.</summary>
    public const int Sampling = 19001;

    private readonly NpgsqlConnection _connection;

    private HostLock(NpgsqlConnection connection) => _connection = connection;

    /// <summary>Whether the lock's connection is still there: a lock whose connection broke is held by nobody.</summary>
    public bool Held => _connection.FullState == System.Data.ConnectionState.Open;

    public static async Task<HostLock?> TryAcquireAsync(string connectionString, int space, Guid hostId, CancellationToken ct)
    {
        // Its own connection, never pooled: the lock lives exactly as long as this connection.
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, KeepAlive = 10 }.ConnectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock($1, $2)", connection)
        {
            Parameters = { new() { Value = space }, new() { Value = BitConverter.ToInt32(hostId.ToByteArray(), 12) } },
        };
        if (await command.ExecuteScalarAsync(ct) is true)
            return new HostLock(connection);
        await connection.DisposeAsync();
        return null;
    }

    /// <summary>A cheap round trip: false when the lock's connection is gone (PostgreSQL restarted, network).</summary>
    public async Task<bool> StillHeldAsync(CancellationToken ct)
    {
        try
        {
            await using var command = new NpgsqlCommand("SELECT 1", _connection);
            await command.ExecuteScalarAsync(ct);
            return true;
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync() => await _connection.DisposeAsync(); // closing the session releases its advisory locks
}
