using DeployDeck.Tests.Shared;
using Microsoft.Playwright;

namespace DeployDeck.Browser.Tests;

[Collection(BrowserCollection.Name)]
public sealed class RolloutPageTests(BrowserFixture fixture)
{
    [Fact]
    public async Task Admin_signs_in_starts_the_demo_rollout_and_watches_it_succeed_without_reloading()
    {
        var page = await fixture.SignedInPageAsync(DeployDeckApp.AdminUser, fixture.App.AdminPassword);

        await page.GetByRole(AriaRole.Link, new() { Name = "Plans" }).ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "demo", Exact = true }).ClickAsync();
        await page.WaitForSelectorAsync("[data-testid=phases]");
        var planUrl = page.Url;
        try
        {
            // The start shows first what it would do to each service: nothing of the demo runs yet, so each is created.
            await page.ClickAsync("[data-testid=start-rollout]");
            await Assertions.Expect(page.Locator("[data-testid=reconcile-api]")).ToHaveAttributeAsync("data-action", "Create", new() { Timeout = 30_000 });
            await page.ClickAsync("[data-testid=confirm-start]");
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}\n--- browser console ---\n{fixture.Console}\n--- web log ---\n{fixture.App.WebLog}", ex);
        }


        await page.WaitForURLAsync("**/rollouts/**");
        await page.WaitForSelectorAsync("[data-testid=rollout-state]");
        await page.EvaluateAsync("() => window.__sameDocument = true");
        var state = page.Locator("[data-testid=rollout-state]");
        await Assertions.Expect(state).ToHaveAttributeAsync("data-state", "Succeeded", new() { Timeout = 120_000 });

        // A reload would have dropped the marker: the state changed by push over the circuit.
        Assert.True(await page.EvaluateAsync<bool>("() => window.__sameDocument === true"));
        await Assertions.Expect(page.Locator("[data-testid=service-state-api]")).ToHaveAttributeAsync("data-state", "Ready");
        await Assertions.Expect(page.Locator("[data-testid=events]")).ToContainTextAsync("rollout.succeeded");
        await Assertions.Expect(page.Locator("[data-testid=rollout-reconcile] [data-testid=reconcile-api]")).ToContainTextAsync("no container of the service");

        // Started again, unchanged: the confirmation says each service is kept and why; forcing a recreate changes that.
        await page.GotoAsync(planUrl);
        await page.ClickAsync("[data-testid=start-rollout]");
        var api = page.Locator("[data-testid=start-confirmation] [data-testid=reconcile-api]");
        await Assertions.Expect(api).ToHaveAttributeAsync("data-action", "Keep", new() { Timeout = 30_000 });
        await Assertions.Expect(api).ToContainTextAsync("unchanged: same config hash and image");
        await page.Locator("[data-testid=force-recreate]").ClickAsync();
        await Assertions.Expect(api).ToHaveAttributeAsync("data-action", "Recreate", new() { Timeout = 30_000 });
        await Assertions.Expect(api).ToContainTextAsync("recreate forced");
        await Assertions.Expect(page.Locator("[data-testid=start-confirmation] [data-testid=order-api]")).ToHaveTextAsync("start-first: nothing the two containers would share");
        await page.ClickAsync("[data-testid=cancel-start]");
        await Assertions.Expect(page.Locator("[data-testid=start-confirmation]")).ToHaveCountAsync(0);
    }

    /// <summary>The seeded shop — PostgreSQL, Redis, an API, a web front and an nginx gateway — started by clicks, then its page through the gateway's port.</summary>
    [Fact]
    public async Task Admin_rolls_out_the_shop_demo_from_the_browser_and_its_gateway_serves_the_page_on_the_published_port()
    {
        var page = await fixture.SignedInPageAsync(DeployDeckApp.AdminUser, fixture.App.AdminPassword);
        try
        {
            await page.GetByRole(AriaRole.Link, new() { Name = "Plans" }).ClickAsync();
            await page.GetByRole(AriaRole.Link, new() { Name = "shop", Exact = true }).ClickAsync();
            await page.WaitForSelectorAsync("[data-testid=phases]");
            await page.ClickAsync("[data-testid=start-rollout]");
            var confirmation = page.Locator("[data-testid=start-confirmation]");
            foreach (var service in new[] { "db", "cache", "api", "web", "gateway" })
                await Assertions.Expect(confirmation.Locator($"[data-testid=reconcile-{service}]")).ToHaveAttributeAsync("data-action", "Create", new() { Timeout = 30_000 });
            await page.ClickAsync("[data-testid=confirm-start]");

            await page.WaitForURLAsync("**/rollouts/**");
            await Assertions.Expect(page.Locator("[data-testid=rollout-state]")).ToHaveAttributeAsync("data-state", "Succeeded", new() { Timeout = 300_000 });
        }
        catch (Exception ex) when (ex is TimeoutException or PlaywrightException)
        {
            throw new TimeoutException($"{ex.Message}\n--- browser console ---\n{fixture.Console}\n--- web log ---\n{fixture.App.WebLog}\n--- worker log ---\n{fixture.App.WorkerLog}", ex);
        }

        foreach (var service in new[] { "db", "cache", "api", "web", "gateway" })
            await Assertions.Expect(page.Locator($"[data-testid=service-state-{service}]")).ToHaveAttributeAsync("data-state", "Ready");

        // The user's next click: the shop itself, through nginx on the published port, proxied to the web front by name.
        var shop = await page.Context.NewPageAsync();
        var response = await shop.GotoAsync($"http://127.0.0.1:{fixture.ShopGatewayPort}/");
        Assert.NotNull(response);
        Assert.Equal(200, response.Status);
        Assert.StartsWith("probe 1.0", (await shop.InnerTextAsync("body")).Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Viewer_sees_plans_and_rollouts_but_no_start_button()
    {
        var password = await fixture.App.CreateUserAsync("browser-viewer", "Viewer");
        var page = await fixture.SignedInPageAsync("browser-viewer", password);

        await page.GetByRole(AriaRole.Link, new() { Name = "Plans" }).ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "demo", Exact = true }).ClickAsync();
        try
        {
            await page.WaitForSelectorAsync("[data-testid=phases]");
        }
        catch (TimeoutException ex)
        {
            var body = await page.InnerTextAsync("body");
            throw new TimeoutException($"{ex.Message}\n{page.Url}\n--- page ---\n{body}\n--- console ---\n{fixture.Console}\n--- web log ---\n{fixture.App.WebLog}", ex);
        }

        await Assertions.Expect(page.Locator("[data-testid=no-start]")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("[data-testid=start-rollout]")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task Wrong_password_shows_a_message_on_the_login_page()
    {
        var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = fixture.App.BaseUrl.ToString() });
        var page = await context.NewPageAsync();
        await page.GotoAsync("/login");
        await page.FillAsync("#username", DeployDeckApp.AdminUser);
        await page.FillAsync("#password", "not-the-password");
        await page.ClickAsync("button[type=submit]");
        await Assertions.Expect(page.Locator("[data-testid=login-error]")).ToContainTextAsync("wrong password");
    }
}
