using System.Globalization;
using DeployDeck.Tests.Shared;
using Microsoft.Playwright;

namespace DeployDeck.Browser.Tests;

[Collection(BrowserCollection.Name)]
public sealed class MonitoringPageTests(BrowserFixture fixture)
{
    private static async Task<long> NumberAsync(ILocator locator, string attribute) =>
        long.TryParse(await locator.GetAttributeAsync(attribute), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : 0;

    [Fact]
    public async Task Host_page_draws_the_chart_and_memory_bar_live_while_a_probe_allocates_memory()
    {
        using var docker = DeployDeckApp.Docker();
        var password = await fixture.App.CreateUserAsync("monitor-viewer", "Viewer");
        var page = await fixture.SignedInPageAsync("monitor-viewer", password);
        await BrowserFixture.OpenHostAsync(page, "local");

        // Started once the page is open, allocating 15 s later: the page shows its small figure before the memory grows
        // (new containers are listed within 5 s).
        var id = await ProbeContainers.StartAsync(docker, "ui-hog", new Dictionary<string, string> { ["PROBE_ALLOC_MB"] = "40", ["PROBE_ALLOC_AFTER"] = "15" });
        try
        {
            var name = await ProbeContainers.NameAsync(docker, id);
            var row = page.Locator($"[data-testid=container-row][data-container='{name}']");
            var bar = row.Locator("[data-testid=mem-bar]");
            var hostChart = page.Locator("[data-testid=host-chart]");
            try
            {
                await Assertions.Expect(bar).ToHaveCountAsync(1, new() { Timeout = 30_000 });
                await Assertions.Expect(page.Locator("[data-testid=gauge-memory]")).ToBeVisibleAsync();
                await Assertions.Expect(hostChart.Locator("svg path").First).ToBeAttachedAsync();
                var before = await NumberAsync(bar, "data-bytes");
                var samplesBefore = await NumberAsync(hostChart, "data-samples");
                Assert.InRange(before, 1, 20L << 20);

                await row.ClickAsync();
                var containerChart = page.Locator($"[data-testid=container-chart][data-container='{name}']");
                await Assertions.Expect(containerChart).ToBeVisibleAsync();
                var containerSamplesBefore = await NumberAsync(containerChart, "data-samples");

                // Pushed, not polled: the bar passes 35 MB and both charts gain points without any reload.
                await page.WaitForFunctionAsync(
                    "([n]) => Number(document.querySelector(`[data-testid=container-row][data-container='${n}'] [data-testid=mem-bar]`)?.dataset.bytes ?? 0) > 35 * 1048576",
                    new object[] { name }, new() { Timeout = 45_000, PollingInterval = 250 });
                // A chart is redrawn every LiveStats:ChartRedraw, not with every sample: each gains points within two redraws.
                await page.WaitForFunctionAsync(
                    "([n, host, container]) => Number(document.querySelector('[data-testid=host-chart]')?.dataset.samples ?? 0) > host + 3"
                    + " && Number(document.querySelector(`[data-testid=container-chart][data-container='${n}']`)?.dataset.samples ?? 0) > container + 3",
                    new object[] { name, samplesBefore, containerSamplesBefore }, new() { Timeout = 30_000, PollingInterval = 250 });
                await Assertions.Expect(containerChart.Locator("svg path").First).ToBeAttachedAsync();

                // Throttled: a few renders a second at most, however many samples arrive.
                var renders1 = await NumberAsync(page.Locator("[data-testid=host-live]"), "data-renders");
                await Task.Delay(TimeSpan.FromSeconds(4));
                var renders2 = await NumberAsync(page.Locator("[data-testid=host-live]"), "data-renders");
                Assert.InRange(renders2 - renders1, 1, 4 * 3 + 2);
            }
            catch (PlaywrightException ex)
            {
                throw new TimeoutException($"{ex.Message}\n--- console ---\n{fixture.Console}\n--- worker log ---\n{fixture.App.WorkerLog}\n--- web log ---\n{fixture.App.WebLog}", ex);
            }
        }
        finally
        {
            await ProbeContainers.RemoveAsync(docker, [id]);
        }
    }
}
