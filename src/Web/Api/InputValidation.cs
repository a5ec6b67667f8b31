using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using DeployDeck.Domain.Input;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace DeployDeck.Web.Api;

/// <summary>
/// The request side of the one input-validation layer (<see cref="TextRules"/>): every string of every body, query
/// and path is checked before a handler runs, and every refusal is problem details that name the field and the reason.
/// The same rules run again in the services (PlanStore, UserAdministration, …) for what pages submit.
/// </summary>
public static partial class InputValidation
{
    /// <summary>Bodies larger than this are refused before they are read, except where an endpoint says otherwise (imports).</summary>
    public const long MaxBodyBytes = 1024 * 1024;

    public static IServiceCollection AddInputValidation(this IServiceCollection services)
    {
        services.Configure<Microsoft.AspNetCore.Http.Json.JsonOptions>(o =>
        {
            // {"name": "a", "name": "b"}: whichever a proxy or a log reads, the handler would read the other one.
            o.SerializerOptions.AllowDuplicateProperties = false;
            o.SerializerOptions.MaxDepth = 32;
        });

        // Binding failures (malformed JSON, a string where a number goes) become exceptions the handler below names.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddExceptionHandler<BadRequestHandler>();
        services.AddExceptionHandler<DatabaseOutageHandler>();
        services.AddExceptionHandler<InternalErrorHandler>();
        services.AddProblemDetails(o => o.CustomizeProblemDetails = ctx =>
        {
            ctx.ProblemDetails.Detail ??= DefaultDetail(ctx.HttpContext, ctx.ProblemDetails.Status ?? ctx.HttpContext.Response.StatusCode);
            ctx.ProblemDetails.Type = null; // a link to an RFC is no reason
        });
        return services;
    }

    /// <summary>Checks the strings and records an endpoint binds (body, route, query) before it runs; services are not looked at.</summary>
    public static EndpointFilterDelegate Filter(EndpointFilterFactoryContext factory, EndpointFilterDelegate next)
    {
        var inputs = factory.MethodInfo.GetParameters().Select((p, i) => (Parameter: p, Index: i)).Where(x => IsInput(x.Parameter)).ToArray();
        if (inputs.Length == 0)
            return next;
        return async invocation =>
        {
            var problems = new List<FieldProblem>();
            foreach (var (parameter, index) in inputs)
            {
                switch (invocation.Arguments[index])
                {
                    case string text when TextRules.Problem(text, TextRules.For(parameter.Name!)) is { } reason:
                        problems.Add(new(parameter.Name!, reason));
                        break;
                    case { } value when value is not string:
                        problems.AddRange(TextRules.Check(value));
                        break;
                }
            }

            return problems.Count > 0 ? Invalid(problems) : await next(invocation);
        };
    }

    private static bool IsInput(ParameterInfo parameter)
    {
        var type = Nullable.GetUnderlyingType(parameter.ParameterType) ?? parameter.ParameterType;
        return type == typeof(string) || type.GetMethod("<Clone>$") is not null
            || (type.IsGenericType && type.GetGenericArguments().Any(a => a.GetMethod("<Clone>$") is not null || a == typeof(string)));
    }

    /// <summary>The path and every query parameter of every request (pages too: a NUL in <c>?state=</c> reached PostgreSQL from the history page).</summary>
    public static async Task CheckUrl(HttpContext context, RequestDelegate next)
    {
        var line = new TextRule(TextKind.Line, TextRules.LineLength);
        var problems = new List<FieldProblem>();
        if (TextRules.Problem(context.Request.Path.Value ?? "", line) is { } pathProblem)
            problems.Add(new("path", pathProblem));
        foreach (var (key, values) in context.Request.Query)
        {
            if (TextRules.Problem(key, TextRules.Key) is { } keyProblem)
                problems.Add(new($"query parameter '{Printable(key)}'", "its name " + keyProblem));
            foreach (var value in values)
            {
                if (value is not null && TextRules.Problem(value, line) is { } problem)
                    problems.Add(new(Printable(key), problem));
            }
        }

        if (problems.Count == 0)
        {
            await next(context);
            return;
        }

        await Invalid(problems, "Invalid address").ExecuteAsync(context);
    }

