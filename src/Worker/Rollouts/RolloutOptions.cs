using System.ComponentModel.DataAnnotations;

namespace DeployDeck.Worker.Rollouts;

public sealed class RolloutOptions
{
    public const string Section = "Rollouts";

    /// <summary>
    /// How often a waiting service is inspected when the engine reports nothing: its start, exit and health events
    /// wake the wait at once; this only covers an event stream that dropped.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a service without a health check may take to be running.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan StartDeadline { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a one-shot service (a migration others wait for with service_completed_successfully) may run.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "06:00:00")]
    public TimeSpan OneShotDeadline { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Added to a health check's own deadline before the phase gives up: nothing waits forever.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan DeadlineGrace { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long a service that failed to become ready is still followed for an OOM kill that explains it (the kernel's
    /// kill often lands just after the health check gave up).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan FailureSettle { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// How long a phase waits for its host's engine to answer again (a dockerd restarting, a dropped connection) before it
    /// fails naming the host; a rollback waits for the engine as long as it takes.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan EngineOutageGrace { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Services of one wave started at once; a small host must not start 37 at a time.</summary>
    [Range(1, 32)]
    public int MaxParallelStarts { get; set; } = 4;

    /// <summary>The longest any phase may take, whatever its services' own deadlines add up to.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "1.00:00:00")]
    public TimeSpan PhaseDeadlineCap { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// How old the launcher's host check may be for the first phase to go on it instead of checking again; every later
    /// phase is always checked again.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan LaunchCheckFreshFor { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How often a soaking phase's containers and gates are checked.</summary>
    public TimeSpan SoakCheckInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often every Worker looks for rollouts in progress that no Worker drives (their Worker was killed): one found
    /// twice in a row is driven again at once, instead of when Hangfire's invisibility timeout gives its job back.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan OrphanCheckInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Labels added to every container DeployDeck creates (a team, a cost centre; tests mark theirs).</summary>
    public Dictionary<string, string> ExtraLabels { get; set; } = [];
}
