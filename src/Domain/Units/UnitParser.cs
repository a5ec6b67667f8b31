namespace DeployDeck.Domain.Units;

/// <summary>The shape of <see cref="MemorySize.TryParse"/>, <see cref="CpuShare.TryParse"/> and <see cref="Durations.TryParse"/>.</summary>
public delegate bool UnitParser<T>(string? text, out T value, out string error);
