using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Xml.Linq;
using DeployDeck.Infrastructure.Data;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace DeployDeck.Infrastructure.Secrets;

/// <summary>How the Data Protection key ring's keys are encrypted at rest: a shared key, or a certificate.</summary>
public sealed class KeyRingOptions
{
    public const string Section = "DataProtection";

    /// <summary>A secret of 32+ characters, the same for every Web and Worker (`./deploydeck` generates one in .deploydeck/secrets.env).</summary>
    public string? KeyRingKey { get; set; }

    /// <summary>Instead of the key: a PKCS#12 file whose certificate encrypts the ring's keys (and whose private key decrypts them).</summary>
    public string? Certificate { get; set; }

    public string? CertificatePassword { get; set; }
}

public static class KeyRingProtection
{
    /// <summary>Every Web and Worker must use one application name, or they would not read each other's payloads.</summary>
    public const string ApplicationName = "DeployDeck";

    /// <summary>
    /// ASP.NET Data Protection with its key ring in PostgreSQL (table data_protection_keys), the ring's keys encrypted
    /// with <see cref="KeyRingOptions.KeyRingKey"/> (AES-256-GCM) or <see cref="KeyRingOptions.Certificate"/>, and
    /// <see cref="SecretBox"/> over it. Neither set: a start-up error naming the setting.
    /// </summary>
    public static IServiceCollection AddDeployDeckDataProtection(this IServiceCollection services, IConfiguration configuration)
    {
        var options = configuration.GetSection(KeyRingOptions.Section).Get<KeyRingOptions>() ?? new KeyRingOptions();
        var builder = services.AddDataProtection()
            .SetApplicationName(ApplicationName)
            .PersistKeysToDbContext<DeployDeckDbContext>();

        if (!string.IsNullOrWhiteSpace(options.Certificate))
        {
            X509Certificate2 certificate;
            try
            {
                certificate = X509CertificateLoader.LoadPkcs12FromFile(options.Certificate, options.CertificatePassword);
            }
            catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
            {
                throw new StartupException($"DataProtection:Certificate {options.Certificate} cannot be read ({e.Message})");
            }

            if (!certificate.HasPrivateKey)
                throw new StartupException($"DataProtection:Certificate {options.Certificate} has no private key: the key ring could be written but never read");
            builder.ProtectKeysWithCertificate(certificate).UnprotectKeysWithAnyCertificate(certificate);
        }
        else
        {
            if (options.KeyRingKey is not { Length: >= 32 } secret)
            {
                throw new StartupException(
                    "DataProtection:KeyRingKey (environment DataProtection__KeyRingKey) must be a secret of at least 32 characters, the same for Web and Worker "
                    + "(./deploydeck keeps one in .deploydeck/secrets.env), or DataProtection:Certificate a PKCS#12 file: it encrypts the keys that encrypt stored credentials");
            }

            var key = new KeyRingKey(secret);
            services.AddSingleton(key);
            services.Configure<KeyManagementOptions>(o => o.XmlEncryptor = new KeyRingXmlEncryptor(key));
        }

        services.AddSingleton<SecretBox>();
        return services;
    }

    /// <summary>Web, once the schema is there: the ring gets its first key now, so a Worker never makes one of its own.</summary>
    public static void EnsureKey(IServiceProvider services)
    {
        var keys = services.GetRequiredService<IKeyManager>();
        if (!keys.GetAllKeys().Any(k => !k.IsRevoked && k.ExpirationDate > DateTimeOffset.UtcNow))
            services.GetRequiredService<IDataProtectionProvider>().CreateProtector(ApplicationName).Protect("first key"u8.ToArray());
    }

    /// <summary>The Worker: whether Web made the ring's key yet (read from the database each time).</summary>
    public static bool HasKey(IServiceProvider services) =>
        services.GetRequiredService<IKeyManager>().GetAllKeys().Any(k => !k.IsRevoked);
}

/// <summary>The AES-256 key derived from <see cref="KeyRingOptions.KeyRingKey"/>, and a fingerprint that names it without revealing it.</summary>
public sealed class KeyRingKey
{
    public KeyRingKey(string secret)
    {
        Bytes = HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(secret), 32, info: "DeployDeck key ring v1"u8.ToArray());
        Fingerprint = Convert.ToHexStringLower(SHA256.HashData(Bytes))[..16];
    }

    internal byte[] Bytes { get; }

    public string Fingerprint { get; }
}

/// <summary>Encrypts each key of the ring (its XML) with AES-256-GCM under the key ring key.</summary>
internal sealed class KeyRingXmlEncryptor(KeyRingKey key) : IXmlEncryptor
{
    internal const string Element = "deploydeckEncryptedKey";

    public EncryptedXmlInfo Encrypt(XElement plaintextElement)
    {
        var plaintext = Encoding.UTF8.GetBytes(plaintextElement.ToString(SaveOptions.DisableFormatting));
        var sealedBytes = new byte[12 + 16 + plaintext.Length]; // nonce, tag, ciphertext
        var nonce = sealedBytes.AsSpan(0, 12);
        RandomNumberGenerator.Fill(nonce);
        using (var aes = new AesGcm(key.Bytes, 16))
            aes.Encrypt(nonce, plaintext, sealedBytes.AsSpan(28), sealedBytes.AsSpan(12, 16));
        CryptographicOperations.ZeroMemory(plaintext);
        var element = new XElement(Element, new XAttribute("key", key.Fingerprint), new XAttribute("algorithm", "AES-256-GCM"), Convert.ToBase64String(sealedBytes));
        return new EncryptedXmlInfo(element, typeof(KeyRingXmlDecryptor));
    }
}

/// <summary>Decrypts what <see cref="KeyRingXmlEncryptor"/> wrote; Data Protection creates it by type name from the stored XML.</summary>
public sealed class KeyRingXmlDecryptor(IServiceProvider services) : IXmlDecryptor
{
    public XElement Decrypt(XElement encryptedElement)
    {
        var key = services.GetService<KeyRingKey>()
            ?? throw new CryptographicException("The key ring was encrypted with a key ring key, but DataProtection:KeyRingKey is not set here");
        var wrote = (string?)encryptedElement.Attribute("key");
        var sealedBytes = Convert.FromBase64String(encryptedElement.Value);
        if (sealedBytes.Length < 28)
            throw new CryptographicException("An encrypted key of the key ring is truncated");
        var plaintext = new byte[sealedBytes.Length - 28];
        try
        {
            using var aes = new AesGcm(key.Bytes, 16);
            aes.Decrypt(sealedBytes.AsSpan(0, 12), sealedBytes.AsSpan(28), sealedBytes.AsSpan(12, 16), plaintext);
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new CryptographicException(
                $"A key of the key ring was encrypted with key ring key {wrote}, not with this process's DataProtection:KeyRingKey ({key.Fingerprint})");
        }

        try
        {
            return XElement.Parse(Encoding.UTF8.GetString(plaintext));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }
}
