using System.Net;
using System.Net.Sockets;
using DeployDeck.Worker.Rollouts;
using Docker.DotNet;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace DeployDeck.Worker.Tests.Rollouts;

/// <summary>What ends a drive for Hangfire's retry to resume (a passing failure) and what fails it (a decision).</summary>
public class TransientTests
{
    private static PostgresException Postgres(string sqlState) => new("message", "FATAL", "FATAL", sqlState);

    [Theory]
    [InlineData("57P01")] // admin shutdown: PostgreSQL restarting under a running phase
    [InlineData("57P02")]
    [InlineData("57P03")] // cannot connect now: starting up
    public void PostgreSQL_going_or_coming_is_transient_and_not_the_engines_failure(string sqlState)
    {
        Assert.True(Transient.Is(Postgres(sqlState)));
        Assert.True(Transient.Is(new DbUpdateException("save", Postgres(sqlState))));
        Assert.False(Transient.IsEngine(Postgres(sqlState)));
        Assert.False(Transient.IsEngine(new DbUpdateException("save", Postgres(sqlState))));
    }

    [Fact]
    public void A_dropped_connection_to_PostgreSQL_is_transient()
    {
        Assert.True(Transient.Is(new NpgsqlException("Exception while reading from stream", new IOException("reset"))));
        Assert.True(Transient.Is(new NpgsqlException("Failed to connect", new SocketException((int)SocketError.ConnectionRefused))));
    }

    [Fact]
    public void A_query_PostgreSQL_refused_is_not_transient()
    {
        Assert.False(Transient.Is(Postgres("23505"))); // unique violation
        Assert.False(Transient.Is(new DbUpdateException("save", Postgres("23503"))));
    }

    [Theory]
    [InlineData(HttpStatusCode.ServiceUnavailable, true)]
    [InlineData(HttpStatusCode.BadGateway, true)]
    [InlineData(HttpStatusCode.Conflict, false)] // "port is already allocated" and the like: the engine decided
    [InlineData(HttpStatusCode.NotFound, false)]
    public void The_engine_restarting_is_transient_a_refusal_is_not(HttpStatusCode status, bool transient)
    {
        var ex = new DockerApiException(status, "daemon says");
        Assert.Equal(transient, Transient.Is(ex));
        Assert.Equal(transient, Transient.IsEngine(ex));
    }

    [Fact]
    public void An_engine_that_does_not_answer_is_transient_an_invalid_operation_alone_is_not()
    {
        Assert.True(Transient.IsEngine(new HttpRequestException("connection refused", new SocketException((int)SocketError.ConnectionRefused))));
        Assert.True(Transient.IsEngine(new TaskCanceledException("timeout", new TimeoutException())));
        Assert.True(Transient.Is(new AggregateException(new IOException("a"), new TimeoutException("b"))));
        Assert.False(Transient.Is(new AggregateException(new IOException("a"), new ArgumentException("b"))));
        Assert.False(Transient.Is(new InvalidOperationException("no")));
        Assert.False(Transient.Is(new TaskCanceledException("cancelled by the drive")));
    }
}
