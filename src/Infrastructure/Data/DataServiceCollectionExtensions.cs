using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace DeployDeck.Infrastructure.Data;

public static class DataServiceCollectionExtensions
{
    public const string ConnectionStringName = "DeployDeck";

    /// <summary>Registers a DbContext factory (one context per operation; Blazor circuits never hold one).</summary>
    public static IServiceCollection AddDeployDeckData(this IServiceCollection services, IConfiguration configuration)
    {
        var connectionString = RequireConnectionString(configuration);
        services.AddDbContextFactory<DeployDeckDbContext>(o => o.UseNpgsql(connectionString, n => n.UseQuerySplittingBehavior(QuerySplittingBehavior.SplitQuery)));
        return services;
    }

    public static string RequireConnectionString(IConfiguration configuration) =>
        configuration.GetConnectionString(ConnectionStringName) is { Length: > 0 } cs
            ? cs
            : throw new StartupException(
                "No PostgreSQL connection string: set ConnectionStrings__DeployDeck (e.g. \"Host=127.0.0.1;Port=5432;Database=deploydeck;Username=…;Password=…\") or start with ./deploydeck up.");
}

/// <summary>A start-up problem the user can fix; its message is printed as one line, without a stack trace.</summary>
public sealed class StartupException(string message) : Exception(message);
