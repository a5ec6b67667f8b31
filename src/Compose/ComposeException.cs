namespace DeployDeck.Compose;

/// <summary>Input that cannot be read at all; the message names the file, line and problem and is safe to show.</summary>
public sealed class ComposeException(string message) : Exception(message);
