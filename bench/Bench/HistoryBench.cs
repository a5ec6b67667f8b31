using System.Diagnostics;
using System.Globalization;
using DeployDeck.Domain.History;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Rollouts;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.History;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace DeployDeck.Bench;

/// <summary>
/// The history page query (total + one page, as GET /api/rollouts runs it, through EF Core) on a throwaway database
/// seeded with N rollouts, with the migrations' indexes and then — the baseline — with every secondary index of
/// rollouts dropped, so the same queries scan and sort the table.
/// </summary>
internal static class HistoryBench
{
    private static readonly string[] States = ["Succeeded", "Succeeded", "Succeeded", "Succeeded", "Succeeded", "Succeeded", "Failed", "Failed", "RolledBack", "Aborted"];

    public static async Task<int> RunAsync(string[] args)
    {
        var count = Option(args, "--rollouts", 10_000);
        var runs = Option(args, "--runs", 200);
        var admin = Environment.GetEnvironmentVariable("DEPLOYDECK_TEST_PG");
        if (string.IsNullOrEmpty(admin))
        {
            Console.Error.WriteLine("DEPLOYDECK_TEST_PG is not set: run ./deploydeck bench history, which starts PostgreSQL.");
            return 2;
        }

        var database = "dd_bench_" + Guid.NewGuid().ToString("N")[..10];
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{database}\"", connection);
            await create.ExecuteNonQueryAsync();
        }

        var connectionString = new NpgsqlConnectionStringBuilder(admin) { Database = database }.ConnectionString;
        var options = new DbContextOptionsBuilder<DeployDeckDbContext>().UseNpgsql(connectionString).Options;
        try
        {
            Guid[] hosts;
            await using (var db = new DeployDeckDbContext(options))
            {
                await db.Database.MigrateAsync();
                hosts = await SeedAsync(db, count);
            }

            var scenarios = new (string Name, HistoryQuery Query)[]
            {
                ("newest 50, no filter", new HistoryQuery()),
                ("state=failed, page 1", new HistoryQuery { States = new HashSet<RolloutState> { RolloutState.Failed } }),
                ("state=failed, page 20", new HistoryQuery { States = new HashSet<RolloutState> { RolloutState.Failed }, Page = 20 }),
                ("hostId=…, page 1", new HistoryQuery { HostId = hosts[1] }),
                ("startedBy=user3, page 1", new HistoryQuery { StartedBy = "user3" }),
                ("state=aborted + last 30 days", new HistoryQuery { States = new HashSet<RolloutState> { RolloutState.Aborted }, From = DateTimeOffset.UtcNow.AddDays(-30) }),
            };

            Console.WriteLine($"history benchmark: {count} rollouts over {hosts.Length} hosts, {runs} runs per query (total + page of 50, EF Core, Release)");
            var indexed = await MeasureAsync(options, scenarios, runs);
            // Baseline 1: the indexes rollouts had before history (CreatedAt, HostId+State, foreign keys).
            await DropAsync(options, historyOnly: true);
            var before = await MeasureAsync(options, scenarios, runs);
            // Baseline 2: only the primary key and the one-active-rollout-per-host index: every query scans and sorts.
            await DropAsync(options, historyOnly: false);
            var scanned = await MeasureAsync(options, scenarios, runs);

            Console.WriteLine();
            Console.WriteLine("p50 / p95 of total + page, and how the page reads rollouts:");
            Console.WriteLine();
            Console.WriteLine("| query | with history indexes | plan | without them | plan | no secondary index | plan |");
            Console.WriteLine("|---|---|---|---|---|---|---|");
            for (var i = 0; i < scenarios.Length; i++)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {scenarios[i].Name} | {indexed[i].P50:0.0} / {indexed[i].P95:0.0} ms | {indexed[i].Plan} | {before[i].P50:0.0} / {before[i].P95:0.0} ms | {before[i].Plan} | {scanned[i].P50:0.0} / {scanned[i].P95:0.0} ms | {scanned[i].Plan} |"));
            }

            return 0;
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await using var connection = new NpgsqlConnection(admin);
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)", connection);
            await drop.ExecuteNonQueryAsync();
        }
    }

    private static async Task DropAsync(DbContextOptions<DeployDeckDbContext> options, bool historyOnly)
    {
        await using var db = new DeployDeckDbContext(options);
        if (historyOnly)
        {
            // As before the history migration: its plan index replaced the foreign key's own.
            await db.Database.ExecuteSqlRawAsync("""DROP INDEX "IX_rollouts_history_state", "IX_rollouts_history_plan", "IX_rollouts_history_host", "IX_rollouts_history_started_by" """);
            await db.Database.ExecuteSqlRawAsync("""CREATE INDEX "IX_rollouts_PlanId" ON rollouts ("PlanId")""");
        }
        else
            await db.Database.ExecuteSqlRawAsync("""DROP INDEX IF EXISTS "IX_rollouts_CreatedAt", "IX_rollouts_HostId_State", "IX_rollouts_PlanId", "IX_rollouts_PlanRevisionId" """);
        await db.Database.ExecuteSqlRawAsync("ANALYZE rollouts");
    }

    private static async Task<Guid[]> SeedAsync(DeployDeckDbContext db, int count)
    {
        var now = DateTimeOffset.UtcNow;
        Guid[] hosts = [Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid()];
        for (var i = 0; i < hosts.Length; i++)
            db.Hosts.Add(new DockerHost { Id = hosts[i], Name = $"bench-{i}", Endpoint = "tcp://10.0.0.1:2375", CreatedAt = now });
        var plans = new List<Plan>();
        for (var i = 0; i < 4; i++)
        {
            var plan = new Plan { Name = $"bench-plan-{i}", ProjectName = $"bench-plan-{i}", CreatedAt = now };
            plan.Revisions.Add(new PlanSpec([new PhaseSpec { Name = "core", Services = [new ServiceSpec { Name = "web", Image = "deploydeck/probe:latest" }] }]).ToRevision(plan.Id, 1, "bench", now));
            plans.Add(plan);
            db.Plans.Add(plan);
        }

        await db.SaveChangesAsync();
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync();
        await using var insert = new NpgsqlCommand("""
            INSERT INTO rollouts ("Id", "PlanId", "PlanRevisionId", "HostId", "State", "CurrentPhase", "StartedBy", "CreatedAt", "StartedAt", "FinishedAt")
            SELECT gen_random_uuid(), (@plans)[i % 4 + 1], (@revisions)[i % 4 + 1], (@hosts)[i % 3 + 1], (@states)[i % 10 + 1], 0, 'user' || (i % 7),
                   @start + i * interval '10 minutes', @start + i * interval '10 minutes' + interval '5 seconds',
                   @start + i * interval '10 minutes' + (60 + i % 600) * interval '1 second'
            FROM generate_series(1, @count) AS i
            """, connection);
        insert.Parameters.AddWithValue("plans", plans.Select(p => p.Id).ToArray());
        insert.Parameters.AddWithValue("revisions", plans.Select(p => p.Revisions[0].Id).ToArray());
        insert.Parameters.AddWithValue("hosts", hosts);
        insert.Parameters.AddWithValue("states", States);
        insert.Parameters.AddWithValue("start", now.AddMinutes(-10.0 * count - 10));
        insert.Parameters.AddWithValue("count", count);
        await insert.ExecuteNonQueryAsync();
        await using var analyze = new NpgsqlCommand("ANALYZE rollouts", connection);
        await analyze.ExecuteNonQueryAsync();
        return hosts;
    }

    private static async Task<List<(double P50, double P95, string Plan)>> MeasureAsync(DbContextOptions<DeployDeckDbContext> options, (string Name, HistoryQuery Query)[] scenarios, int runs)
    {
        var results = new List<(double, double, string)>();
        foreach (var (_, query) in scenarios)
        {
            var times = new List<double>();
            for (var i = 0; i < runs + 5; i++)
            {
                await using var db = new DeployDeckDbContext(options);
                var watch = Stopwatch.StartNew();
                var total = await db.Rollouts.AsNoTracking().Filter(query).CountAsync();
                var page = await db.Rollouts.AsNoTracking().Page(query).Rows().ToListAsync();
                watch.Stop();
                if (i >= 5) // the first runs warm EF's query cache and PostgreSQL's buffers
                    times.Add(watch.Elapsed.TotalMilliseconds);
                GC.KeepAlive((total, page));
            }

            results.Add((Percentile(times, 0.50), Percentile(times, 0.95), await PlanAsync(options, query)));
        }

        return results;
    }

    /// <summary>How PostgreSQL reads rollouts for the page and for the total: the scan nodes' names and indexes.</summary>
    private static async Task<string> PlanAsync(DbContextOptions<DeployDeckDbContext> options, HistoryQuery query)
    {
        await using var db = new DeployDeckDbContext(options);
        await db.Database.OpenConnectionAsync();
        var page = await ScanAsync(db.Rollouts.AsNoTracking().Page(query).Rows().CreateDbCommand());
        var total = await ScanAsync(db.Rollouts.AsNoTracking().Filter(query).Select(r => r.Id).CreateDbCommand());
        return $"page: {page}; total: {total}";
    }

    private static async Task<string> ScanAsync(System.Data.Common.DbCommand command)
    {
        await using (command)
        {
            command.CommandText = "EXPLAIN " + command.CommandText;
            await using var reader = await command.ExecuteReaderAsync();
            string? heap = null;
            while (await reader.ReadAsync())
            {
                var line = reader.GetString(0).Trim().TrimStart('-', '>', ' ').Split("  (", 2)[0].Replace(" on rollouts r", "", StringComparison.Ordinal).Replace("\"", "", StringComparison.Ordinal);
                if (heap is not null && line.StartsWith("Bitmap Index Scan on ", StringComparison.Ordinal))
                    return $"{heap} of {line["Bitmap Index Scan on ".Length..]}";
                if (heap is null && line.StartsWith("Bitmap Heap Scan", StringComparison.Ordinal))
                    heap = line;
                else if (heap is null && (line.Contains("Scan", StringComparison.Ordinal) && !line.Contains(" on plans", StringComparison.Ordinal) && !line.Contains(" on hosts", StringComparison.Ordinal) && !line.Contains(" on plan_revisions", StringComparison.Ordinal) && !line.Contains("PK_", StringComparison.Ordinal)))
                    return line;
            }
        }

        return "?";
    }

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : fallback;
    }
}
