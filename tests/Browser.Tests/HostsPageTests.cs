using System.Net.Http.Json;
using DeployDeck.Tests.Shared;
using Microsoft.Playwright;

namespace DeployDeck.Browser.Tests;

[Collection(BrowserCollection.Name)]
public sealed class HostsPageTests(BrowserFixture fixture)
{
    private static ILocator Field(IPage page, string id) =>
        page.Locator($"[data-testid={id}] input, [data-testid={id}] textarea, input[data-testid={id}], textarea[data-testid={id}]").First;

    [Fact]
    public async Task Admin_tests_and_adds_a_tls_host_on_the_page_and_its_card_goes_live_then_offline()
    {
        await using var engine = await ExtraEngine.StartAsync(EngineAccess.Tls);
        var page = await fixture.SignedInPageAsync(DeployDeckApp.AdminUser, fixture.App.AdminPassword);
        await page.GetByRole(AriaRole.Link, new() { Name = "Hosts" }).ClickAsync();
        try
        {
            await Field(page, "host-name").FillAsync("browser-tls");
            await Field(page, "host-endpoint").FillAsync(engine.Endpoint);
            await Field(page, "host-endpoint").BlurAsync();
            await Field(page, "host-ca").FillAsync(engine.CaPem!);
            await Field(page, "host-cert").FillAsync(engine.ClientCertPem!);
            await Field(page, "host-key").FillAsync(engine.ClientKeyPem!);
            await page.ClickAsync("[data-testid=host-form-test]");
            await Assertions.Expect(page.Locator("[data-testid=host-facts]")).ToContainTextAsync("Engine 20.10", new() { Timeout = 30_000 });
            await Assertions.Expect(page.Locator("[data-testid=host-facts]")).ToContainTextAsync("swarm inactive");

            await page.ClickAsync("[data-testid=host-save]");
            await Assertions.Expect(page.Locator("[data-testid=host-row-message]")).ToContainTextAsync("Host 'browser-tls' added", new() { Timeout = 20_000 });
            var card = page.Locator("[data-testid=host-card][data-host=browser-tls]");
            await Assertions.Expect(card).ToBeVisibleAsync(new() { Timeout = 20_000 });
            // The Worker samples the new host (within its 10 s host refresh) and the card shows its bands and counts.
            await Assertions.Expect(card.Locator("[data-testid=host-counts]")).ToContainTextAsync("running", new() { Timeout = 60_000 });
            await Assertions.Expect(page.Locator("body")).Not.ToContainTextAsync("BEGIN PRIVATE KEY");

            await engine.KillDockerdAsync();
            await Assertions.Expect(card.Locator("[data-testid=host-offline-since]")).ToContainTextAsync("Offline since", new() { Timeout = 60_000 });
            await Assertions.Expect(page.Locator("[data-testid=host-card][data-host=local]")).Not.ToHaveAttributeAsync("data-offline", "True");
        }
        catch (PlaywrightException ex)
        {
            throw new TimeoutException($"{ex.Message}\n--- console ---\n{fixture.Console}\n--- web log ---\n{fixture.App.WebLog}\n--- worker ---\n{fixture.App.WorkerLog}", ex);
        }
        finally
        {
            // The suite's other tests share this DeployDeck: the host goes with its engine.
            using var admin = fixture.App.CreateClient(await fixture.App.AdminTokenAsync());
            foreach (var host in System.Text.Json.JsonDocument.Parse(await admin.GetStringAsync("/api/hosts")).RootElement.EnumerateArray()
                         .Where(h => h.GetProperty("name").GetString() == "browser-tls"))
                await admin.DeleteAsync($"/api/hosts/{host.GetProperty("id").GetGuid()}");
        }
    }

    [Fact]
    public async Task Admin_edits_a_host_on_the_page_a_bad_endpoint_is_refused_naming_it_and_nothing_is_saved()
    {
        using var admin = fixture.App.CreateClient(await fixture.App.AdminTokenAsync());
        var name = $"browser-edit-{Guid.NewGuid():N}"[..20];
        var created = await admin.PostAsJsonAsync("/api/hosts", new { name, endpoint = $"unix:///run/{name}.sock", description = "before" });
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        var id = (await created.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("id").GetGuid();
        var renamed = $"{name}-x";
        try
        {
            var page = await fixture.SignedInPageAsync(DeployDeckApp.AdminUser, fixture.App.AdminPassword);
            await page.GotoAsync("/hosts");
            var row = page.Locator($"[data-testid=host-row][data-host={name}]");
            await row.Locator("[data-testid=host-edit]").ClickAsync();
            await Assertions.Expect(page.Locator("[data-testid=host-form-title]")).ToHaveTextAsync($"Edit host '{name}'");
            await Assertions.Expect(Field(page, "host-endpoint")).ToHaveValueAsync($"unix:///run/{name}.sock");

            await Field(page, "host-endpoint").FillAsync("ftp://nowhere");
            await Field(page, "host-endpoint").BlurAsync();
            await page.ClickAsync("[data-testid=host-save]");
            await Assertions.Expect(page.Locator("[data-testid=host-error]")).ToContainTextAsync("'ftp://' is not supported");
            var unchanged = await admin.GetFromJsonAsync<System.Text.Json.JsonElement>($"/api/hosts/{id}");
            Assert.Equal($"unix:///run/{name}.sock", unchanged.GetProperty("endpoint").GetString());

            await Field(page, "host-name").FillAsync(renamed);
            await Field(page, "host-endpoint").FillAsync($"unix:///run/{name}-2.sock");
            await Field(page, "host-endpoint").BlurAsync();
            await page.ClickAsync("[data-testid=host-save]");
            await Assertions.Expect(page.Locator("[data-testid=host-row-message]")).ToContainTextAsync($"Host '{renamed}' saved");
            await Assertions.Expect(page.Locator($"[data-testid=host-row][data-host={renamed}]")).ToContainTextAsync($"unix:///run/{name}-2.sock");
            await Assertions.Expect(page.Locator("[data-testid=host-form-title]")).ToHaveTextAsync("Add a host");
            var saved = await admin.GetFromJsonAsync<System.Text.Json.JsonElement>($"/api/hosts/{id}");
            Assert.Equal(renamed, saved.GetProperty("name").GetString());
            Assert.Equal("before", saved.GetProperty("description").GetString());
        }
        catch (PlaywrightException ex)
        {
            throw new TimeoutException($"{ex.Message}\n--- console ---\n{fixture.Console}\n--- web log ---\n{fixture.App.WebLog}", ex);
        }
        finally
        {
            await admin.DeleteAsync($"/api/hosts/{id}");
        }
    }
}
