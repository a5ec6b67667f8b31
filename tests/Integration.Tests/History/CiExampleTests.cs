using System.Diagnostics;
using DeployDeck.Domain.Plans;
using DeployDeck.Tests.Shared;

namespace DeployDeck.Integration.Tests.History;

/// <summary>The README's CI snippet, run as written with bash, curl and jq against a real DeployDeck.</summary>
public sealed class CiExampleTests() : AppPerClass()
{
    private static string Snippet()
    {
        var readme = File.ReadAllText(Path.Combine(DeployDeckApp.RepoRoot, "README.md"));
        var start = readme.IndexOf("<!-- ci-example -->", StringComparison.Ordinal);
        var end = readme.IndexOf("<!-- /ci-example -->", StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, "README.md has no ci-example block");
        var block = readme[start..end];
        return block[(block.IndexOf("```bash", StringComparison.Ordinal) + "```bash".Length)..block.LastIndexOf("```", StringComparison.Ordinal)];
    }

    private async Task<(int ExitCode, string Output)> RunAsync(Guid planId)
    {
        var info = new ProcessStartInfo("bash") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.Environment["DEPLOYDECK_URL"] = App.BaseUrl.ToString().TrimEnd('/');
        info.Environment["DEPLOYDECK_TOKEN"] = await App.AdminTokenAsync();
        info.Environment["PLAN_ID"] = planId.ToString();
        info.Environment["HOST_ID"] = (await App.HostIdAsync()).ToString();
        using var bash = Process.Start(info)!;
        await bash.StandardInput.WriteAsync(Snippet());
        bash.StandardInput.Close();
        var output = bash.StandardOutput.ReadToEndAsync();
        var error = bash.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await bash.WaitForExitAsync(timeout.Token);
        return (bash.ExitCode, await output + await error);
    }

    [Fact]
    public async Task The_readme_ci_step_passes_when_the_rollout_succeeds_and_fails_when_it_is_rolled_back()
    {
        var good = await App.SeedPlanAsync("ci-good", new PlanSpec([new PhaseSpec { Name = "core", Services = [Probe("web")] }]));
        var bad = await App.SeedPlanAsync("ci-bad", new PlanSpec([new PhaseSpec
        {
            Name = "core",
            Services = [Probe("web") with { Gates = [new GateSpec { Kind = GateKind.Exec, Command = ["/bin/sh", "-c", "exit 3"] }] }],
        }]));

        var (passed, passedOutput) = await RunAsync(good);
        var (failed, failedOutput) = await RunAsync(bad);

        Assert.True(passed == 0, passedOutput + "\n--- worker ---\n" + App.WorkerLog);
        Assert.Contains("rollout succeeded", passedOutput, StringComparison.Ordinal);
        Assert.True(failed == 1, failedOutput);
        Assert.Contains("rollout ended RolledBack", failedOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_readme_ci_step_fails_at_once_with_the_reason_when_the_start_is_refused()
    {
        var (exitCode, output) = await RunAsync(Guid.NewGuid());

        Assert.NotEqual(0, exitCode);
        Assert.Contains("There is no plan", output, StringComparison.Ordinal);
    }
}
