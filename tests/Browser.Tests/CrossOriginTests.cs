using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;

namespace DeployDeck.Browser.Tests;

/// <summary>
/// An app DeployDeck itself deploys, on another port of the same host, is the same site: Chromium sends it the
/// SameSite=Strict cookie. Its page tries what the issue saw work — abort a running rollout, sign the user out — with
/// the signed-in user's cookie, in a real Chromium. Nothing may happen; the same requests from DeployDeck's own page must.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class CrossOriginTests(BrowserFixture fixture)
{
    [Fact]
    public async Task A_page_on_another_port_cannot_abort_a_rollout_or_sign_the_user_out_with_the_users_cookie()
    {
        var app = fixture.App;
        var planId = await app.SeedPlanAsync("cross-origin", new PlanSpec([new PhaseSpec
        {
            Name = "core", Soak = TimeSpan.FromMinutes(5),
            Services = [new ServiceSpec { Name = "web", Image = "deploydeck/probe:latest", Resources = new ResourceLimits(MemorySize.Parse("32m"), null, null, CpuShare.Parse("0.25")) }],
        }]));
        var password = await app.CreateUserAsync("cross-op", "Operator");
        using var op = app.CreateClient(await app.TokenAsync("cross-op", password));
        var started = await op.PostAsJsonAsync("/api/rollouts", new { planId, hostId = await app.HostIdAsync() });
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        try
        {
            await AttackAsync(id, password);
        }
        finally
        {
            await op.PostAsJsonAsync($"/api/rollouts/{id}/abort", new { reason = "test cleanup" });
            await op.GetAsync($"/api/rollouts/{id}?wait=60");
        }
    }

    private async Task AttackAsync(Guid rolloutId, string password)
    {
        var app = fixture.App;
        var page = await fixture.SignedInPageAsync("cross-op", password);
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (await app.QueryScalarAsync<string>($"SELECT \"State\" FROM rollouts WHERE \"Id\" = '{rolloutId}'") is not "Running")
        {
            Assert.True(DateTime.UtcNow < deadline, "the rollout never ran:\n" + app.WorkerLog);
            await Task.Delay(500);
        }

        using var attacker = new AttackerSite(app.BaseUrl, rolloutId);
        var evil = await page.Context.NewPageAsync();
        await evil.GotoAsync(attacker.Url);
        await evil.WaitForFunctionAsync("() => document.title === 'sent'", null, new() { Timeout = 30_000 });
        Assert.True(attacker.Served >= 1);

        // The cookie went along (the refusal is logged only for requests that carry it) and was refused, each time.
        var refusals = 0;
        deadline = DateTime.UtcNow.AddSeconds(10);
        while ((refusals = CountOf(app.WebLog, "Refused a cross-site POST")) < 3 && DateTime.UtcNow < deadline)
            await Task.Delay(200);
        Assert.True(refusals >= 3, "expected three refused cross-site requests:\n" + app.WebLog);
        Assert.Equal(0L, await app.QueryScalarAsync<long>($"SELECT count(*) FROM rollouts WHERE \"Id\" = '{rolloutId}' AND \"AbortRequestedAt\" IS NOT NULL"));

        // Still signed in: the cross-site logout did not end the session either.
        Assert.Equal(200, await page.EvaluateAsync<int>("() => fetch('/api/me').then(r => r.status)"));

        // DeployDeck's pages run under their own policy (script-src 'self'): nothing of theirs was refused.
        var refused = fixture.Console.Split('\n').Where(l => l.Contains("Content Security Policy", StringComparison.Ordinal)).ToList();
        Assert.True(refused.Count == 0, string.Join('\n', refused));

        // From DeployDeck's own page the same abort goes through.
        var status = await page.EvaluateAsync<int>($"() => fetch('/api/rollouts/{rolloutId}/abort', {{ method: 'POST', headers: {{ 'Content-Type': 'application/json' }}, body: JSON.stringify({{ reason: 'from our own page' }}) }}).then(r => r.status)");
        Assert.Equal(202, status);
        Assert.Equal(1L, await app.QueryScalarAsync<long>($"SELECT count(*) FROM rollouts WHERE \"Id\" = '{rolloutId}' AND \"AbortRequestedAt\" IS NOT NULL"));
    }

    private static int CountOf(string text, string what)
    {
        var count = 0;
        for (var at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + what.Length, StringComparison.Ordinal))
            count++;
        return count;
    }

    /// <summary>The other app: one page whose script posts to DeployDeck without a body (no preflight), and a form that does.</summary>
    private sealed class AttackerSite : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly string _page;
        private int _served;

        public AttackerSite(Uri target, Guid rolloutId)
        {
            var port = FreePort();
            Url = $"http://127.0.0.1:{port}/";
            var deploydeck = target.GetLeftPart(UriPartial.Authority);
            _page = $$"""
                <!doctype html><html><body>
                <iframe name="sink" style="display:none"></iframe>
                <form id="logout" method="post" action="{{deploydeck}}/account/logout" target="sink"></form>
                <script>
                  (async () => {
                    await fetch('{{deploydeck}}/api/rollouts/{{rolloutId}}/abort', { method: 'POST', mode: 'no-cors', credentials: 'include' }).catch(() => {});
                    await fetch('{{deploydeck}}/api/rollouts/{{rolloutId}}/abort', { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'Content-Type': 'text/plain' }, body: '{"reason":"cross-site"}' }).catch(() => {});
                    document.getElementById('logout').submit();
                    await new Promise(r => setTimeout(r, 1500));
                    document.title = 'sent';
                  })();
                </script></body></html>
                """;
            _listener.Prefixes.Add(Url);
            _listener.Start();
            _ = ServeAsync();
        }

        public string Url { get; }

        public int Served => Volatile.Read(ref _served);

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                Interlocked.Increment(ref _served);
                var body = Encoding.UTF8.GetBytes(_page);
                context.Response.ContentType = "text/html";
                await context.Response.OutputStream.WriteAsync(body);
                context.Response.Close();
            }
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        public void Dispose() => _listener.Close();
    }
}
