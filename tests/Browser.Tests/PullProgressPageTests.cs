using System.Net;
using System.Net.Http.Json;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;
using DeployDeck.Tests.Shared;
using Microsoft.Playwright;

namespace DeployDeck.Browser.Tests;

[Collection(BrowserCollection.Name)]
public sealed class PullProgressPageTests(BrowserFixture fixture)
{
    [Fact]
    public async Task An_operator_starts_a_rollout_whose_image_is_pulled_and_watches_the_pull_progress_then_the_rollout_succeed()
    {
        var app = fixture.App;
        await using var registry = await TestRegistry.StartAsync();
        var tag = "t" + Guid.NewGuid().ToString("N")[..10];
        await registry.PushAsync("dd-watch/api", tag, paddingBytes: 24 * 1024 * 1024);
        // Through a proxy at 3 MB/s the 24 MB layer takes ~8 s: long enough to watch, as a real registry over a WAN.
        var slow = registry.StartSlowProxy(3 * 1024 * 1024);
        var image = $"{slow}/dd-watch/api:{tag}";
        using (var admin = app.CreateClient(await app.AdminTokenAsync()))
        {
            var login = await admin.PostAsJsonAsync("/api/registries", new { server = slow, username = registry.Username, password = registry.Password });
            Assert.Equal(HttpStatusCode.Created, login.StatusCode);
        }

        var planName = "pull-watch-" + tag[1..7];
        var planId = await app.SeedPlanAsync(planName, new PlanSpec(
        [
            new PhaseSpec
            {
                Name = "core", Soak = TimeSpan.Zero,
                Services = [new ServiceSpec { Name = "api", Image = image, Resources = new ResourceLimits(MemorySize.Parse("32m"), null, null, CpuShare.Parse("0.25")) }],
            },
        ]));
        var password = await app.CreateUserAsync("op-pull-watch", "Operator");
        var page = await fixture.SignedInPageAsync("op-pull-watch", password);
        try
        {
            await page.GotoAsync($"/plans/{planId}");
            await page.WaitForSelectorAsync("[data-testid=phases]");
            await page.ClickAsync("[data-testid=start-rollout]");
            await Assertions.Expect(page.Locator("[data-testid=reconcile-api]")).ToHaveAttributeAsync("data-action", "Create", new() { Timeout = 30_000 });
            await page.ClickAsync("[data-testid=confirm-start]");
            await page.WaitForURLAsync("**/rollouts/**");

            var progress = page.Locator("[data-testid=pull-progress]");
            await Assertions.Expect(progress).ToContainTextAsync($"Pulling {image}", new() { Timeout = 30_000 });
            await Assertions.Expect(progress).ToContainTextAsync(" of 24 MB");
            await Assertions.Expect(page.Locator("[data-testid=rollout-state]")).ToHaveAttributeAsync("data-state", "Succeeded", new() { Timeout = 120_000 });
            await Assertions.Expect(progress).ToHaveCountAsync(0);
            await Assertions.Expect(page.Locator("[data-testid=events]")).ToContainTextAsync("image.pulled");
        }
        catch (Exception ex) when (ex is TimeoutException or PlaywrightException)
        {
            throw new TimeoutException($"{ex.Message}\n--- browser console ---\n{fixture.Console}\n--- worker log ---\n{app.WorkerLog}", ex);
        }
        finally
        {
            using var docker = DeployDeckApp.Docker();
            foreach (var c in (await app.ContainersAsync()).Where(c => c.Image == image))
                await docker.Containers.RemoveContainerAsync(c.ID, new Docker.DotNet.Models.ContainerRemoveParameters { Force = true });
            await TestRegistry.RemoveLocalAsync(image);
        }
    }
}
