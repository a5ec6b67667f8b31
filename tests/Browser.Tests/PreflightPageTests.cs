using DeployDeck.Domain.Hosts;
using DeployDeck.Tests.Shared;
using Microsoft.Playwright;

namespace DeployDeck.Browser.Tests;

[Collection(BrowserCollection.Name)]
public sealed class PreflightPageTests(BrowserFixture fixture)
{
    [Fact]
    public async Task Operator_sees_the_host_bands_and_the_plan_forecast_per_phase()
    {
        var password = await fixture.App.CreateUserAsync("preflight-op", "Operator");
        var page = await fixture.SignedInPageAsync("preflight-op", password);

        await BrowserFixture.OpenHostAsync(page, "local");
        try
        {
            await Assertions.Expect(page.Locator("[data-testid=host-band]")).ToHaveAttributeAsync("data-band", "Green", new() { Timeout = 20_000 });
        }
        catch (PlaywrightException ex)
        {
            throw new TimeoutException($"{ex.Message}\n--- console ---\n{fixture.Console}\n--- web log ---\n{fixture.App.WebLog}", ex);
        }

        await Assertions.Expect(page.Locator("[data-testid=signal-memory]")).ToContainTextAsync("used of");
        await Assertions.Expect(page.Locator("[data-testid=signal-disk]")).ToContainTextAsync("Docker data root");

        await page.GetByRole(AriaRole.Link, new() { Name = "Plans" }).ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "demo", Exact = true }).ClickAsync();
        await page.ClickAsync("[data-testid=preflight]");
        await Assertions.Expect(page.Locator("[data-testid=preflight-ok]")).ToBeVisibleAsync(new() { Timeout = 20_000 });
        await Assertions.Expect(page.Locator("[data-testid=forecast-core]")).ToHaveAttributeAsync("data-fits", "True");
        await Assertions.Expect(page.Locator("[data-testid=preflight-images]")).ToContainTextAsync("deploydeck/probe:latest");
        await Assertions.Expect(page.Locator("[data-testid=preflight-chart] svg")).ToBeVisibleAsync();
    }

    [Fact]
    public async Task On_a_yellow_host_an_admin_gives_a_reason_and_the_rollout_starts()
    {
        await fixture.App.SetThresholdsAsync(new HostThresholds(MemoryYellow: 0.01, MemoryRed: 99.9, LoadYellow: 1000, LoadRed: 1000));
        try
        {
            var page = await fixture.SignedInPageAsync(DeployDeckApp.AdminUser, fixture.App.AdminPassword);
            await page.GetByRole(AriaRole.Link, new() { Name = "Plans" }).ClickAsync();
            await page.GetByRole(AriaRole.Link, new() { Name = "demo", Exact = true }).ClickAsync();
            await page.ClickAsync("[data-testid=start-rollout]");
            await page.ClickAsync("[data-testid=confirm-start]", new() { Timeout = 30_000 });
            await Assertions.Expect(page.Locator("[data-testid=start-refused]")).ToContainTextAsync("YELLOW", new() { Timeout = 20_000 });

            await page.Locator("[data-testid=ack-reason] input, input[data-testid=ack-reason]").First.FillAsync("load test window, watched by ops");
            await page.ClickAsync("[data-testid=ack-start]");
            await page.WaitForURLAsync("**/rollouts/**");
            await Assertions.Expect(page.Locator("[data-testid=events]")).ToContainTextAsync("acknowledged by admin: load test window", new() { Timeout = 20_000 });
            await Assertions.Expect(page.Locator("[data-testid=rollout-state]")).ToHaveAttributeAsync("data-state", "Succeeded", new() { Timeout = 120_000 });
        }
        finally
        {
            await fixture.App.SetThresholdsAsync(new HostThresholds(LoadYellow: 1000, LoadRed: 1000));
        }
    }
}
