using DeployDeck.Domain.Engine;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Rollouts;
using DeployDeck.Domain.Units;

namespace DeployDeck.Domain.Tests;

public sealed class AppliedLimitsTests
{
    private static readonly ServiceSpec Spec = new()
    {
        Name = "api",
        Image = "probe",
        Resources = new ResourceLimits(MemorySize.Parse("512m"), MemorySize.Parse("256m"), null, CpuShare.Parse("0.5")),
        Restart = new RestartPolicy(RestartMode.OnFailure, 3),
        HealthCheck = new HealthCheck(["CMD", "true"], TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(10), 3, TimeSpan.FromSeconds(60)),
    };

    private static ContainerObservation Applied(long memory = 512L << 20, string restart = "on-failure") => new()
    {
        Id = "c1",
        Name = "api",
        ImageId = "sha256:1",
        Status = "running",
        MemoryLimit = memory,
        MemoryReservation = 256L << 20,
        MemorySwap = memory,
        NanoCpus = 500_000_000,
        RestartPolicy = restart,
        RestartMaxRetries = 3,
        HealthTest = ["CMD", "true"],
    };

    [Fact]
    public void Everything_applied_as_planned_has_no_mismatch() => Assert.Empty(AppliedLimits.Mismatches(Spec, Applied()));

    [Fact]
    public void Memory_limit_the_engine_did_not_apply_is_named_with_both_figures()
    {
        var found = AppliedLimits.Mismatches(Spec, Applied(memory: 0));
        Assert.Contains(found, m => m.StartsWith("memory limit: 0 ≠ 536870912", StringComparison.Ordinal));
    }

    [Fact]
    public void Restart_policy_that_was_never_applied_is_a_mismatch() =>
        Assert.Contains(AppliedLimits.Mismatches(Spec, Applied(restart: "no")), m => m.StartsWith("restart policy", StringComparison.Ordinal));
}
