using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;
using Microsoft.Playwright;

namespace DeployDeck.Browser.Tests;

[Collection(BrowserCollection.Name)]
public sealed class HistoryPageTests(BrowserFixture fixture)
{
    private static int FreePort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A real rollout whose HTTP gate gets a 500 from the probe, so the phase fails and is rolled back.</summary>
    private async Task<Guid> FailedRolloutAsync(string planName)
    {
        var port = FreePort();
        var service = new ServiceSpec
        {
            Name = "api",
            Image = "deploydeck/probe:latest",
            Environment = new Dictionary<string, string> { ["PROBE_HEALTH_STATUS"] = "500" },
            Resources = new ResourceLimits(MemorySize.Parse("64m"), null, null, CpuShare.Parse("0.25")),
            Ports = [new PortMapping(8080, port, "tcp", "127.0.0.1")],
            Gates = [new GateSpec { Kind = GateKind.Http, Url = $"http://127.0.0.1:{port}/cgi-bin/health", MinStatus = 200, MaxStatus = 299 }],
        };
        var planId = await fixture.App.SeedPlanAsync(planName, new PlanSpec([new PhaseSpec { Name = "core", Services = [service] }]));
        using var admin = fixture.App.CreateClient(await fixture.App.AdminTokenAsync());
        admin.Timeout = TimeSpan.FromSeconds(100);
        var started = await admin.PostAsJsonAsync("/api/rollouts", new { planId, hostId = await fixture.App.HostIdAsync() });
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (true)
        {
            // The CI long-poll: answers as soon as the rollout ends.
            var rollout = await admin.GetFromJsonAsync<JsonElement>($"/api/rollouts/{id}?wait=60");
            var state = rollout.GetProperty("state").GetString();
            if (state is "RolledBack" or "Failed")
                return id;
            Assert.True(state is not ("Succeeded" or "Aborted") && DateTime.UtcNow < deadline, $"rollout ended {state}: {rollout}\n--- worker ---\n{fixture.App.WorkerLog}");
        }
    }

    [Fact]
    public async Task Viewer_filters_history_to_failed_rollouts_opens_one_and_sees_the_failed_gates_figure()
    {
        var id = await FailedRolloutAsync("browser-failing");
        var password = await fixture.App.CreateUserAsync("history-viewer", "Viewer");
        var page = await fixture.SignedInPageAsync("history-viewer", password);

        try
        {
            await page.GetByRole(AriaRole.Link, new() { Name = "Rollouts" }).ClickAsync();
            await page.WaitForSelectorAsync("[data-testid=history]");
            await page.ClickAsync("[data-testid=state-filter-failed]");
            await page.WaitForSelectorAsync("[data-testid=history][data-shown-state='failed,rolledback']", new() { Timeout = 30_000 });
            await Assertions.Expect(page.Locator("[data-testid=history] tbody .state-chip[data-state=Succeeded]")).ToHaveCountAsync(0);
            var row = page.Locator("[data-testid=history] tbody tr", new() { HasText = "browser-failing" });
            await Assertions.Expect(row).ToHaveCountAsync(1, new() { Timeout = 30_000 });
            var states = await page.Locator("[data-testid=history] tbody .state-chip").EvaluateAllAsync<string[]>("chips => chips.map(c => c.dataset.state)");
            Assert.NotEmpty(states);
            Assert.All(states, s => Assert.Contains(s, new[] { "Failed", "RolledBack" }));

            await row.Locator("[data-testid=open-rollout]").ClickAsync();
            await page.WaitForURLAsync($"**/rollouts/{id}");
            var failedGate = page.Locator("[data-testid=gate-failed]");
            await Assertions.Expect(failedGate).ToContainTextAsync("HTTP 500", new() { Timeout = 30_000 });
            await Assertions.Expect(failedGate).ToContainTextAsync("/cgi-bin/health");
            await Assertions.Expect(page.Locator("[data-testid=timeline]")).ToContainTextAsync("gate.failed");
            await Assertions.Expect(page.Locator("[data-testid=peak-memory]")).ToContainTextAsync("predicted");
        }
        catch (Exception ex) when (ex is TimeoutException or PlaywrightException or Xunit.Sdk.XunitException)
        {
            var body = await page.InnerTextAsync("body");
            throw new InvalidOperationException($"{ex.Message}\n{page.Url}\n--- page ---\n{body}\n--- console ---\n{fixture.Console}", ex);
        }
    }

    [Fact]
    public async Task Admin_sees_the_weekly_charts_the_audit_trail_and_the_webhooks_page()
    {
        // A finished rollout of this week, written as the Worker would leave it: the charts need one.
        await fixture.App.QueryScalarAsync<int>("""
            INSERT INTO rollouts ("Id", "PlanId", "PlanRevisionId", "HostId", "State", "CurrentPhase", "StartedBy", "CreatedAt", "StartedAt", "FinishedAt")
            SELECT gen_random_uuid(), r."PlanId", r."Id", h."Id", 'Succeeded', 1, 'admin', now() - interval '5 minutes', now() - interval '5 minutes', now() - interval '3 minutes'
            FROM plan_revisions r JOIN plans p ON p."Id" = r."PlanId", hosts h WHERE p."Name" = 'demo' AND h."Name" = 'local' LIMIT 1
            RETURNING 1
            """);
        var page = await fixture.SignedInPageAsync(DeployDeck.Tests.Shared.DeployDeckApp.AdminUser, fixture.App.AdminPassword);
        try
        {
            await page.GetByRole(AriaRole.Link, new() { Name = "Reports" }).ClickAsync();
            await Assertions.Expect(page.Locator("[data-testid=chart-rollouts] svg").First).ToBeVisibleAsync(new() { Timeout = 30_000 });
            await Assertions.Expect(page.Locator("[data-testid=weekly]")).ToContainTextAsync("local");

            await page.GetByRole(AriaRole.Link, new() { Name = "Audit" }).ClickAsync();
            await Assertions.Expect(page.Locator("[data-testid=audit]")).ToContainTextAsync("auth.login", new() { Timeout = 30_000 });

            await page.GetByRole(AriaRole.Link, new() { Name = "Webhooks" }).ClickAsync();
            await page.WaitForSelectorAsync("[data-testid=webhooks]");
            await page.FillAsync("input[data-testid=webhook-name], [data-testid=webhook-name] input", "browser hook");
            await page.FillAsync("input[data-testid=webhook-url], [data-testid=webhook-url] input", "http://127.0.0.1:9/hook");
            await page.ClickAsync("[data-testid=create-webhook]");
            await Assertions.Expect(page.Locator("[data-testid=webhook-secret]")).ToContainTextAsync("not shown again", new() { Timeout = 30_000 });
            await Assertions.Expect(page.Locator("[data-testid=webhooks]")).ToContainTextAsync("browser hook");
        }
        catch (Exception ex) when (ex is TimeoutException or PlaywrightException)
        {
            var body = await page.InnerTextAsync("body");
            throw new InvalidOperationException($"{ex.Message}\n{page.Url}\n--- page ---\n{body}\n--- console ---\n{fixture.Console}", ex);
        }
    }
}
