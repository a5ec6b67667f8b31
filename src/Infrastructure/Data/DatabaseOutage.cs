using System.Net.Sockets;
using Npgsql;

namespace DeployDeck.Infrastructure.Data;

/// <summary>PostgreSQL not answering for a while (restarting, unreachable), as opposed to a query it refused.</summary>
public static class DatabaseOutage
{
    /// <summary>57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now: the server is going or coming.</summary>
    private static readonly HashSet<string> Shutdowns = ["57P01", "57P02", "57P03"];

    public static bool Is(Exception? ex) => ex switch
    {
        null => false,
        PostgresException postgres => Shutdowns.Contains(postgres.SqlState) || postgres.IsTransient,
        NpgsqlException npgsql => npgsql.IsTransient || npgsql.InnerException is SocketException or IOException or TimeoutException || Is(npgsql.InnerException),
        AggregateException aggregate => aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(Is),
        _ => Is(ex.InnerException),
    };
}
