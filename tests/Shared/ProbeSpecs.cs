using DeployDeck.Domain.Plans;

namespace DeployDeck.Tests.Shared;

/// <summary>The probe image's parts of a plan that tests keep writing: its health endpoint as a health check.</summary>
public static class ProbeSpecs
{
    public static readonly IReadOnlyList<string> HealthTest = ["CMD", "/bin/wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"];

    /// <summary>GET /health every second (by default), failing after two seconds; the probe answers once its start delay is over.</summary>
    public static HealthCheck Health(int retries, TimeSpan startPeriod, TimeSpan? interval = null, TimeSpan? timeout = null) =>
        new([.. HealthTest], interval ?? TimeSpan.FromSeconds(1), timeout ?? TimeSpan.FromSeconds(2), retries, startPeriod);
}
