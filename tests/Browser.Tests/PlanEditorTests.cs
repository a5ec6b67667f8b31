using Microsoft.Playwright;

namespace DeployDeck.Browser.Tests;

[Collection(BrowserCollection.Name)]
public sealed class PlanEditorTests(BrowserFixture fixture)
{
    private const string Stack = """
        services:
          db:
            image: postgres:16
            mem_limit: 512m
            mem_reservation: 256m
            cpus: 1
            restart: unless-stopped
          api:
            image: acme/api:1
            mem_limit: 256m
            depends_on: [db]
            restart: unless-stopped
          reports:
            image: acme/reports:1
            mem_limit: 384m
            depends_on: [api]
        """;

    private static ILocator Input(IPage page, string testId) =>
        page.Locator($"[data-testid={testId}] input, input[data-testid={testId}]").First;

    [Fact]
    public async Task Operator_imports_a_file_moves_and_edits_services_sees_totals_change_and_saves_a_revision()
    {
        var password = await fixture.App.CreateUserAsync("editor-op", "Operator");
        var page = await fixture.SignedInPageAsync("editor-op", password);
        var file = Path.Combine(Path.GetTempPath(), $"compose-{Guid.NewGuid():N}.yml");
        await File.WriteAllTextAsync(file, Stack);
        try
        {
            await page.GetByRole(AriaRole.Link, new() { Name = "Plans" }).ClickAsync();
            await page.ClickAsync("[data-testid=import-plan]");
            await Input(page, "import-name").FillAsync("editor-stack");
            await page.Locator("[data-testid=import-files]").SetInputFilesAsync(file);
            await Assertions.Expect(page.Locator("[data-testid=import-file]")).ToHaveCountAsync(1);
            await page.ClickAsync("[data-testid=import-submit]");

            await page.WaitForURLAsync("**/plans/*-*");
            var core = page.Locator("[data-testid=phase-limits-core]");
            await Assertions.Expect(core).ToContainTextAsync("limits 768 MB");
            await Assertions.Expect(page.Locator("[data-testid=phase-analytics] [data-testid=service-reports]")).ToBeVisibleAsync();
            await Assertions.Expect(page.Locator("[data-testid=save-revision]")).ToBeDisabledAsync();

            // Move reports into core: the core total grows by its 384 MB at once.
            await page.Locator("[data-testid=move-reports] button").ClickAsync();
            await page.ClickAsync("[data-testid=move-reports-to-core]");
            await Assertions.Expect(page.Locator("[data-testid=phase-core] [data-testid=service-reports]")).ToBeVisibleAsync();
            await Assertions.Expect(core).ToContainTextAsync("limits 1.13 GB");

            // A reservation above the limit is caught inline and blocks saving.
            await page.ClickAsync("[data-testid=edit-api]");
            await Input(page, "edit-memory-reservation").FillAsync("1g");
            await page.ClickAsync("[data-testid=apply-edit]");
            await Assertions.Expect(page.Locator("[data-testid=error-api]")).ToContainTextAsync("larger than its limit");
            await Assertions.Expect(page.Locator("[data-testid=save-revision]")).ToBeDisabledAsync();

            await page.ClickAsync("[data-testid=edit-api]");
            await Input(page, "edit-memory-reservation").FillAsync("128m");
            await Input(page, "edit-memory-limit").FillAsync("300m");
            await Input(page, "gate-value").FillAsync("http://127.0.0.1:8080/health");
            await page.ClickAsync("[data-testid=add-gate]");
            await Assertions.Expect(page.Locator("[data-testid=gate]")).ToContainTextAsync("GET http://127.0.0.1:8080/health answers 200–399");
            await page.ClickAsync("[data-testid=apply-edit]");
            await Assertions.Expect(page.Locator("[data-testid=error-api]")).ToHaveCountAsync(0);
            await Assertions.Expect(core).ToContainTextAsync("limits 1.17 GB");

            await Input(page, "revision-comment").FillAsync("reports with the core");
            await page.ClickAsync("[data-testid=save-revision]");
            await Assertions.Expect(page.Locator("[data-testid=revision]")).ToContainTextAsync("revision 2");
            await Assertions.Expect(page.Locator("[data-testid=revisions] tbody tr")).ToHaveCountAsync(2);

            await page.ClickAsync("[data-testid=compare-2]");
            var changes = page.Locator("[data-testid=changes]");
            await Assertions.Expect(changes).ToContainTextAsync("service reports");
            await Assertions.Expect(changes).ToContainTextAsync("300 MB");
            await Assertions.Expect(changes).ToContainTextAsync("GET http://127.0.0.1:8080/health answers 200–399");

            // What the browser saved is what the API reads.
            await page.ReloadAsync();
            await Assertions.Expect(page.Locator("[data-testid=phase-core] [data-testid=service-reports]")).ToBeVisibleAsync();
            await Assertions.Expect(page.Locator("[data-testid=service-limits-api]")).ToContainTextAsync("mem 300 MB");
        }
        catch (Exception ex) when (ex is TimeoutException or PlaywrightException)
        {
            throw new TimeoutException($"{ex.Message}\n--- browser console ---\n{fixture.Console}\n--- web log ---\n{fixture.App.WebLog}", ex);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Viewer_sees_the_plan_without_editing_controls_and_cannot_open_the_import_page()
    {
        var password = await fixture.App.CreateUserAsync("editor-viewer", "Viewer");
        var page = await fixture.SignedInPageAsync("editor-viewer", password);
        await page.GetByRole(AriaRole.Link, new() { Name = "Plans" }).ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=import-plan]")).ToHaveCountAsync(0);
        await page.GetByRole(AriaRole.Link, new() { Name = "demo", Exact = true }).ClickAsync();
        await page.WaitForSelectorAsync("[data-testid=phases]");
        await Assertions.Expect(page.Locator("[data-testid=save-revision]")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("[data-testid^=edit-]")).ToHaveCountAsync(0);

        await page.GotoAsync("/plans/import");
        await Assertions.Expect(page.Locator("[data-testid=import-submit]")).ToHaveCountAsync(0);
    }
}
