using System.Security.Claims;
using DeployDeck.Web.Registries;
using Microsoft.AspNetCore.Http.HttpResults;

namespace DeployDeck.Web.Api;

public static class RegistriesApi
{
    /// <summary>Registry logins are an Admin's alone, reading them too: who can pull from where is part of the secret.</summary>
    public static RouteGroupBuilder MapRegistriesApi(this RouteGroupBuilder api)
    {
        var registries = api.MapGroup("/registries").WithTags("Registries").RequireAuthorization(Auth.Policies.Admin);
        registries.MapGet("/", async (RegistryAdministration admin, CancellationToken ct) => TypedResults.Ok(await admin.ListAsync(ct)));

        registries.MapGet("/{id:guid}", async Task<Results<Ok<RegistryView>, ProblemHttpResult>> (Guid id, RegistryAdministration admin, CancellationToken ct) =>
            await admin.GetAsync(id, ct) is { } login ? TypedResults.Ok(login) : ApiResults.Problem(404, "Unknown registry login", $"There is no registry login {id}."));

        registries.MapPost("/", async Task<Results<Created<RegistryView>, ProblemHttpResult>> (RegistryRequest? request, RegistryAdministration admin, ClaimsPrincipal user, CancellationToken ct) =>
        {
            if (request is null)
                return NoLogin();
            var (login, problem) = await admin.CreateAsync(request, user.Identity!.Name!, ct);
            return problem ?? (Results<Created<RegistryView>, ProblemHttpResult>)TypedResults.Created($"/api/registries/{login!.Id}", login);
        });

        registries.MapPut("/{id:guid}", async Task<Results<Ok<RegistryView>, ProblemHttpResult>> (Guid id, RegistryRequest? request, RegistryAdministration admin, ClaimsPrincipal user, CancellationToken ct) =>
        {
            if (request is null)
                return NoLogin();
            var (login, problem) = await admin.UpdateAsync(id, request, user.Identity!.Name!, ct);
            return problem ?? (Results<Ok<RegistryView>, ProblemHttpResult>)TypedResults.Ok(login!);
        });

        registries.MapDelete("/{id:guid}", async Task<Results<NoContent, ProblemHttpResult>> (Guid id, RegistryAdministration admin, ClaimsPrincipal user, CancellationToken ct) =>
            await admin.DeleteAsync(id, user.Identity!.Name!, ct) is { } problem ? problem : TypedResults.NoContent());
        return api;
    }

    private static ProblemHttpResult NoLogin() => ApiResults.Problem(400, "No registry login", "Send {\"server\": \"127.0.0.1:5000\", \"username\": \"…\", \"password\": \"…\"}.");
}
