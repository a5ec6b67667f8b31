using DeployDeck.Domain.Plans;
using DeployDeck.Tests.Shared;
using Npgsql;

namespace DeployDeck.Integration.Tests.History;

/// <summary>
/// 10 000 finished rollouts written straight to PostgreSQL, spread by formula over three hosts, two plans, seven users
/// and ~208 days, so a test can compute what any filter must return without asking the database.
/// </summary>
public sealed class HistorySeed
{
    public const int Count = 10_000;
    public static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    public static readonly string[] States = ["Succeeded", "Succeeded", "Succeeded", "Succeeded", "Succeeded", "Succeeded", "Failed", "Failed", "RolledBack", "Aborted"];
    public const string SecretError = "connect failed: Host=db;Password=hunter2-seeded";

    public required Guid[] Hosts { get; init; }

    public required Guid[] Plans { get; init; }

    public sealed record Row(int I, Guid Host, Guid Plan, string State, string StartedBy, DateTimeOffset CreatedAt);

    public IEnumerable<Row> Rows => Enumerable.Range(1, Count).Select(i =>
        new Row(i, Hosts[i % 3], Plans[i % 2], States[i % 10], $"user{i % 7}", Start.AddMinutes(30 * i)));

    public static async Task<HistorySeed> SeedAsync(DeployDeckApp app)
    {
        var local = await app.HostIdAsync();
        Guid[] hosts = [local, Guid.NewGuid(), Guid.NewGuid()];
        var demo = await app.QueryScalarAsync<Guid>("SELECT \"Id\" FROM plans WHERE \"Name\" = 'demo'");
        var other = await app.SeedPlanAsync("history-b", new PlanSpec([new PhaseSpec { Name = "core", Services = [new ServiceSpec { Name = "web", Image = "deploydeck/probe:latest" }] }]));
        Guid[] plans = [demo, other];

        await using var connection = new NpgsqlConnection(app.ConnectionString);
        await connection.OpenAsync();
        await using (var insertHosts = new NpgsqlCommand("""
            INSERT INTO hosts ("Id", "Name", "Endpoint", "CreatedAt") VALUES (@h1, 'history-h1', 'tcp://10.0.0.1:2375', now()), (@h2, 'history-h2', 'tcp://10.0.0.2:2375', now())
            """, connection))
        {
            insertHosts.Parameters.AddWithValue("h1", hosts[1]);
            insertHosts.Parameters.AddWithValue("h2", hosts[2]);
            await insertHosts.ExecuteNonQueryAsync();
        }

        await using (var insert = new NpgsqlCommand("""
            INSERT INTO rollouts ("Id", "PlanId", "PlanRevisionId", "HostId", "State", "CurrentPhase", "StartedBy", "CreatedAt", "StartedAt", "FinishedAt", "Error")
            SELECT gen_random_uuid(),
                   (@plans)[i % 2 + 1],
                   (SELECT r."Id" FROM plan_revisions r WHERE r."PlanId" = (@plans)[i % 2 + 1] ORDER BY r."Number" DESC LIMIT 1),
                   (@hosts)[i % 3 + 1],
                   (@states)[i % 10 + 1],
                   0,
                   'user' || (i % 7),
                   @start + i * interval '30 minutes',
                   @start + i * interval '30 minutes' + interval '5 seconds',
                   @start + i * interval '30 minutes' + (60 + i % 120) * interval '1 second',
                   CASE WHEN i = 42 THEN @secret WHEN (@states)[i % 10 + 1] = 'Failed' THEN 'gate failed' END
            FROM generate_series(1, @count) AS i
            """, connection))
        {
            insert.Parameters.AddWithValue("plans", plans);
            insert.Parameters.AddWithValue("hosts", hosts);
            insert.Parameters.AddWithValue("states", States);
            insert.Parameters.AddWithValue("start", Start);
            insert.Parameters.AddWithValue("secret", SecretError);
            insert.Parameters.AddWithValue("count", Count);
            await insert.ExecuteNonQueryAsync();
        }

        await using (var analyze = new NpgsqlCommand("ANALYZE rollouts", connection))
            await analyze.ExecuteNonQueryAsync();
        return new HistorySeed { Hosts = hosts, Plans = plans };
    }
}
