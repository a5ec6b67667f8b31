using System.Net.Http.Json;
using System.Text.Json;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;
using DeployDeck.Tests.Shared;
using Microsoft.Playwright;

namespace DeployDeck.Browser.Tests;

/// <summary>A fleet rollout over two real extra engines, followed and approved in the browser.</summary>
[Collection(BrowserCollection.Name)]
public sealed class FleetPageTests(BrowserFixture fixture)
{
    [Fact]
    public async Task The_fleet_page_shows_hosts_by_phase_and_an_approver_lets_the_wave_after_the_canary_go()
    {
        var app = fixture.App;
        await using var canaryEngine = await ExtraEngine.StartAsync(EngineAccess.Unix, "deploydeck/probe:latest");
        await using var secondEngine = await ExtraEngine.StartAsync(EngineAccess.Unix, "deploydeck/probe:latest");
        var hosts = new List<Guid> { await app.AddHostAsync(canaryEngine, "fleet-canary"), await app.AddHostAsync(secondEngine, "fleet-second") };
        using var admin = app.CreateClient(await app.AdminTokenAsync());
        try
        {
            var planId = await app.SeedPlanAsync("fleet-in-browser", new PlanSpec([new PhaseSpec
            {
                Name = "core",
                Services =
                [
                    new ServiceSpec
                    {
                        Name = "app",
                        Image = "deploydeck/probe:latest",
                        Resources = new ResourceLimits(MemorySize.Parse("32m"), null, null, CpuShare.Parse("0.25")),
                        Gates = [new GateSpec { Kind = GateKind.Exec, Command = ["/bin/sh", "-c", "true"] }],
                    },
                ],
            }]));
            var operatorPassword = await app.CreateUserAsync("fleet-op", "Operator");
            using var op = app.CreateClient(await app.TokenAsync("fleet-op", operatorPassword));
            var started = await op.PostAsJsonAsync("/api/fleet-rollouts", new { planId, hostIds = hosts, waveSize = 1, onHostFailure = "stop", approveWaves = true });
            var created = await started.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(started.IsSuccessStatusCode, created.ToString());
            var fleetId = created.GetProperty("id").GetGuid();

            // The Operator who started it follows it from the list, sees the canary pass and the wave wait, and cannot approve it.
            var opPage = await fixture.SignedInPageAsync("fleet-op", operatorPassword);
            await opPage.GetByRole(AriaRole.Link, new() { Name = "Fleets" }).ClickAsync();
            await opPage.WaitForURLAsync(new System.Text.RegularExpressions.Regex("/fleets$"));
            await opPage.Locator("[data-testid=open-fleet]").First.ClickAsync();
            await opPage.WaitForURLAsync($"**/fleets/{fleetId}");
            await Assertions.Expect(opPage.Locator("[data-testid=fleet-state]")).ToHaveAttributeAsync("data-state", "AwaitingApproval", new() { Timeout = 90_000 });
            await Assertions.Expect(opPage.Locator("[data-testid=fleet-host-state-fleet-canary]")).ToHaveAttributeAsync("data-state", "Succeeded");
            await Assertions.Expect(opPage.Locator("[data-testid=fleet-host][data-host=fleet-second]")).ToContainTextAsync("waiting");
            await Assertions.Expect(opPage.Locator("[data-testid=fleet-approval]")).ToContainTextAsync("Wave 2 waits for an Approver: fleet-second");
            await Assertions.Expect(opPage.Locator("[data-testid=fleet-approval-needs-role]")).ToBeVisibleAsync();
            await Assertions.Expect(opPage.Locator("[data-testid=fleet-approve]")).ToHaveCountAsync(0);
            await opPage.Context.CloseAsync();

            var page = await fixture.SignedInPageAsync("fleet-lead", await app.CreateUserAsync("fleet-lead", "Approver"));
            await page.GotoAsync($"/fleets/{fleetId}");
            await page.Locator("[data-testid=fleet-approval-comment] input, input[data-testid=fleet-approval-comment]").First.FillAsync("canary looks fine");
            await page.ClickAsync("[data-testid=fleet-approve]");
            // The page follows the fleet on its own: no reload.
            await Assertions.Expect(page.Locator("[data-testid=fleet-state]")).ToHaveAttributeAsync("data-state", "Succeeded", new() { Timeout = 90_000 });
            await Assertions.Expect(page.Locator("[data-testid=fleet-host-state-fleet-second]")).ToHaveAttributeAsync("data-state", "Succeeded");
            await Assertions.Expect(page.Locator("[data-testid=fleet-approved]")).ToContainTextAsync("Wave 2 approved by fleet-lead");
            await Assertions.Expect(page.Locator("[data-testid=fleet-host][data-host=fleet-second] [data-testid=fleet-cell]")).ToHaveTextAsync("done");

            var second = await admin.GetFromJsonAsync<JsonElement>($"/api/rollouts/{created.GetProperty("rollouts")[1].GetProperty("id").GetGuid()}");
            Assert.Contains(second.GetProperty("events").EnumerateArray(), e => e.GetProperty("message").GetString() == $"fleet-lead approved wave 2 of fleet rollout {fleetId}: canary looks fine");

            // Each host's rollout page is one click away, and leads back to the fleet.
            await page.Locator("[data-testid=fleet-host][data-host=fleet-second] [data-testid=open-host-rollout]").ClickAsync();
            await page.WaitForURLAsync(new System.Text.RegularExpressions.Regex("/rollouts/[0-9a-f-]{36}$"));
            await Assertions.Expect(page.Locator("[data-testid=rollout-state]")).ToHaveAttributeAsync("data-state", "Succeeded");
            await page.Locator("[data-testid=rollout-fleet]").ClickAsync();
            await page.WaitForURLAsync($"**/fleets/{fleetId}");
            await Assertions.Expect(page.Locator("[data-testid=fleet-state]")).ToHaveAttributeAsync("data-state", "Succeeded");
            await page.Context.CloseAsync();

            // Abort: a fleet that ended has nothing to stop.
            var late = await op.PostAsJsonAsync($"/api/fleet-rollouts/{fleetId}/abort", new { reason = "late" });
            Assert.Equal(409, (int)late.StatusCode);
        }
        finally
        {
            // The browser suite shares one app: the extra hosts go (kept only for the history of their rollouts).
            foreach (var host in hosts)
                await admin.DeleteAsync($"/api/hosts/{host}");
        }
    }
}
