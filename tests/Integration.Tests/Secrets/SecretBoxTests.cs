using System.Collections.Concurrent;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Secrets;
using DeployDeck.Tests.Shared;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace DeployDeck.Integration.Tests.Secrets;

/// <summary>
/// Credentials at rest: ASP.NET Data Protection with its key ring in PostgreSQL, the ring's keys encrypted with the key
/// ring key. Each "process" here is a service provider of its own, as Web and Worker are, sharing only the database.
/// </summary>
public sealed class SecretBoxTests : IAsyncLifetime
{
    private readonly string _database = "dd_test_dp_" + Guid.NewGuid().ToString("N")[..10];
    private readonly string _key = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
    private readonly List<ServiceProvider> _providers = [];
    private string _connectionString = "";

    public async Task InitializeAsync()
    {
        await using (var admin = new NpgsqlConnection(DeployDeckApp.AdminConnectionString))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{_database}\"", admin);
            await create.ExecuteNonQueryAsync();
        }

        _connectionString = new NpgsqlConnectionStringBuilder(DeployDeckApp.AdminConnectionString) { Database = _database, Pooling = false }.ConnectionString;
        await using var db = new DeployDeckDbContext(new DbContextOptionsBuilder<DeployDeckDbContext>().UseNpgsql(_connectionString).Options);
        await db.Database.MigrateAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var provider in _providers)
            await provider.DisposeAsync();
        await using var admin = new NpgsqlConnection(DeployDeckApp.AdminConnectionString);
        await admin.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{_database}\" WITH (FORCE)", admin);
        await drop.ExecuteNonQueryAsync();
    }

    private (IServiceProvider Services, LogCollector Log) Process(string? keyRingKey)
    {
        var settings = new Dictionary<string, string?> { ["ConnectionStrings:DeployDeck"] = _connectionString, ["DataProtection:KeyRingKey"] = keyRingKey };
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var log = new LogCollector();
        var services = new ServiceCollection()
            .AddLogging(b => b.AddProvider(log).SetMinimumLevel(LogLevel.Debug))
            .AddDeployDeckData(configuration)
            .AddDeployDeckDataProtection(configuration)
            .BuildServiceProvider();
        _providers.Add(services);
        return (services, log);
    }

    private async Task<List<string>> StoredKeysAsync()
    {
        await using var db = new DeployDeckDbContext(new DbContextOptionsBuilder<DeployDeckDbContext>().UseNpgsql(_connectionString).Options);
        return await db.DataProtectionKeys.Select(k => k.Xml!).ToListAsync();
    }

    [Fact]
    public async Task A_secret_protected_by_one_process_is_read_by_another_sharing_the_database()
    {
        var (web, webLog) = Process(_key);
        KeyRingProtection.EnsureKey(web);
        var (worker, workerLog) = Process(_key);
        Assert.True(KeyRingProtection.HasKey(worker));

        var stored = web.GetRequiredService<SecretBox>().Protect(SecretKind.HostSsh, "-----BEGIN OPENSSH PRIVATE KEY-----\nabc", "host-1");

        Assert.DoesNotContain("OPENSSH", stored, StringComparison.Ordinal);
        Assert.Equal("-----BEGIN OPENSSH PRIVATE KEY-----\nabc", worker.GetRequiredService<SecretBox>().Unprotect(SecretKind.HostSsh, stored, "host-1"));
        Assert.Single(await StoredKeysAsync()); // the Worker used Web's key, it made none of its own
        Assert.DoesNotContain(webLog.Messages.Concat(workerLog.Messages), m => m.Contains("No XML encryptor configured", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_key_ring_in_the_database_holds_its_keys_encrypted_with_the_key_ring_key()
    {
        var (web, _) = Process(_key);
        KeyRingProtection.EnsureKey(web);

        var xml = Assert.Single(await StoredKeysAsync());
        Assert.Contains("<encryptedSecret", xml, StringComparison.Ordinal);
        Assert.Contains(nameof(KeyRingXmlDecryptor), xml, StringComparison.Ordinal);
        Assert.Contains($"key=\"{web.GetRequiredService<KeyRingKey>().Fingerprint}\"", xml, StringComparison.Ordinal);
        Assert.DoesNotContain("<masterKey", xml, StringComparison.Ordinal); // Data Protection's own element with the key in clear
    }

    [Fact]
    public void Another_key_ring_key_cannot_read_the_secrets_and_says_why()
    {
        var (web, _) = Process(_key);
        KeyRingProtection.EnsureKey(web);
        var stored = web.GetRequiredService<SecretBox>().Protect(SecretKind.HostTls, "client key");

        var (stranger, _) = Process(new string('x', 40));
        var error = Assert.Throws<SecretUnreadableException>(() => stranger.GetRequiredService<SecretBox>().Unprotect(SecretKind.HostTls, stored));

        Assert.Contains("DataProtection:KeyRingKey", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("client key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_secret_reads_only_as_the_kind_and_record_it_was_protected_for()
    {
        var (web, _) = Process(_key);
        var box = web.GetRequiredService<SecretBox>();
        var stored = box.Protect(SecretKind.HostTls, "client key", "host-1");

        Assert.Throws<SecretUnreadableException>(() => box.Unprotect(SecretKind.PlanEnvironment, stored, "host-1"));
        Assert.Throws<SecretUnreadableException>(() => box.Unprotect(SecretKind.HostTls, stored, "host-2"));
        Assert.Throws<SecretUnreadableException>(() => box.Unprotect(SecretKind.HostTls, stored));
        Assert.Equal("client key", box.Unprotect(SecretKind.HostTls, stored, "host-1"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("too-short")]
    public void Without_a_key_ring_key_nothing_starts_and_the_error_names_the_setting(string? key)
    {
        var error = Assert.Throws<StartupException>(() => Process(key));
        Assert.Contains("DataProtection:KeyRingKey", error.Message, StringComparison.Ordinal);
    }

    private sealed class LogCollector : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> _messages = new();

        public IEnumerable<string> Messages => _messages;

        public ILogger CreateLogger(string categoryName) => new Collector(_messages);

        public void Dispose()
        {
        }

        private sealed class Collector(ConcurrentQueue<string> messages) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                messages.Enqueue(formatter(state, exception));
        }
    }
}
