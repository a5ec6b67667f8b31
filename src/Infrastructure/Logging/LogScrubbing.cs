using System.Text;
using DeployDeck.Domain.Plans;
using Npgsql;
using Serilog;
using Serilog.Configuration;
using Serilog.Core;
using Serilog.Events;

namespace DeployDeck.Infrastructure.Logging;

/// <summary>
/// The last step before a log line is written, in Web and Worker: exceptions are rendered without the parts that quote
/// data (PostgreSQL's <c>Detail</c>, <c>Where</c>, <c>Hint</c> and internal query repeat the values of the failed
/// statement, a secret among them), and every message, property and exception text has credentials masked.
/// </summary>
public sealed partial class ScrubbingSink(ILogEventSink inner) : ILogEventSink, IDisposable
{
    public void Emit(LogEvent logEvent)
    {
        var properties = logEvent.Properties.Select(p => new LogEventProperty(p.Key, Scrub(p.Value)));
        inner.Emit(new LogEvent(logEvent.Timestamp, logEvent.Level, logEvent.Exception is null ? null : new ScrubbedException(logEvent.Exception),
            logEvent.MessageTemplate, properties, logEvent.TraceId ?? default, logEvent.SpanId ?? default));
    }

    public void Dispose() => (inner as IDisposable)?.Dispose();

    private static LogEventPropertyValue Scrub(LogEventPropertyValue value) => value switch
    {
        ScalarValue { Value: string s } => new ScalarValue(SecretKeys.Scrub(DatabaseData().Replace(s, "$1: (withheld)"))),
        SequenceValue seq => new SequenceValue(seq.Elements.Select(Scrub)),
        StructureValue st => new StructureValue(st.Properties.Select(p => new LogEventProperty(p.Name, Scrub(p.Value))), st.TypeTag),
        DictionaryValue d => new DictionaryValue(d.Elements.Select(e => new KeyValuePair<ScalarValue, LogEventPropertyValue>(e.Key, Scrub(e.Value)))),
        _ => value,
    };

    /// <summary>Lines of a database error printed into a message (Npgsql's exception data: Detail, Hint, Where, the internal query).</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"(?im)^(\s*(?:DETAIL|HINT|WHERE|CONTEXT|Internal ?Query|Position|Routine))\s*:.*$")]
    private static partial System.Text.RegularExpressions.Regex DatabaseData();

    /// <summary>An exception as a log may show it: types, scrubbed messages, stack traces; never the data a database error quotes.</summary>
    public static string Render(Exception exception)
    {
        var text = new StringBuilder();
        for (var (e, depth) = (exception, 0); e is not null && depth < 8; (e, depth) = (e.InnerException, depth + 1))
        {
            if (depth > 0)
                text.Append(" ---> ");
            text.Append(e.GetType().FullName).Append(": ").Append(Message(e));
            if (e.StackTrace is { } trace)
                text.AppendLine().Append(trace);
        }

        return SecretKeys.Scrub(text.ToString());
    }

    /// <summary>PostgreSQL's own text of the error (SQLSTATE and message), not Npgsql's Message, which appends Detail when the connection allows it.</summary>
    private static string Message(Exception e) => e switch
    {
        // Class 22 (data exception) messages quote the value that failed ("invalid input syntax for type integer: \"…\"").
        PostgresException pg => $"{pg.SqlState}: {(pg.SqlState.StartsWith("22", StringComparison.Ordinal) ? "data exception (message withheld: it quotes the data)" : pg.MessageText)} "
            + $"(table {pg.TableName ?? "?"}, column {pg.ColumnName ?? "?"}, constraint {pg.ConstraintName ?? "?"}; detail, where and hint withheld)",
        _ => e.Message,
    };

    /// <summary>Carries the rendered text so that sinks that write <c>{Exception}</c> write the scrubbed one.</summary>
    private sealed class ScrubbedException(Exception original) : Exception(SecretKeys.Scrub(original.Message))
    {
        private readonly string _text = Render(original);

        public override string ToString() => _text;

        public override string? StackTrace => null;
    }
}

public static class LogScrubbingExtensions
{
    public const string OutputTemplate = "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}";

    /// <summary>The console, through <see cref="ScrubbingSink"/>.</summary>
    public static LoggerConfiguration ScrubbedConsole(this LoggerSinkConfiguration writeTo) =>
        writeTo.Sink(new ScrubbingSink(new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Console(outputTemplate: OutputTemplate).CreateLogger()));
}
