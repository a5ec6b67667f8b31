using System.Security.Cryptography;
using System.Text;

namespace DeployDeck.Web.Auth;

/// <summary>Personal API tokens: random, shown once, stored as SHA-256.</summary>
public static class ApiTokens
{
    public const string Scheme = "ApiToken";
    private const string Marker = "dd_";

    public static string Generate() => Marker + Base64UrlEncode(RandomNumberGenerator.GetBytes(32));

    public static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    public static string Prefix(string token) => token[..Math.Min(token.Length, 10)];

    public static bool LooksLikeToken(string value) => value.StartsWith(Marker, StringComparison.Ordinal);

    private static string Base64UrlEncode(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
