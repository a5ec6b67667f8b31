using System.Net;
using System.Net.Http.Json;
using DeployDeck.Tests.Shared;
using Microsoft.Playwright;

namespace DeployDeck.Browser.Tests;

[Collection(BrowserCollection.Name)]
public sealed class UsersPageTests(BrowserFixture fixture)
{
    [Fact]
    public async Task An_admin_disables_a_user_on_the_page_and_the_users_open_tab_signs_out_within_seconds_then_resets_and_deletes()
    {
        var app = fixture.App;
        var password = await app.CreateUserAsync("tab-user", "Operator");
        var user = await fixture.SignedInPageAsync("tab-user", password);
        await user.GotoAsync("/plans");
        await Assertions.Expect(user.Locator("[data-testid=current-user]")).ToContainTextAsync("tab-user");

        var admin = await fixture.SignedInPageAsync(DeployDeckApp.AdminUser, app.AdminPassword);
        await admin.GotoAsync("/users");
        var row = admin.Locator("[data-testid=user-row][data-user=tab-user]");
        await row.Locator("[data-testid=disable-user]").ClickAsync();
        await Assertions.Expect(admin.Locator("[data-testid=users-notice]")).ToContainTextAsync("tab-user is disabled");
        await Assertions.Expect(row.Locator("[data-testid=user-state]")).ToHaveTextAsync("disabled");

        // The open page re-checks its user every few seconds (Auth:CheckInterval, 5 s): no click needed to find out.
        await user.WaitForURLAsync("**/login**", new() { Timeout = 20_000 });

        await row.Locator("[data-testid=enable-user]").ClickAsync();
        await Assertions.Expect(row.Locator("[data-testid=user-state]")).ToHaveTextAsync("active");
        await row.Locator("[data-testid=reset-password]").ClickAsync();
        await row.Locator("[data-testid=new-password] input, input[data-testid=new-password]").First.FillAsync("a-new-password-from-the-page");
        await row.Locator("[data-testid=save-password]").ClickAsync();
        await Assertions.Expect(admin.Locator("[data-testid=users-notice]")).ToContainTextAsync("New password set for tab-user");
        using (var client = app.CreateClient())
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsJsonAsync("/api/tokens", new { username = "tab-user", password, name = "x" })).StatusCode);
            Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/api/tokens", new { username = "tab-user", password = "a-new-password-from-the-page", name = "x" })).StatusCode);
        }

        await row.Locator("[data-testid=delete-user]").ClickAsync();
        await row.Locator("[data-testid=confirm-delete]").ClickAsync();
        await Assertions.Expect(admin.Locator("[data-testid=users-notice]")).ToContainTextAsync("Deleted tab-user");
        await Assertions.Expect(admin.Locator("[data-testid=user-row][data-user=tab-user]")).ToHaveCountAsync(0);
    }
}
