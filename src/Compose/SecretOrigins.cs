using DeployDeck.Domain.Plans;

namespace DeployDeck.Compose;

/// <summary>
/// Marks the fields of an imported plan that are secrets by origin (<see cref="ServiceSpec.SecretFields"/>): an
/// environment value passed through from .env (<c>- DB_URL</c>), and any field a .env variable was substituted into —
/// a command, a gate, a health check, a label — whatever its key says. Only paths are recorded, never values.
/// </summary>
public static class SecretOrigins
{
    /// <summary>Fields that are shown as they are even when a variable made them (what runs, and where); see <see cref="SecretKeys"/>.</summary>
    private static readonly string[] Shown = ["name", "image", "ports", "networks", "volumes", "build", "dependsOn", "secretFields"];

    public static PlanSpec Mark(PlanSpec plan, ComposeImportRequest request)
    {
        var variables = EnvFile.Parse(request.Env);
        var used = Referenced(request.Files.Select(f => f.Content))
            .Select(name => variables.GetValueOrDefault(name))
            .OfType<string>().Where(v => v.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        return plan with
        {
            Phases = plan.Phases.Select(p => p with { Services = p.Services.Select(s => Mark(s, variables, used)).ToList() }).ToList(),
        };
    }

    /// <summary>
    /// The service with its secret-by-origin fields marked. <paramref name="passedThrough"/>: variables an environment
    /// entry may have taken its value from (the .env, or an env_file); <paramref name="substituted"/>: values that were
    /// put into other text.
    /// </summary>
    public static ServiceSpec Mark(ServiceSpec service, IReadOnlyDictionary<string, string> passedThrough, IReadOnlyCollection<string> substituted)
    {
        var fields = new List<string>(service.SecretFields);
        foreach (var leaf in SpecWalk.Leaves(service))
        {
            if (leaf.Value is not string { Length: > 0 } text || Shown.Contains(leaf.Path.Split('.', '[')[0]))
                continue;
            if (leaf.Path.StartsWith("environment.", StringComparison.Ordinal) && passedThrough.TryGetValue(leaf.Path["environment.".Length..], out var fromEnv) && fromEnv == text)
            {
                fields.Add(leaf.Path);
                continue;
            }

            foreach (var value in substituted)
            {
                if (text == value)
                {
                    fields.Add(leaf.Path);
                }
                else if (value.Length >= SecretKeys.ShortestScrubbed)
                {
                    for (var at = text.IndexOf(value, StringComparison.Ordinal); at >= 0; at = text.IndexOf(value, at + value.Length, StringComparison.Ordinal))
                        fields.Add(new SecretSpan(leaf.Path, at, value.Length).ToString());
                }
            }
        }

        var distinct = fields.Distinct(StringComparer.Ordinal).ToList();
        return distinct.Count == service.SecretFields.Count ? service : service with { SecretFields = distinct };
    }

    /// <summary>Names used as <c>$NAME</c> or <c>${NAME…}</c> anywhere in the files (<c>$$</c> is a literal dollar).</summary>
    public static HashSet<string> Referenced(IEnumerable<string> texts)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var text in texts)
        {
            for (var i = 0; i < text.Length - 1; i++)
            {
                if (text[i] != '$')
                    continue;
                if (text[i + 1] == '$')
                {
                    i++;
                    continue;
                }

                var start = text[i + 1] == '{' ? i + 2 : i + 1;
                var end = start;
                while (end < text.Length && (text[end] == '_' || char.IsAsciiLetter(text[end]) || (end > start && char.IsAsciiDigit(text[end]))))
                    end++;
                if (end > start)
                    names.Add(text[start..end]);
                i = end - 1;
            }
        }

        return names;
    }
}
