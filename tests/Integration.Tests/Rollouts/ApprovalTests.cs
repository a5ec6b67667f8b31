using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DeployDeck.Domain.Plans;
using DeployDeck.Integration.Tests.Api;

namespace DeployDeck.Integration.Tests.Rollouts;

public sealed class ApprovalTests() : AppPerClass(new Dictionary<string, string> { ["Approvals__FourEyes"] = "true" })
{
    [Fact]
    public async Task Fifty_simultaneous_approvals_promote_exactly_once_and_the_starter_cannot_approve()
    {
        var planId = await App.SeedPlanAsync("gated-promotion", new PlanSpec([
            new PhaseSpec { Name = "core", Promotion = PromotionMode.NeedsApproval, Services = [Probe("db")] },
            new PhaseSpec { Name = "business", Services = [Probe("auth")] },
        ]));
        var starterPassword = await App.CreateUserAsync("starter", "Operator", "Approver");
        using var starter = App.CreateClient(await App.TokenAsync("starter", starterPassword));
        var started = await starter.PostAsJsonAsync("/api/rollouts", new { planId, hostId = await App.HostIdAsync() });
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        var deadline = DateTime.UtcNow.AddMinutes(2);
        JsonElement rollout;
        do
        {
            await Task.Delay(300);
            rollout = await starter.GetFromJsonAsync<JsonElement>($"/api/rollouts/{id}");
        }
        while (rollout.GetProperty("state").GetString() != "AwaitingApproval" && DateTime.UtcNow < deadline);
        Assert.Equal("AwaitingApproval", rollout.GetProperty("state").GetString());

        var own = await starter.PostAsJsonAsync($"/api/rollouts/{id}/approve", new { comment = "mine" });
        Assert.Equal(HttpStatusCode.Forbidden, own.StatusCode);
        Assert.Contains("another Approver", await own.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var viewer = App.CreateClient(await App.TokenAsync("approve-viewer", await App.CreateUserAsync("approve-viewer", "Viewer")));
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsJsonAsync($"/api/rollouts/{id}/approve", new { })).StatusCode);

        using var approver = App.CreateClient(await App.TokenAsync("approver", await App.CreateUserAsync("approver", "Approver")));
        var answers = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => approver.PostAsJsonAsync($"/api/rollouts/{id}/approve", new { comment = "gates green, soak clean" })));
        Assert.Equal(1, answers.Count(a => a.StatusCode == HttpStatusCode.OK));
        Assert.Equal(49, answers.Count(a => a.StatusCode == HttpStatusCode.Conflict));

        var final = await RolloutApiTests.WaitForFinalAsync(approver, id, TimeSpan.FromMinutes(2));
        Assert.Equal("Succeeded", final.GetProperty("state").GetString());
        var approvals = final.GetProperty("events").EnumerateArray().Where(e => e.GetProperty("kind").GetString() == "phase.approved").ToList();
        var approval = Assert.Single(approvals);
        Assert.Equal("approver approved the promotion to 'business': gates green, soak clean", approval.GetProperty("message").GetString());
        Assert.Equal(1L, await App.QueryScalarAsync<long>("SELECT count(*) FROM audit_entries WHERE \"Action\" = 'rollout.approved'"));
        Assert.Single(final.GetProperty("events").EnumerateArray(), e => e.GetProperty("kind").GetString() == "phase.started" && e.GetProperty("phase").GetString() == "business");

        // The first phase went on the launcher's host check of a moment before; the next one, after a wait for a
        // person, measured the host again.
        var admitted = final.GetProperty("events").EnumerateArray().Where(e => e.GetProperty("kind").GetString() == "phase.admitted")
            .ToDictionary(e => e.GetProperty("phase").GetString()!, e => e.GetProperty("message").GetString()!);
        Assert.Contains("(the launch check, ", admitted["core"], StringComparison.Ordinal);
        Assert.DoesNotContain("launch check", admitted["business"], StringComparison.Ordinal);
        Assert.Matches("^Host (GREEN|YELLOW) ", admitted["business"]);
    }
}
