namespace DeployDeck.Compose;

/// <summary>
/// The files uploaded with an import beside the Compose files — env_file, label_file, configs and secrets with a
/// <c>file:</c> — found by the path the Compose file writes, relative to the project directory as Compose resolves it.
/// </summary>
public sealed class ProjectFileSet
{
    public const int MaxFiles = 100;
    public const int MaxFileBytes = 512 * 1024;

    private readonly Dictionary<string, ComposeSource> _byPath = new(StringComparer.Ordinal);

    public ProjectFileSet(IEnumerable<ComposeSource> files)
    {
        foreach (var file in files)
        {
            if (!_byPath.TryAdd(Key(file.Name), file))
                throw new ComposeException($"the file {file.Name} was uploaded twice");
        }
    }

    public static readonly ProjectFileSet Empty = new([]);

    public int Count => _byPath.Count;

    public ComposeSource? Find(string path) => _byPath.GetValueOrDefault(Key(path));

    /// <summary>"./a/../b.env", "b.env" and "/b.env"-less variants meet on one key; absolute paths stay themselves.</summary>
    private static string Key(string path)
    {
        var absolute = path.StartsWith('/');
        var normalised = Domain.Plans.ProjectPaths.Normalise(path);
        return absolute ? normalised : normalised.TrimStart('/');
    }
}
