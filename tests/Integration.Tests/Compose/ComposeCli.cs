using System.Diagnostics;

namespace DeployDeck.Integration.Tests.Compose;

/// <summary>docker-compose v1, the oracle: run with an argument list, never a shell line.</summary>
internal static class ComposeCli
{
    public static (int ExitCode, string Output) Run(string file, string project, params string[] args)
    {
        var info = new ProcessStartInfo("docker-compose") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-p", project, "-f", file }.Concat(args))
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output.Result + error);
    }
}