    /// <summary>400 problem details: <c>detail</c> names the first problems, <c>errors</c> every field with its reasons.</summary>
    public static ProblemHttpResult Invalid(IReadOnlyList<FieldProblem> problems, string title = "Invalid request") => TypedResults.Problem(
        title: title,
        statusCode: StatusCodes.Status400BadRequest,
        detail: string.Join("; ", problems.Take(5).Select(p => p.ToString())) + (problems.Count > 5 ? $" (and {problems.Count - 5} more)" : ""),
        extensions: new Dictionary<string, object?> { ["errors"] = Errors(problems) });

    public static Dictionary<string, string[]> Errors(IEnumerable<FieldProblem> problems) =>
        problems.GroupBy(p => p.Field, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Select(p => p.Reason).Distinct().ToArray(), StringComparer.Ordinal);

    /// <summary>A field name fit to repeat in an answer: the refused characters would spoof it.</summary>
    private static string Printable(string name) => TextRules.Problem(name, TextRules.Key) is null ? name : Uri.EscapeDataString(name.Length > 100 ? name[..100] : name);

    private static string DefaultDetail(HttpContext http, int status) => status switch
    {
        400 => "The request could not be read.",
        401 => "Sign in, or send an API token as 'Authorization: Bearer …' (POST /api/tokens gives one).",
        403 => $"Your role does not allow {http.Request.Method} {http.Request.Path}.",
        404 => $"There is nothing at {http.Request.Path}.",
        405 => $"{http.Request.Method} is not allowed on {http.Request.Path}.",
        406 => "This answer is JSON only.",
        413 => "The request body is larger than this endpoint takes.",
        415 => "Send the body as JSON, with 'Content-Type: application/json'.",
        429 => "Too many requests; wait and try again.",
        >= 500 => $"An internal error; it is logged as {http.TraceIdentifier}.",
        _ => $"HTTP {status}.",
    };

    /// <summary>Turns the framework's binding failures into problems that name the field: <c>phases[0].soakSeconds: must be a number</c>.</summary>
    private sealed partial class BadRequestHandler(IProblemDetailsService problems, ILogger<BadRequestHandler> logger) : IExceptionHandler
    {
        public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
        {
            if (exception is not BadHttpRequestException bad)
                return false;
            var (field, reason) = Describe(bad);
            logger.LogInformation("Refused {Method} {Path}: {Field}: {Reason}", httpContext.Request.Method, httpContext.Request.Path, field, reason);
            httpContext.Response.StatusCode = bad.StatusCode;
            var title = bad.StatusCode switch
            {
                413 => "Request too large",
                415 => "Unsupported content type",
                _ => "Invalid request",
            };
            return await problems.TryWriteAsync(new ProblemDetailsContext
            {
                HttpContext = httpContext,
                ProblemDetails = new ProblemDetails
                {
                    Status = bad.StatusCode,
                    Title = title,
                    Detail = $"{field}: {reason}",
                    Extensions = { ["errors"] = new Dictionary<string, string[]> { [field] = [reason] } },
                },
            });
        }

        private static (string Field, string Reason) Describe(BadHttpRequestException bad)
        {
            if (bad.InnerException is JsonException json)
            {
                var field = json.Path is { Length: > 1 } path ? path.TrimStart('$').TrimStart('.') : "body";
                return (field.Length == 0 ? "body" : field, JsonReason(json));
            }

            if (bad.StatusCode == 413)
                return ("body", "is larger than this endpoint takes");
            if (bad.StatusCode == 415)
                return ("Content-Type", "send JSON with 'Content-Type: application/json'");
            if (BindFailure().Match(bad.Message) is { Success: true } m)
                return (m.Groups["name"].Value, $"'{Truncate(m.Groups["value"].Value)}' is not {Kind(m.Groups["type"].Value)}");
            if (RequiredMissing().Match(bad.Message) is { Success: true } r)
                return (r.Groups["name"].Value, "is required");
            return ("request", bad.Message);
        }

