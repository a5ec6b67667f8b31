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
        var key = Key(rolloutId);
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock($1)", connection) { Parameters = { new() { Value = key } } };
        if (await command.ExecuteScalarAsync(cancellationToken) is true)
            return new RolloutLock(connection, key);
        await connection.DisposeAsync();
        return null;
    }

    /// <summary>
    /// Waits for the lock that lets one pull at a time run on a host, whichever Worker drives the rollout: decompressing
    /// layers is CPU-bound, and two pulls at once on a 2-core host take it over.
    /// </summary>
    public static async Task<RolloutLock> PullsOnHostAsync(string connectionString, Guid hostId, CancellationToken cancellationToken)
    {
        var key = Key(hostId) ^ PullNamespace;
        var connection = new NpgsqlConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand("SELECT pg_advisory_lock($1)", connection) { Parameters = { new() { Value = key } } };
            await command.ExecuteNonQueryAsync(cancellationToken);
            return new RolloutLock(connection, key);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Keeps a host's pull lock apart from its rollouts' locks (both are keyed by a Guid's last 8 bytes).</summary>
    private const long PullNamespace = 0x70756c6c_00000000; // "pull"

    public static long Key(Guid rolloutId) => BitConverter.ToInt64(rolloutId.ToByteArray(), 8);

    /// <summary>
    /// The rollouts among <paramref name="rolloutIds"/> whose lock nobody holds: no Worker drives them now. The probe takes
    /// each free lock and gives it back at once, in one statement on one connection.
    /// </summary>
    public static async Task<IReadOnlyList<Guid>> UndrivenAsync(string connectionString, IReadOnlyList<Guid> rolloutIds, CancellationToken ct)
    {
        if (rolloutIds.Count == 0)
            return [];
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(
            "SELECT i FROM unnest($1::bigint[]) WITH ORDINALITY AS t(k, i) WHERE CASE WHEN pg_try_advisory_lock(k) THEN pg_advisory_unlock(k) ELSE false END", connection)
        {
            Parameters = { new() { Value = rolloutIds.Select(Key).ToArray() } },
        };
        var free = new List<Guid>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            free.Add(rolloutIds[(int)reader.GetInt64(0) - 1]);
        return free;
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
