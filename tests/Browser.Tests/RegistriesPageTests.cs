using DeployDeck.Tests.Shared;
using Microsoft.Playwright;

namespace DeployDeck.Browser.Tests;

[Collection(BrowserCollection.Name)]
public sealed class RegistriesPageTests(BrowserFixture fixture)
{
    [Fact]
    public async Task An_admin_adds_a_registry_login_on_the_page_never_sees_its_password_again_and_an_operator_is_kept_out()
    {
        var app = fixture.App;
        var server = $"reg-{Guid.NewGuid().ToString("N")[..8]}.example.com:5000";
        var secret = "pw-" + Guid.NewGuid().ToString("N");
        var admin = await fixture.SignedInPageAsync(DeployDeckApp.AdminUser, app.AdminPassword);
        await admin.GotoAsync("/");
        await admin.GetByRole(AriaRole.Link, new() { Name = "Registries", Exact = true }).ClickAsync();
        await admin.WaitForURLAsync("**/registries");
        await Assertions.Expect(admin.Locator("[data-testid=current-user]")).ToHaveAttributeAsync("data-interactive", "true");

        async Task FillAsync(string testId, string value) => await admin.Locator($"[data-testid={testId}] input, input[data-testid={testId}]").First.FillAsync(value);
        await FillAsync("registry-server", "not a server");
        await FillAsync("registry-username", "ci");
        await FillAsync("registry-password", secret);
        await admin.Locator("[data-testid=add-registry]").ClickAsync();
        await Assertions.Expect(admin.Locator("[data-testid=registry-error]")).ToContainTextAsync("is not a registry server");

        await FillAsync("registry-server", "https://" + server + "/v2/");
        await FillAsync("registry-password", secret); // cleared after every attempt
        await admin.Locator("[data-testid=add-registry]").ClickAsync();
        var row = admin.Locator($"[data-testid=registry-row][data-server='{server}']");
        await Assertions.Expect(row).ToContainTextAsync("ci");
        Assert.DoesNotContain(secret, await admin.ContentAsync(), StringComparison.Ordinal);

        await row.Locator("[data-testid=change-password]").ClickAsync();
        var newSecret = "pw2-" + Guid.NewGuid().ToString("N");
        await row.Locator("[data-testid=registry-new-password] input, input[data-testid=registry-new-password]").First.FillAsync(newSecret);
        await row.Locator("[data-testid=save-password]").ClickAsync();
        await Assertions.Expect(row.Locator("[data-testid=change-password]")).ToBeVisibleAsync();
        Assert.DoesNotContain(newSecret, await admin.ContentAsync(), StringComparison.Ordinal);
        Assert.Equal(1, await app.QueryScalarAsync<long>($"SELECT count(*) FROM audit_entries WHERE \"Action\" = 'registry.changed' AND \"Subject\" = 'registry {server}' AND \"Details\" = 'password replaced'"));

        var opPassword = await app.CreateUserAsync("op-registry-page", "Operator");
        var op = await fixture.SignedInPageAsync("op-registry-page", opPassword);
        await op.GotoAsync("/registries");
        await Assertions.Expect(op.GetByText("Your role does not allow this")).ToBeVisibleAsync();
        Assert.DoesNotContain(server, await op.ContentAsync(), StringComparison.Ordinal);
        await Assertions.Expect(op.GetByRole(AriaRole.Link, new() { Name = "Registries", Exact = true })).ToHaveCountAsync(0);

        await row.Locator("[data-testid=remove-registry]").ClickAsync();
        await Assertions.Expect(admin.Locator($"[data-testid=registry-row][data-server='{server}']")).ToHaveCountAsync(0);
    }
}
