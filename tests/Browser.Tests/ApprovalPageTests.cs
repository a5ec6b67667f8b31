using System.Net.Http.Json;
using System.Text.Json;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;
using Microsoft.Playwright;
using DeployDeck.Tests.Shared;

namespace DeployDeck.Browser.Tests;

[Collection(BrowserCollection.Name)]
public sealed class ApprovalPageTests(BrowserFixture fixture)
{
    [Fact]
    public async Task Approver_sees_the_gate_evidence_and_approves_the_promotion()
    {
        var app = fixture.App;
        ServiceSpec Probe(string name) => new()
        {
            Name = name,
            Image = "deploydeck/probe:latest",
            Resources = new ResourceLimits(MemorySize.Parse("32m"), null, null, CpuShare.Parse("0.25")),
            Gates = [new GateSpec { Kind = GateKind.Exec, Command = ["/bin/sh", "-c", "true"] }],
        };
        var planId = await app.SeedPlanAsync("approve-me", new PlanSpec([
            // A soak long enough for the sampler to see the phase (it samples every second).
            new PhaseSpec { Name = "core", Promotion = PromotionMode.NeedsApproval, Soak = TimeSpan.FromSeconds(5), Services = [Probe("db")] },
            new PhaseSpec { Name = "business", Services = [Probe("auth")] },
        ]));
        using var op = app.CreateClient(await app.TokenAsync("approval-op", await app.CreateUserAsync("approval-op", "Operator")));
        var started = await op.PostAsJsonAsync("/api/rollouts", new { planId, hostId = await app.HostIdAsync() });
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        try
        {
            await ApproveInTheBrowserAsync(op, id);
        }
        finally
        {
            // The browser tests share one host: a rollout left waiting would make the next tests' starts 409.
            await op.PostAsJsonAsync($"/api/rollouts/{id}/abort", new { reason = "test cleanup" });
        }
    }

    private async Task ApproveInTheBrowserAsync(HttpClient op, Guid id)
    {
        var app = fixture.App;

        // The Approver comes once the sampler has recorded what the passed phase used (it flushes every few seconds).
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!(await op.GetFromJsonAsync<JsonElement>($"/api/rollouts/{id}/usage")).EnumerateArray()
            .Any(u => u.GetProperty("phaseIndex").GetInt32() == 0 && u.GetProperty("subject").GetString() == "Rollout"))
        {
            Assert.True(DateTime.UtcNow < deadline, "no usage recorded for phase core:\n" + app.WorkerLog);
            await Task.Delay(500);
        }

        var password = await app.CreateUserAsync("approval-lead", "Approver");
        var page = await fixture.SignedInPageAsync("approval-lead", password);
        await page.GotoAsync($"/rollouts/{id}");
        await Assertions.Expect(page.Locator("[data-testid=rollout-state]")).ToHaveAttributeAsync("data-state", "AwaitingApproval", new() { Timeout = 60_000 });
        await Assertions.Expect(page.Locator("[data-testid=evidence]")).ToContainTextAsync("exits 0: exit 0");
        await Assertions.Expect(page.Locator("[data-testid=next-phase-forecast]")).ToContainTextAsync("Next phase 'business': admitted — predicted peak", new() { Timeout = 30_000 });
        await Assertions.Expect(page.Locator("[data-testid=passed-peak]")).ToContainTextAsync("Phase 'core': its containers peaked at ");
        await Assertions.Expect(page.Locator("[data-testid=phase-step][data-phase=core]")).ToHaveAttributeAsync("data-state", "Passed");

