using Hangfire;
using Hangfire.PostgreSql;

namespace DeployDeck.Infrastructure.Jobs;

public static class HangfireStorage
{
    /// <summary>
    /// PostgreSQL storage shared by Web (client) and Worker (server). A sliding invisibility timeout of
    /// one minute means a job of a killed Worker is fetched again within about a minute, not the default 30.
    /// </summary>
    public static IGlobalConfiguration UseDeployDeckStorage(this IGlobalConfiguration configuration, string connectionString) =>
        configuration
            .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseRecommendedSerializerSettings()
            .UsePostgreSqlStorage(o => o.UseNpgsqlConnection(connectionString), new PostgreSqlStorageOptions
            {
                SchemaName = "hangfire",
                PrepareSchemaIfNecessary = true,
                InvisibilityTimeout = TimeSpan.FromMinutes(1),
                UseSlidingInvisibilityTimeout = true,
                QueuePollInterval = TimeSpan.FromSeconds(1),
                DistributedLockTimeout = TimeSpan.FromSeconds(30),
            });
}
