using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Live;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Identity;

namespace DeployDeck.Web.Auth;

public static class AuthServiceCollectionExtensions
{
    public const string CookieName = "deploydeck";

    private const string SmartScheme = "CookieOrBearer";

    public static IServiceCollection AddDeployDeckAuth(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<LiveHubOptions>().Bind(configuration.GetSection(LiveHubOptions.Section))
            .Validate(o => o.WorkerKey.Length >= 32, "Live:WorkerKey must be set to a shared secret of at least 32 characters (the Worker presents it to the hub)")
            .ValidateOnStart();
        services.AddOptions<AdminOptions>().Bind(configuration.GetSection(AdminOptions.Section));

        services.AddIdentityCore<IdentityUser>(o =>
            {
                o.Password.RequiredLength = 12;
                o.Password.RequireDigit = false;
                o.Password.RequireLowercase = false;
                o.Password.RequireUppercase = false;
                o.Password.RequireNonAlphanumeric = false;
                // Failed sign-ins are throttled per user name and per client (FailedLoginThrottle); Identity's lockout
                // also stopped the account's API tokens, which made it a weapon against CI.
                o.Lockout.AllowedForNewUsers = false;
                o.User.RequireUniqueEmail = false;
            })
            .AddRoles<IdentityRole>()
            .AddEntityFrameworkStores<DeployDeckDbContext>()
            .AddSignInManager();

        services.AddAuthentication(o =>
            {
                o.DefaultScheme = SmartScheme;
                o.DefaultChallengeScheme = SmartScheme;
                o.DefaultForbidScheme = SmartScheme;
            })
            .AddPolicyScheme(SmartScheme, "Cookie or bearer token", o => o.ForwardDefaultSelector = ctx =>
                ApiTokenAuthenticationHandler.ReadToken(ctx.Request) is { Length: > 0 } ? ApiTokens.Scheme : IdentityConstants.ApplicationScheme)
            .AddScheme<AuthenticationSchemeOptions, ApiTokenAuthenticationHandler>(ApiTokens.Scheme, null)
            .AddIdentityCookies();

        services.ConfigureApplicationCookie(o =>
        {
            o.LoginPath = "/login";
            o.LogoutPath = "/account/logout";
            o.AccessDeniedPath = "/forbidden";
            o.Cookie.Name = CookieName;
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            // Secure whenever the request is HTTPS, which behind a configured TLS proxy it is (X-Forwarded-Proto).
            o.Cookie.SecurePolicy = configuration.GetValue<bool>("Proxy:RequireSecureCookie") ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
            o.ExpireTimeSpan = TimeSpan.FromHours(12);
            o.SlidingExpiration = true;
            // Scripts and the hub get status codes, not a redirect to an HTML form.
            o.Events.OnRedirectToLogin = ctx => RedirectOrStatus(ctx, StatusCodes.Status401Unauthorized);
            o.Events.OnRedirectToAccessDenied = ctx => RedirectOrStatus(ctx, StatusCodes.Status403Forbidden);
            // Every request: a role change, a disable or a sign-out ends the user's other cookies at once (Identity checked every 30 min).
            o.Events.OnValidatePrincipal = SessionValidator.ValidatePrincipalAsync;
        });

        services.AddAuthorizationBuilder()
            // Every endpoint needs a signed-in person unless it says otherwise; the Worker's key opens only the hub.
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser()
                .RequireAssertion(ctx => !ctx.User.IsInRole(LiveHubContract.WorkerRole)).Build())
            .AddPolicy(Policies.Operate, p => p.RequireRole(Roles.Operator, Roles.Admin))
            .AddPolicy(Policies.Approve, p => p.RequireRole(Roles.Approver, Roles.Admin))
            .AddPolicy(Policies.Admin, p => p.RequireRole(Roles.Admin))
            .AddPolicy(Policies.LiveHub, p => p.RequireAuthenticatedUser());

        services.AddSingleton<FailedLoginThrottle>();
        services.AddSingleton<DummyPasswordHash>();
        services.AddSingleton<UserStates>();
        services.AddSingleton<SessionValidator>();
        services.AddOptions<SessionOptions>().Bind(configuration.GetSection(SessionOptions.Section))
            .Validate(o => o.CheckInterval >= TimeSpan.Zero && o.CheckInterval <= TimeSpan.FromMinutes(1), "Auth:CheckInterval must be from 0 to 1 minute").ValidateOnStart();
        services.AddScoped<PasswordCheck>();
        services.AddScoped<Microsoft.AspNetCore.Components.Authorization.AuthenticationStateProvider, SessionRevalidatingStateProvider>();
        services.AddScoped<AdminBootstrap>();
        return services;
    }

    private static Task RedirectOrStatus(Microsoft.AspNetCore.Authentication.RedirectContext<Microsoft.AspNetCore.Authentication.Cookies.CookieAuthenticationOptions> ctx, int status)
    {
        if (ctx.Request.Path.StartsWithSegments("/api") || ctx.Request.Path.StartsWithSegments("/openapi") || ctx.Request.Path.StartsWithSegments(LiveHubContract.Path)
            || ctx.Request.Path.StartsWithSegments("/metrics"))
        {
            ctx.Response.StatusCode = status;
            return Task.CompletedTask;
        }

        ctx.Response.Redirect(ctx.RedirectUri);
        return Task.CompletedTask;
    }
}