        await page.Locator("[data-testid=approval-comment] input, input[data-testid=approval-comment]").First.FillAsync("db gates green");
        await page.ClickAsync("[data-testid=approve]");
        await Assertions.Expect(page.Locator("[data-testid=rollout-state]")).ToHaveAttributeAsync("data-state", "Succeeded", new() { Timeout = 60_000 });
        await Assertions.Expect(page.Locator("[data-testid=events]")).ToContainTextAsync("approval-lead approved the promotion to 'business': db gates green");
    }

    [Fact]
    public async Task Operator_aborts_a_soaking_rollout_from_its_page_and_sees_it_roll_back()
    {
        var app = fixture.App;
        var planId = await app.SeedPlanAsync("abort-in-browser", new PlanSpec([new PhaseSpec
        {
            Name = "core",
            Soak = TimeSpan.FromMinutes(5),
            Services = [new ServiceSpec { Name = "cache", Image = "deploydeck/probe:latest", Resources = new ResourceLimits(MemorySize.Parse("32m"), null, null, CpuShare.Parse("0.25")) }],
        }]));
        var password = await app.CreateUserAsync("abort-op", "Operator");
        using var op = app.CreateClient(await app.TokenAsync("abort-op", password));
        var started = await op.PostAsJsonAsync("/api/rollouts", new { planId, hostId = await app.HostIdAsync() });
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        var page = await fixture.SignedInPageAsync("abort-op", password);
        await page.GotoAsync($"/rollouts/{id}");
        await Assertions.Expect(page.Locator("[data-testid=events]")).ToContainTextAsync("phase.soaking", new() { Timeout = 60_000 });
        await page.ClickAsync("[data-testid=abort]");
        await Assertions.Expect(page.Locator("[data-testid=rollout-state]")).ToHaveAttributeAsync("data-state", "Aborted", new() { Timeout = 60_000 });
        await Assertions.Expect(page.Locator("[data-testid=events]")).ToContainTextAsync("Aborted by abort-op");
    }

    [Fact]
    public async Task Operator_watches_a_failing_gate_roll_the_phase_back_to_the_previous_version_live()
    {
        var app = fixture.App;
        ServiceSpec Api(string image, Dictionary<string, string> env, GateSpec gate) => new()
        {
            Name = "api",
            Image = image,
            Environment = env,
            Restart = new RestartPolicy(RestartMode.UnlessStopped),
            Resources = new ResourceLimits(MemorySize.Parse("32m"), null, null, CpuShare.Parse("0.25")),
            HealthCheck = ProbeSpecs.Health(3, TimeSpan.FromSeconds(30)),
            Gates = [gate],
        };
        var logs = new GateSpec { Kind = GateKind.Logs, Pattern = "ERROR", WindowSeconds = 60 };
        var planId = await app.SeedPlanAsync("fails-live", new PlanSpec([new PhaseSpec { Name = "core", Services = [Api("deploydeck/probe:latest", [], logs)] }]));
        var password = await app.CreateUserAsync("watch-op", "Operator");
        using var op = app.CreateClient(await app.TokenAsync("watch-op", password));
        var first = await op.PostAsJsonAsync("/api/rollouts", new { planId, hostId = await app.HostIdAsync() });
        var firstId = (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var page = await fixture.SignedInPageAsync("watch-op", password);
        await page.GotoAsync($"/rollouts/{firstId}");
        try
        {
            // As long as RolloutPageTests allows: the browser suite shares one Worker (4 jobs at once) and one host.
            await Assertions.Expect(page.Locator("[data-testid=rollout-state]")).ToHaveAttributeAsync("data-state", "Succeeded", new() { Timeout = 120_000 });
        }
        catch (PlaywrightException ex)
        {
            throw new TimeoutException($"{ex.Message}\n--- events ---\n{await page.Locator("[data-testid=events]").InnerTextAsync()}\n--- worker log ---\n{app.WorkerLog}", ex);
        }

        // Version 2 logs an error every second once it starts (after 4 s): the log gate catches it.
        await app.AddRevisionAsync(planId, new PlanSpec([new PhaseSpec
        {
            Name = "core",
            Services = [Api("deploydeck/probe:v2", new() { ["PROBE_ERROR_EVERY"] = "1", ["PROBE_START_DELAY"] = "4" }, logs)],
        }]));
        var second = await op.PostAsJsonAsync("/api/rollouts", new { planId, hostId = await app.HostIdAsync() });
        var id = (await second.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        await page.GotoAsync($"/rollouts/{id}");
        await Assertions.Expect(page.Locator("[data-testid=live-status]")).ToHaveTextAsync("live");

        var failedGate = page.Locator("[data-testid=gates-api] [data-testid=gate-chip][data-passed=false]");
        await Assertions.Expect(failedGate).ToContainTextAsync("logs: matched: ERROR probe failure simulated", new() { Timeout = 60_000 });
        await Assertions.Expect(page.Locator("[data-testid=phase-step][data-phase=core]")).ToHaveAttributeAsync("data-state", "RolledBack", new() { Timeout = 60_000 });
        await Assertions.Expect(page.Locator("[data-testid=rollout-state]")).ToHaveAttributeAsync("data-state", "RolledBack");
        await Assertions.Expect(page.Locator("[data-testid=events]")).ToContainTextAsync("1 previous container(s) back and passing their gates");
    }
}
