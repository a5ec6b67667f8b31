using Npgsql;

namespace DeployDeck.Worker.Rollouts;

/// <summary>
/// A PostgreSQL advisory lock per rollout, held on its own connection while a job drives it: two Workers
/// never drive one rollout at once, and a killed Worker's lock goes with its connection.
/// </summary>
public sealed class RolloutLock : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;
    private readonly long _key;

    private RolloutLock(NpgsqlConnection connection, long key)
    {
        _connection = connection;
        _key = key;
    }

    public static async Task<RolloutLock?> TryAcquireAsync(string connectionString, Guid rolloutId, CancellationToken cancellationToken)
    {
        var key = BitConverter.ToInt64(rolloutId.ToByteArray(), 8);
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock($1)", connection) { Parameters = { new() { Value = key } } };
        if (await command.ExecuteScalarAsync(cancellationToken) is true)
            return new RolloutLock(connection, key);
        await connection.DisposeAsync();
        return null;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await using var command = new NpgsqlCommand("SELECT pg_advisory_unlock($1)", _connection) { Parameters = { new() { Value = _key } } };
            await command.ExecuteScalarAsync();
        }
        finally
        {
            await _connection.DisposeAsync();
        }
    }
}
