using System.Diagnostics;
using System.Text;

namespace DeployDeck.Compose.Tests;

/// <summary>
/// Random Compose input for a bounded time (DEPLOYDECK_FUZZ_SECONDS, 20 s by default; CI runs it as every other test):
/// generated documents with deep nesting, anchors, aliases, merge keys and variables, and corpus files mutated byte by
/// byte. Every input must end in a plan, plan issues or a <see cref="ComposeException"/> — never another exception,
/// never a crashed thread (it runs on a 256 KiB stack) — and within seconds. A failing input is written to a file
/// named in the failure, with the seed that made it.
/// </summary>
public sealed class ComposeFuzzTests
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(
        int.TryParse(Environment.GetEnvironmentVariable("DEPLOYDECK_FUZZ_SECONDS"), out var s) && s > 0 ? s : 20);

    private static readonly TimeSpan PerInput = TimeSpan.FromSeconds(10);

    private static readonly string[] Words =
    [
        "services", "image", "web", "db", "command", "environment", "deploy", "resources", "limits", "memory", "cpus",
        "healthcheck", "test", "depends_on", "condition", "ports", "volumes", "labels", "x-deploydeck", "gates", "http",
        "restart", "ulimits", "nofile", "soft", "hard", "profiles", "build", "context", "networks", "mem_limit", "<<",
        "entrypoint", "env_file", "privileged", "cap_add", "phase", "null", "~", "true", "no", "512m", "-1", "1e400",
    ];

    private static readonly string[] Scalars =
    [
        "nginx", "redis:7", "512m", "0.5", "1.5g", "on-failure:3", "${A}", "${B:-d}", "${C:?err}", "$$x", "$A$B", "${A:-${B:-${C}}}",
        "${", "$", "}", "\"q\"", "'s'", "[a, b]", "{a: b}", "*nope", "&a x", "\u0000", "\u202e", "\ud800", "line\nbreak", "80:80",
        "CMD-SHELL", "service_healthy", "-5", "99999", "", " ", "\t", "#", ": ", "- ", "?", "|", ">", "!!binary AAAA", "!tag x",
    ];

    [Fact]
    public void Random_yaml_and_interpolation_end_in_a_plan_or_a_refusal_within_bounded_time()
    {
        var seed = Environment.GetEnvironmentVariable("DEPLOYDECK_FUZZ_SEED") is { } fixedSeed ? int.Parse(fixedSeed, System.Globalization.CultureInfo.InvariantCulture) : Environment.TickCount;
        var corpus = Directory.GetFiles(Path.Combine(CorpusTests.Root, "tests", "Compose.Tests", "Corpus"), "*.yml", SearchOption.AllDirectories)
            .Select(File.ReadAllText).ToList();
        var random = new Random(seed);
        var inputs = 0;
        string? failure = null;

        var (error, _) = HostileYamlTests.OnSmallStack(() =>
        {
            var watch = Stopwatch.StartNew();
            while (watch.Elapsed < Budget && failure is null)
            {
                var (yaml, env) = random.Next(3) == 0 ? Mutate(random, corpus[random.Next(corpus.Count)]) : (Generate(random), GenerateEnv(random));
                inputs++;
                var one = Stopwatch.StartNew();
                try
                {
                    _ = PlanImport.FromCompose(new ComposeImportRequest([new ComposeSource("fuzz.yml", yaml)], env));
                    _ = new Interpolation(EnvFile.Parse(env)).Substitute(yaml.Length > 4096 ? yaml[..4096] : yaml, "fuzz");
                }
                catch (ComposeException)
                {
                }
                catch (Exception e)
                {
                    failure = Save(seed, inputs, yaml, env, e.ToString());
                }

                if (failure is null && one.Elapsed > PerInput)
                    failure = Save(seed, inputs, yaml, env, $"took {one.Elapsed.TotalSeconds:0.0} s");
            }
        });

        Assert.Null(error);
        Assert.True(failure is null, failure);
        Assert.True(inputs > 100, $"only {inputs} inputs in {Budget.TotalSeconds} s (seed {seed})");
    }

    [Fact]
    public void The_fuzzer_reaches_the_reader_limits_it_is_meant_to_test()
    {
        // The generator must actually produce deep and alias-heavy documents, or the test above proves little.
        var random = new Random(1);
        var refusals = new List<string>();
        for (var i = 0; i < 400; i++)
        {
            try
            {
                _ = ComposeImporter.Read(new ComposeImportRequest([new ComposeSource("fuzz.yml", Generate(random))], GenerateEnv(random)));
            }
            catch (ComposeException e)
            {
                refusals.Add(e.Message);
            }
        }

        var kinds = new[] { "nested more than", "YAML bomb", "Mi characters", "interpolation" };
        var seen = kinds.ToDictionary(k => k, k => refusals.Count(m => m.Contains(k, StringComparison.Ordinal)));
        Assert.True(seen.Values.All(n => n > 0), string.Join(", ", seen.Select(k => $"{k.Key}: {k.Value}")) + $" of {refusals.Count} refusals");
    }

    private static string Save(int seed, int input, string yaml, string? env, string what)
    {
        var path = Path.Combine(Path.GetTempPath(), $"deploydeck-fuzz-{seed}-{input}.yml");
        File.WriteAllText(path, yaml + "\n# --- .env ---\n" + env);
        return $"input {input} of seed {seed} (DEPLOYDECK_FUZZ_SEED={seed}), saved to {path}: {what}";
    }

    private static string Generate(Random random)
    {
        var yaml = new StringBuilder();
        var anchors = new List<string>();
        if (random.Next(4) == 0)
        {
            // A bomb-ish prelude: anchors built from the previous ones.
            var width = random.Next(2, 12);
            yaml.Append("x-a0: &a0 \"").Append(random.Next(2) == 0 ? new string('x', random.Next(1, 5000)) : "${BIG}").Append("\"\n");
            anchors.Add("a0");
            for (var level = 1; level < random.Next(2, 8); level++)
            {
                yaml.Append($"x-a{level}: &a{level} [").Append(string.Join(", ", Enumerable.Repeat($"*a{level - 1}", width))).Append("]\n");
                anchors.Add($"a{level}");
            }
        }

        yaml.Append("services:\n");
        for (var service = 0; service < random.Next(1, 5); service++)
        {
            yaml.Append($"  s{service}:\n    image: {Pick(random, Scalars)}\n");
            for (var key = 0; key < random.Next(0, 6); key++)
            {
                yaml.Append("    ").Append(Pick(random, Words)).Append(": ");
                var deep = random.Next(4) == 0;
                Value(random, yaml, anchors, depth: deep ? random.Next(30, 200) : random.Next(1, 5), stopEarly: !deep);
                yaml.Append('\n');
            }
        }

        return yaml.ToString();
    }

    private static void Value(Random random, StringBuilder yaml, List<string> anchors, int depth, bool stopEarly)
    {
        if (depth <= 0 || (stopEarly && random.Next(6) == 0))
        {
            if (anchors.Count > 0 && random.Next(3) == 0)
            {
                yaml.Append('*').Append(anchors[random.Next(anchors.Count)]);
                return;
            }

            var scalar = Pick(random, Scalars);
            yaml.Append(random.Next(2) == 0 ? scalar : "\"" + scalar.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"");
            return;
        }

        if (random.Next(10) == 0)
        {
            var name = $"n{anchors.Count}";
            anchors.Add(name);
            yaml.Append('&').Append(name).Append(' ');
        }

        switch (stopEarly ? random.Next(3) : random.Next(2))
        {
            case 0:
                yaml.Append('[');
                for (var i = 0; i < (stopEarly ? random.Next(1, 3) : 1); i++)
                {
                    if (i > 0)
                        yaml.Append(", ");
                    Value(random, yaml, anchors, depth - 1, stopEarly);
                }

                yaml.Append(']');
                break;
            case 1:
                yaml.Append('{');
                for (var i = 0; i < (stopEarly ? random.Next(1, 3) : 1); i++)
                {
                    if (i > 0)
                        yaml.Append(", ");
                    yaml.Append(random.Next(12) == 0 ? "<<" : Pick(random, Words) + i).Append(": ");
                    Value(random, yaml, anchors, depth - 1, stopEarly);
                }

                yaml.Append('}');
                break;
            default:
                yaml.Append('"').Append(string.Concat(Enumerable.Range(0, random.Next(1, 4)).Select(_ => Pick(random, ["${A}", "${B:-", "}", "$$", "x", "${BIG}"])))).Append('"');
                break;
        }
    }

    private static string? GenerateEnv(Random random) => random.Next(3) switch
    {
        0 => null,
        1 => "A=1\nB=two\nBIG=" + new string('b', random.Next(0, 60_000)) + "\n",
        _ => string.Join("\n", Enumerable.Range(0, random.Next(0, 5)).Select(i => $"{Pick(random, ["A", "B", "C", "BIG", "export D", "# c", "=x", "E"])}={Pick(random, Scalars)}")),
    };

    private static (string Yaml, string? Env) Mutate(Random random, string text)
    {
        var chars = new StringBuilder(text);
        for (var i = 0; i < random.Next(1, 20) && chars.Length > 0; i++)
        {
            var at = random.Next(chars.Length);
            switch (random.Next(5))
            {
                case 0:
                    chars.Remove(at, Math.Min(random.Next(1, 40), chars.Length - at));
                    break;
                case 1:
                    chars.Insert(at, Pick(random, Scalars));
                    break;
                case 2:
                    chars[at] = (char)random.Next(0, 0x3000);
                    break;
                case 3:
                    var length = Math.Min(random.Next(1, 200), chars.Length - at);
                    chars.Insert(random.Next(chars.Length), chars.ToString(at, length));
                    break;
                default:
                    chars.Insert(at, new string(Pick(random, ['[', '{', ' ', '\n', ':', '-', '&', '*']), random.Next(1, 300)));
                    break;
            }
        }

        return (chars.ToString(), random.Next(2) == 0 ? null : "A=1\nBIG=" + new string('b', 1000));
    }

    private static T Pick<T>(Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];
}
