using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;

namespace DeployDeck.Compose.Tests;

public sealed class ExportTests
{
    [Theory]
    [InlineData("big-stack")]
    [InlineData("resources")]
    [InlineData("healthchecks")]
    public void The_exported_override_round_trips_through_docker_compose_config(string name)
    {
        var corpusCase = CorpusTests.Load(name);
        var imported = PlanImport.FromCompose(new ComposeImportRequest(
            corpusCase.Files.Select(f => new ComposeSource(f, File.ReadAllText(Path.Combine(corpusCase.Directory, f)))).ToList(),
            corpusCase.Env, corpusCase.Profiles, name));
        Assert.NotNull(imported.Plan);

        // An edit the base files do not have: the override must carry it.
        var edited = imported.Plan with
        {
            Phases = imported.Plan.Phases.Select((p, i) => i > 0 ? p : p with
            {
                Services = p.Services.Select((s, j) => j > 0 ? s : s with
                {
                    Resources = s.Resources with { MemoryLimit = MemorySize.FromMebibytes(777), MemoryReservation = MemorySize.FromMebibytes(123), Cpus = CpuShare.FromCores(0.75) },
                    Restart = new RestartPolicy(RestartMode.OnFailure, 4),
                }).ToList(),
            }).ToList(),
        };

        var dir = Directory.CreateTempSubdirectory("deploydeck-export-");
        try
        {
            foreach (var file in Directory.GetFiles(corpusCase.Directory))
                File.Copy(file, Path.Combine(dir.FullName, Path.GetFileName(file)));
            File.WriteAllText(Path.Combine(dir.FullName, "docker-compose.deploydeck.yml"), ComposeExport.Override(edited, "DeployDeck export"));

            var config = ComposeReference.Config(dir.FullName, [.. corpusCase.Files, "docker-compose.deploydeck.yml"], corpusCase.Profiles);
            foreach (var service in edited.AllServices)
            {
                var theirs = config[service.Name]!;
                var r = service.Resources;
                Assert.Equal(r.MemoryLimit?.Bytes, (long?)theirs["mem_limit"]);
                Assert.Equal(r.MemoryReservation?.Bytes, (long?)theirs["mem_reservation"]);
                Assert.Equal(r.Cpus is { } c ? Math.Round(c.Cores, 3) : null, (double?)theirs["cpus"]);
                Assert.Equal(service.Restart.ToString(), (string?)theirs["restart"]);
                if (service.HealthCheck is { } hc)
                {
                    Assert.Equal(hc.Test, theirs["healthcheck"]!["test"]!.AsArray().Select(t => (string)t!));
                    Assert.Equal(hc.Interval.TotalSeconds, (double)theirs["healthcheck"]!["interval"]!, 3);
                    Assert.Equal(hc.Retries, (int)theirs["healthcheck"]!["retries"]!);
                }
            }

            Assert.Equal(777L * 1024 * 1024, (long?)config[edited.Phases[0].Services[0].Name]!["mem_limit"]);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
