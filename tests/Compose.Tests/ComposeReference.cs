using System.Diagnostics;
using System.Text.Json.Nodes;

namespace DeployDeck.Compose.Tests;

/// <summary>Runs <c>docker-compose config</c> and compose_reference.py: what Compose itself reads from files.</summary>
internal static class ComposeReference
{
    public static JsonObject Config(string directory, IEnumerable<string> files, IEnumerable<string> profiles)
    {
        var compose = new ProcessStartInfo("docker-compose") { WorkingDirectory = directory };
        foreach (var file in files)
        {
            compose.ArgumentList.Add("-f");
            compose.ArgumentList.Add(file);
        }

        foreach (var profile in profiles)
        {
            compose.ArgumentList.Add("--profile");
            compose.ArgumentList.Add(profile);
        }

        compose.ArgumentList.Add("config");
        var config = Run(compose, null);

        var python = new ProcessStartInfo("python3");
        python.ArgumentList.Add(Path.Combine(CorpusTests.Root, "tests", "Compose.Tests", "compose_reference.py"));
        return JsonNode.Parse(Run(python, config))!.AsObject();
    }

    private static string Run(ProcessStartInfo start, string? input)
    {
        // Only the case's .env may feed interpolation, as on the DeployDeck side.
        start.Environment.Clear();
        start.Environment["PATH"] = "/usr/local/bin:/usr/bin:/bin";
        start.Environment["HOME"] = Path.GetTempPath();
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.RedirectStandardInput = input is not null;
        using var process = Process.Start(start)!;
        if (input is not null)
        {
            process.StandardInput.Write(input);
            process.StandardInput.Close();
        }

        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{start.FileName} {string.Join(' ', start.ArgumentList)} exited {process.ExitCode}: {stderr.Result}");
        return stdout;
    }
}
