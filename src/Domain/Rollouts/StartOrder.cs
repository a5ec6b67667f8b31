using DeployDeck.Domain.Plans;

namespace DeployDeck.Domain.Rollouts;

/// <summary>Orders a phase's services into waves: each wave depends only on earlier waves or earlier phases.</summary>
public static class StartOrder
{
    public static IReadOnlyList<IReadOnlyList<ServiceSpec>> Waves(PhaseSpec phase)
    {
        var inPhase = phase.Services.ToDictionary(s => s.Name, StringComparer.Ordinal);
        var placed = new HashSet<string>(StringComparer.Ordinal);
        var waves = new List<IReadOnlyList<ServiceSpec>>();
        var remaining = phase.Services.ToList();
        while (remaining.Count > 0)
        {
            var wave = remaining
                .Where(s => s.DependsOn.All(d => !inPhase.ContainsKey(d.Service) || placed.Contains(d.Service)))
                .ToList();
            if (wave.Count == 0)
            {
                var names = string.Join(", ", remaining.Select(s => s.Name));
                throw new InvalidOperationException($"Phase '{phase.Name}' has a dependency cycle among: {names}.");
            }

            waves.Add(wave);
            foreach (var s in wave)
            {
                placed.Add(s.Name);
                remaining.Remove(s);
            }
        }

        return waves;
    }
}
