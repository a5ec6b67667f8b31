using DeployDeck.Domain.Hosts;

namespace DeployDeck.Domain.Tests;

public sealed class HostEndpointTests
{
    [Theory]
    [InlineData("unix:///var/run/docker.sock", EndpointKind.Unix, "", 0, null, "unix:///var/run/docker.sock")]
    [InlineData("tcp://10.0.0.5:2376", EndpointKind.Tcp, "10.0.0.5", 2376, null, "tcp://10.0.0.5:2376")]
    [InlineData("tcp://droplet.example", EndpointKind.Tcp, "droplet.example", 2376, null, "tcp://droplet.example:2376")]
    [InlineData("ssh://deploy@10.0.0.6", EndpointKind.Ssh, "10.0.0.6", 22, "deploy", "ssh://deploy@10.0.0.6:22")]
    [InlineData("ssh://root@[::1]:2222", EndpointKind.Ssh, "::1", 2222, "root", "ssh://root@[::1]:2222")]
    public void Endpoints_parse_into_kind_address_port_and_user(string text, EndpointKind kind, string address, int port, string? user, string normal)
    {
        var (endpoint, problem) = HostEndpoint.Parse(text);
        Assert.Null(problem);
        Assert.Equal(kind, endpoint!.Kind);
        Assert.Equal(address, endpoint.Address);
        Assert.Equal(port, endpoint.Port);
        Assert.Equal(user, endpoint.User);
        Assert.Equal(normal, endpoint.ToString());
    }

    [Theory]
    [InlineData("", "An endpoint is needed")]
    [InlineData("http://10.0.0.5:2375", "'http://' is not supported")]
    [InlineData("unix://var/run/docker.sock", "three slashes")]
    [InlineData("ssh://10.0.0.6", "needs a user name")]
    [InlineData("ssh://root:secret@10.0.0.6", "no password")]
    [InlineData("ssh://root@10.0.0.6/var/run/docker.sock", "has a path")]
    [InlineData("tcp://10.0.0.5:2376/x", "has a path")]
    [InlineData("docker.sock", "is not an address")]
    public void Bad_endpoints_are_refused_with_a_sentence_naming_the_problem(string text, string expected)
    {
        var (endpoint, problem) = HostEndpoint.Parse(text);
        Assert.Null(endpoint);
        Assert.Contains(expected, problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tcp://127.0.0.1:2375", true)]
    [InlineData("tcp://localhost:2375", true)]
    [InlineData("tcp://[::1]:2375", true)]
    [InlineData("tcp://10.0.0.5:2375", false)]
    [InlineData("ssh://root@127.0.0.1", false)]
    public void Only_a_loopback_tcp_address_counts_as_loopback(string text, bool loopback) =>
        Assert.Equal(loopback, HostEndpoint.Parse(text).Endpoint!.IsLoopback);
}
