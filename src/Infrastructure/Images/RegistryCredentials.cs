using DeployDeck.Domain.Images;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Secrets;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Infrastructure.Images;

/// <summary>A login as the engine and the registry take it: only in memory, for one pull or one manifest read.</summary>
public sealed record RegistryAuth(string Server, string Username, string Password)
{
    public override string ToString() => $"{Username}@{Server}"; // never the password, whatever logs it
}

/// <summary>Reads the Admin's registry logins: encrypted for the login alone, decrypted only where a pull needs one.</summary>
public sealed class RegistryCredentials(IDbContextFactory<DeployDeckDbContext> dbFactory, SecretBox secrets)
{
    public static string Protect(SecretBox box, Guid loginId, string password) => box.Protect(SecretKind.RegistryPassword, password, loginId.ToString());

    /// <returns>The login for the image's registry, or null where there is none.</returns>
    /// <exception cref="SecretUnreadableException">The stored password does not decrypt with this key ring.</exception>
    public async Task<RegistryAuth?> ForAsync(ImageReference image, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var logins = await db.RegistryLogins.AsNoTracking().ToListAsync(ct);
        var login = logins.FirstOrDefault(l => image.IsOn(l.Server));
        return login is null ? null : new RegistryAuth(login.Server, login.Username, secrets.Unprotect(SecretKind.RegistryPassword, login.Password, login.Id.ToString()));
    }
}
