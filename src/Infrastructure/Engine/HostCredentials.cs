using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using DeployDeck.Domain.Hosts;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Secrets;

namespace DeployDeck.Infrastructure.Engine;

/// <summary>A tcp:// engine's TLS material, PEM: the CA that signed the engine's certificate, and the client's certificate and key.</summary>
public sealed record TlsMaterial(string Ca, string Certificate, string Key);

/// <summary>An ssh:// host's private key (OpenSSH or PEM), and its passphrase if it has one.</summary>
public sealed record SshMaterial(string PrivateKey, string? Passphrase = null);

/// <summary>What a host needs to be reached, beyond its endpoint. Stored only encrypted (<see cref="Protect"/>), never shown back.</summary>
public sealed record HostCredentials(TlsMaterial? Tls, SshMaterial? Ssh)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string Protect(SecretBox box, Guid hostId) =>
        box.Protect(Tls is null ? SecretKind.HostSsh : SecretKind.HostTls, JsonSerializer.Serialize(this, Json), hostId.ToString());

    /// <exception cref="SecretUnreadableException">The stored value does not decrypt here.</exception>
    public static HostCredentials? Read(SecretBox box, DockerHost host)
    {
        if (host.Credentials is not { Length: > 0 } stored)
            return null;
        var kind = HostEndpoint.Parse(host.Endpoint).Endpoint?.Kind == EndpointKind.Ssh ? SecretKind.HostSsh : SecretKind.HostTls;
        return JsonSerializer.Deserialize<HostCredentials>(box.Unprotect(kind, stored, host.Id.ToString()), Json);
    }

    /// <summary>What is missing or wrong for this endpoint, each as a sentence; the material itself is never quoted.</summary>
    public static IEnumerable<string> Problems(HostEndpoint endpoint, HostCredentials? credentials)
    {
        switch (endpoint.Kind)
        {
            case EndpointKind.Tcp when credentials?.Tls is null:
                if (!endpoint.IsLoopback)
                    yield return $"{endpoint} has no TLS: give the CA, client certificate and key (plain tcp:// is allowed on a loopback address only).";
                break;
            case EndpointKind.Tcp:
                foreach (var problem in TlsProblems(credentials.Tls))
                    yield return problem;
                break;
            case EndpointKind.Ssh when credentials?.Ssh is not { PrivateKey.Length: > 0 }:
                yield return $"{endpoint} needs a private key (sshPrivateKey).";
                break;
            case EndpointKind.Ssh:
                if (SshKeyProblem(credentials.Ssh) is { } ssh)
                    yield return ssh;
                break;
            case EndpointKind.Unix when credentials is not null && (credentials.Tls is not null || credentials.Ssh is not null):
                yield return "A unix:// endpoint takes no TLS or SSH credentials.";
                break;
        }
    }

    private static IEnumerable<string> TlsProblems(TlsMaterial tls)
    {
        X509Certificate2? ca = null;
        try
        {
            ca = X509Certificate2.CreateFromPem(tls.Ca);
        }
        catch (CryptographicException)
        {
        }

        if (ca is null)
            yield return "The CA certificate is not a PEM certificate (-----BEGIN CERTIFICATE-----).";
        ca?.Dispose();

        string? client = null;
        try
        {
            using var certificate = X509Certificate2.CreateFromPem(tls.Certificate, tls.Key);
            if (!certificate.HasPrivateKey)
                client = "The client key does not belong to the client certificate.";
            else if (certificate.NotAfter < DateTime.Now)
                client = $"The client certificate expired on {certificate.NotAfter:yyyy-MM-dd}.";
        }
        catch (CryptographicException)
        {
            client = "The client certificate and key are not a PEM certificate with its matching private key.";
        }

        if (client is not null)
            yield return client;
    }

    private static string? SshKeyProblem(SshMaterial ssh)
    {
        try
        {
            using var stream = new MemoryStream(Encoding.UTF8.GetBytes(ssh.PrivateKey));
            using var key = string.IsNullOrEmpty(ssh.Passphrase) ? new Renci.SshNet.PrivateKeyFile(stream) : new Renci.SshNet.PrivateKeyFile(stream, ssh.Passphrase);
            return null;
        }
        catch (Exception e) when (e is Renci.SshNet.Common.SshException or ArgumentException or InvalidOperationException or FormatException or NotSupportedException or CryptographicException)
        {
            return "The SSH private key cannot be read (an OpenSSH or PEM private key, with its passphrase if it has one).";
        }
    }
}
