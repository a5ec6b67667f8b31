using DeployDeck.Tests.Shared;
using Microsoft.Playwright;

namespace DeployDeck.Browser.Tests;

/// <summary>A running DeployDeck and a headless Debian Chromium driven by Playwright.</summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    private readonly System.Text.StringBuilder _console = new();
    private IPlaywright? _playwright;

    /// <summary>What the browser logged: shown when a test fails.</summary>
    public string Console { get { lock (_console) return _console.ToString(); } }

    public DeployDeckApp App { get; private set; } = null!;

    /// <summary>The host port of the seeded shop's gateway: a free one, not the demo's default.</summary>
    public int ShopGatewayPort { get; } = DeployDeckApp.FreePort();

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        App = await DeployDeckApp.StartAsync(webSettings: new Dictionary<string, string>
        {
            ["DeployDeck__DemoGatewayPort"] = ShopGatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        _playwright = await Playwright.CreateAsync();
        var executable = Environment.GetEnvironmentVariable("PLAYWRIGHT_CHROMIUM_EXECUTABLE") ?? "/usr/bin/chromium";
        if (!File.Exists(executable))
            throw new InvalidOperationException($"Chromium not found at {executable}: ./deploydeck test installs Debian's chromium.");
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = executable,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage"],
        });
    }

    public async Task<IPage> SignedInPageAsync(string user, string password)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = App.BaseUrl.ToString() });
        context.SetDefaultTimeout(15_000);
        var page = await context.NewPageAsync();
        page.Console += (_, message) => { lock (_console) _console.AppendLine($"[{message.Type}] {message.Text}"); };
        page.Response += (_, response) => { if (response.Status >= 400) lock (_console) _console.AppendLine($"[http {response.Status}] {response.Url}"); };
        page.PageError += (_, error) => { lock (_console) _console.AppendLine($"[pageerror] {error}"); };
        await page.GotoAsync("/");
        await page.WaitForURLAsync("**/login**");
        await page.FillAsync("#username", user);
        await page.FillAsync("#password", password);
        await page.ClickAsync("button[type=submit]");
        // Clicks before the circuit is up can be lost between prerendering and interactive routing: wait for it.
        await page.WaitForSelectorAsync("[data-testid=current-user][data-interactive=true]", new() { Timeout = 30_000 });
        return page;
    }

    /// <summary>
    /// A host's page through the navigation, each click waiting for its page: the Overview has the same host link, and a
    /// click on it while the Hosts page is still on its way is overtaken by that page.
    /// </summary>
    public static async Task OpenHostAsync(IPage page, string host)
    {
        await page.GetByRole(AriaRole.Link, new() { Name = "Hosts" }).ClickAsync();
        await page.WaitForURLAsync(new System.Text.RegularExpressions.Regex("/hosts$"));
        await page.GetByRole(AriaRole.Link, new() { Name = host, Exact = true }).ClickAsync();
        await page.WaitForURLAsync(new System.Text.RegularExpressions.Regex("/hosts/[0-9a-f-]{36}$"));
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
            await Browser.DisposeAsync();
        _playwright?.Dispose();
        if (App is not null)
            await App.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "browser";
}
