using System.Net;
using DeployDeck.Web.Auth;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;

namespace DeployDeck.Web.Hosting;

/// <summary>Where DeployDeck runs behind a reverse proxy: only then are X-Forwarded-* headers believed.</summary>
public sealed class ProxyOptions
{
    public const string Section = "Proxy";

    /// <summary>Addresses of the proxies in front of Web ("10.0.0.5"); their X-Forwarded-For, -Proto and -Host are used.</summary>
    public List<string> KnownProxies { get; set; } = [];

    /// <summary>Networks of proxies ("10.0.0.0/8").</summary>
    public List<string> KnownNetworks { get; set; } = [];

    /// <summary>Host names the proxy may forward in X-Forwarded-Host (empty: any).</summary>
    public List<string> AllowedHosts { get; set; } = [];

    /// <summary>Mark the sign-in cookie Secure even on plain HTTP requests (a TLS proxy that sends no X-Forwarded-Proto).</summary>
    public bool RequireSecureCookie { get; set; }

    public bool Configured => KnownProxies.Count > 0 || KnownNetworks.Count > 0;

    public IEnumerable<string> Problems()
    {
        foreach (var proxy in KnownProxies.Where(p => !IPAddress.TryParse(p, out _)))
            yield return $"Proxy:KnownProxies entry '{proxy}' is not an IP address";
        foreach (var network in KnownNetworks.Where(n => !System.Net.IPNetwork.TryParse(n, out _)))
            yield return $"Proxy:KnownNetworks entry '{network}' is not a CIDR network (like 10.0.0.0/8)";
    }
}

/// <summary>Headers every answer carries, forwarded headers behind a configured proxy, and the same-origin rule for cookies.</summary>
public static class WebSecurity
{
    /// <summary>
    /// A real policy, not only framing: scripts and connections from DeployDeck itself; styles inline because MudBlazor
    /// sets them as attributes; no plugins, no base-URI or form-target tricks.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
        + "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

    public static IServiceCollection AddWebSecurity(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ProxyOptions>().Bind(configuration.GetSection(ProxyOptions.Section))
            .Validate(o => !o.Problems().Any(), "Proxy settings are not valid").ValidateOnStart();
        services.Configure<ForwardedHeadersOptions>(o =>
        {
            var proxy = configuration.GetSection(ProxyOptions.Section).Get<ProxyOptions>() ?? new ProxyOptions();
            o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedHost;
            // The defaults trust loopback: with no proxy configured nothing is trusted (and the middleware is not used at all).
            o.KnownProxies.Clear();
            o.KnownIPNetworks.Clear();
            foreach (var address in proxy.KnownProxies)
                o.KnownProxies.Add(IPAddress.Parse(address));
            foreach (var network in proxy.KnownNetworks)
                o.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
            o.AllowedHosts = proxy.AllowedHosts;
            o.ForwardLimit = 1;
        });
        return services;
    }

    public static void UseForwardedHeadersWhenBehindAProxy(this WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<ProxyOptions>>().Value.Configured)
            app.UseForwardedHeaders();
    }

    /// <summary>Set as the answer starts, so that an error page written by the exception handler (which clears headers) has them too.</summary>
    public static Task SecurityHeaders(HttpContext context, RequestDelegate next)
    {
        context.Response.OnStarting(() =>
        {
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = context.Request.Path.StartsWithSegments("/hangfire")
                ? "frame-ancestors 'none'; object-src 'none'; base-uri 'self'" // Hangfire's dashboard has inline scripts; it is Admin-only
                : ContentSecurityPolicy;
            headers.XFrameOptions = "DENY";
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "same-origin";
            headers["Cross-Origin-Opener-Policy"] = "same-origin";
            if (context.Request.IsHttps)
                headers.StrictTransportSecurity = "max-age=31536000";
            return Task.CompletedTask;
        });
        return next(context);
    }

    /// <summary>
    /// A request that changes something and carries the sign-in cookie must come from DeployDeck's own pages: its
    /// Origin is DeployDeck's, or the browser says Sec-Fetch-Site: same-origin, or it carries a valid antiforgery token.
    /// SameSite=Strict does not cover this: a page on another port of the same host, or a sibling subdomain, is the same
    /// site, and its forms and fetches get the cookie. Bearer tokens are not sent by browsers on their own and are unaffected.
    /// </summary>
    public static async Task SameOriginForCookies(HttpContext context, RequestDelegate next)
    {
        var request = context.Request;
        if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method) || HttpMethods.IsTrace(request.Method)
            || ApiTokenAuthenticationHandler.ReadToken(request) is { Length: > 0 }
            || !request.Cookies.ContainsKey(AuthServiceCollectionExtensions.CookieName)
            || IsSameOrigin(request)
            || await HasAntiforgeryToken(context))
        {
            await next(context);
            return;
        }

        context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("DeployDeck.Web.SameOrigin")
            .LogWarning("Refused a cross-site {Method} {Path} with the sign-in cookie (Origin {Origin}, Sec-Fetch-Site {Site})",
                request.Method, request.Path, request.Headers.Origin.ToString(), request.Headers["Sec-Fetch-Site"].ToString());
        await TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Cross-site request refused",
            detail: "A request that changes something with the sign-in cookie must come from DeployDeck's own pages "
                + "(Origin, or Sec-Fetch-Site: same-origin) or carry the antiforgery token; scripts send an API token instead.").ExecuteAsync(context);
    }

    public static bool IsSameOrigin(HttpRequest request)
    {
        if (string.Equals(request.Headers["Sec-Fetch-Site"], "same-origin", StringComparison.OrdinalIgnoreCase))
            return true;
        var origin = request.Headers.Origin.ToString();
        if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri))
            return false;
        var port = request.Host.Port ?? (request.IsHttps ? 443 : 80);
        return string.Equals(uri.Scheme, request.Scheme, StringComparison.OrdinalIgnoreCase)
            && string.Equals(uri.Host, request.Host.Host, StringComparison.OrdinalIgnoreCase)
            && uri.Port == port;
    }

    private static async Task<bool> HasAntiforgeryToken(HttpContext context)
    {
        var antiforgery = context.RequestServices.GetRequiredService<IAntiforgery>();
        try
        {
            return (context.Request.Headers.ContainsKey("RequestVerificationToken") || context.Request.HasFormContentType)
                && await antiforgery.IsRequestValidAsync(context);
        }
        catch (AntiforgeryValidationException)
        {
            return false;
        }
    }
}