        private static string JsonReason(JsonException json)
        {
            var message = json.Message;
            var at = json.LineNumber is { } line ? $" (line {line + 1}, byte {json.BytePositionInLine + 1})" : "";
            if (ConvertFailure().Match(message) is { Success: true } m)
                return $"must be {Kind(m.Groups["type"].Value)}{at}";
            if (message.Contains("Duplicate", StringComparison.OrdinalIgnoreCase))
                return $"appears twice in the same object{at}";
            if (message.Contains("maximum configured depth", StringComparison.Ordinal))
                return $"is nested too deep{at}";
            var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
            return $"is not valid JSON: {(cut > 0 ? message[..cut] : message)}{at}";
        }

        private static string Kind(string type) => NullableOf().Replace(type, "$1$2").Split('[')[0].Split('.', '`').Last(p => p.Length > 0 && !p.All(char.IsDigit)) switch
        {
            var t when t.StartsWith("Int", StringComparison.Ordinal) || t.StartsWith("UInt", StringComparison.Ordinal) || t is "int" or "long" or "short" => "a whole number in range",
            "Double" or "Single" or "Decimal" or "double" or "float" or "decimal" => "a number",
            "String" or "string" => "a string",
            "Boolean" or "bool" => "true or false",
            "Guid" => "an id (a GUID)",
            "DateTimeOffset" or "DateTime" => "a date and time (ISO 8601)",
            var t when t.StartsWith("IReadOnlyList", StringComparison.Ordinal) || t.StartsWith("List", StringComparison.Ordinal) || t.EndsWith("[]", StringComparison.Ordinal) => "a list",
            var t when t.Contains("Dictionary", StringComparison.Ordinal) => "an object of names and values",
            var t => $"a {t} (an object)",
        };

        private static string Truncate(string s) => s.Length > 60 ? s[..60] + "…" : s;

        [GeneratedRegex(@"^Nullable<(.+)>$|^System\.Nullable`1\[\[?([^,\]]+).*$")]
        private static partial Regex NullableOf();

        [GeneratedRegex(@"could not be converted to (?<type>[\w.`\[\],]+)")]
        private static partial Regex ConvertFailure();

        [GeneratedRegex(@"Failed to bind parameter ""(?<type>[^ ""]+) (?<name>[^""]+)"" from ""(?<value>.*)""\.")]
        private static partial Regex BindFailure();

        [GeneratedRegex(@"Required parameter ""[^ ""]+ (?<name>[^""]+)"" was not provided")]
        private static partial Regex RequiredMissing();
    }

    /// <summary>PostgreSQL away (restarting, unreachable): 503 with a retry hint, not an internal error.</summary>
    private sealed class DatabaseOutageHandler(IProblemDetailsService problems, ILogger<DatabaseOutageHandler> logger) : IExceptionHandler
    {
        public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
        {
            if (!Infrastructure.Data.DatabaseOutage.Is(exception))
                return false;
            logger.LogWarning("{Method} {Path}: PostgreSQL is not answering ({Reason})", httpContext.Request.Method, httpContext.Request.Path, exception.GetBaseException().Message);
            httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            httpContext.Response.Headers.RetryAfter = "5";
            return await problems.TryWriteAsync(new ProblemDetailsContext
            {
                HttpContext = httpContext,
                ProblemDetails = new ProblemDetails
                {
                    Status = 503,
                    Title = "Database unavailable",
                    Detail = "DeployDeck's database (PostgreSQL) is not answering; rollouts resume when it is back. Try again in a moment.",
                },
            });
        }
    }

    /// <summary>The 500 answer: problem details with a trace id, and the exception logged once, through the scrubbing log sink.</summary>
    private sealed class InternalErrorHandler(IProblemDetailsService problems, ILogger<InternalErrorHandler> logger) : IExceptionHandler
    {
        public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
        {
            logger.LogError(exception, "{Method} {Path} failed ({TraceId})", httpContext.Request.Method, httpContext.Request.Path, httpContext.TraceIdentifier);
            httpContext.Response.StatusCode = StatusCodes.Status500InternalServerError;
            return await problems.TryWriteAsync(new ProblemDetailsContext
            {
                HttpContext = httpContext,
                ProblemDetails = new ProblemDetails { Status = 500, Title = "Internal error" },
            });
        }
    }
}
