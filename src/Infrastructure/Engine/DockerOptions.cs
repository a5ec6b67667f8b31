namespace DeployDeck.Infrastructure.Engine;

public sealed class DockerOptions
{
    public const string Section = "Docker";

    /// <summary>unix:///var/run/docker.sock, tcp://host:2375 … Defaults to DOCKER_HOST, then the local socket.</summary>
    public string Endpoint { get; set; } = Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } host ? host : "unix:///var/run/docker.sock";

    /// <summary>An engine call that takes longer has hung (stats of a stopped container are known to).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>An image with busybox's kill on the host: a chaos gate runs it for a moment, in the host's PID namespace.</summary>
    public string HelperImage { get; set; } = "deploydeck/probe:latest";

    public static bool IsSupported(string endpoint) =>
        Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) && uri.Scheme is "unix" or "tcp" or "http" or "https";
}
