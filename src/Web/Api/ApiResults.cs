using Microsoft.AspNetCore.Http.HttpResults;

namespace DeployDeck.Web.Api;

internal static class ApiResults
{
    /// <summary>Problem details with a sentence that names the problem; never a stack trace.</summary>
    public static ProblemHttpResult Problem(int status, string title, string detail) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title);
}
