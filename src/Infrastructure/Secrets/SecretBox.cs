using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;

namespace DeployDeck.Infrastructure.Secrets;

/// <summary>
/// What a secret is for. Each kind has its own Data Protection purpose, so a value protected as one kind cannot be read
/// as another (a TLS key pasted into a plan's environment stays unreadable there). Names are stored nowhere but in the
/// purpose string: renaming a member makes its existing values unreadable.
/// </summary>
public enum SecretKind
{
    /// <summary>A host's TLS material: CA, client certificate and key.</summary>
    HostTls,

    /// <summary>A host's SSH private key.</summary>
    HostSsh,

    /// <summary>A plan's environment values.</summary>
    PlanEnvironment,

    /// <summary>Secret files uploaded with a Compose import.</summary>
    ComposeSecret,

    /// <summary>A registry password.</summary>
    RegistryPassword,
}

/// <summary>
/// Encrypts the secrets DeployDeck keeps in PostgreSQL with ASP.NET Data Protection: the key ring is in the database
/// (every Web and Worker reads the same one) and its keys are themselves encrypted with the key ring key
/// (<see cref="KeyRingOptions"/>). The output is text, for a text column.
/// </summary>
public sealed class SecretBox(IDataProtectionProvider provider)
{
    private const string Root = "DeployDeck.Secrets.v1";

    /// <param name="scope">What the value belongs to (a host id, a plan id): a value copied to another row does not read there.</param>
    public string Protect(SecretKind kind, string plaintext, string? scope = null)
    {
        ArgumentNullException.ThrowIfNull(plaintext);
        return Protector(kind, scope).Protect(plaintext);
    }

    /// <exception cref="SecretUnreadableException">The value was not protected as this kind and scope, or with this key ring.</exception>
    public string Unprotect(SecretKind kind, string protectedValue, string? scope = null)
    {
        ArgumentNullException.ThrowIfNull(protectedValue);
        try
        {
            return Protector(kind, scope).Unprotect(protectedValue);
        }
        catch (CryptographicException e)
        {
            throw new SecretUnreadableException(kind, e);
        }
    }

    private IDataProtector Protector(SecretKind kind, string? scope) =>
        scope is null ? provider.CreateProtector(Root, kind.ToString()) : provider.CreateProtector(Root, kind.ToString(), scope);
}

/// <summary>A stored secret that cannot be decrypted here; the message says what to check, never the value.</summary>
public sealed class SecretUnreadableException(SecretKind kind, CryptographicException inner) : Exception(
    $"A stored {kind} secret cannot be decrypted: it was protected for another record, or with another key ring or key ring key "
    + $"(DataProtection:KeyRingKey must be the same for every Web and Worker). {inner.Message}", inner)
{
    public SecretKind Kind { get; } = kind;
}
