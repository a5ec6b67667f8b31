using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using DeployDeck.Tests.Shared;
using Npgsql;

namespace DeployDeck.Integration.Tests.Audit;

/// <summary>Its own app (no Worker: no rollout needs to run): the audit trail is counted from empty.</summary>
public sealed partial class AuditTests : IAsyncLifetime
{
    private DeployDeckApp _app = null!;

    public async Task InitializeAsync() => _app = await DeployDeckApp.StartAsync(startWorker: false);

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private async Task<List<JsonElement>> AuditAsync(string query = "")
    {
        using var admin = _app.CreateClient(await _app.AdminTokenAsync());
        var page = await admin.GetFromJsonAsync<JsonElement>("/api/audit?pageSize=200&" + query);
        return page.GetProperty("items").EnumerateArray().ToList();
    }

    private static string Text(JsonElement entry) => entry.GetRawText();

    /// <summary>Signs in through the form, antiforgery token and all, as a browser does.</summary>
    private async Task<HttpResponseMessage> FormSignInAsync(string username, string password)
    {
        using var client = _app.CreateClient();
        return await FormSignInAsync(client, username, password);
    }

    private async Task<HttpResponseMessage> FormSignInAsync(HttpClient client, string username, string password)
    {
        var page = await client.GetStringAsync("/login");
        var field = AntiforgeryField().Match(page);
        Assert.True(field.Success, "no antiforgery field on /login");
        var token = FieldValue().Match(field.Value).Groups[1].Value;
        return await client.PostAsync("/account/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["username"] = username, ["password"] = password, ["returnUrl"] = "/", ["__RequestVerificationToken"] = token,
        }));
    }

    [GeneratedRegex("<input[^>]*__RequestVerificationToken[^>]*>")]
    private static partial Regex AntiforgeryField();

    [GeneratedRegex("value=\"([^\"]+)\"")]
    private static partial Regex FieldValue();

    [Fact]
    public async Task Sign_ins_and_failed_sign_ins_through_the_form_and_the_token_api_are_recorded()
    {
        var password = await _app.CreateUserAsync("audit-signin", "Viewer");

        var ok = await FormSignInAsync("audit-signin", password);
        var wrong = await FormSignInAsync("audit-signin", "not-the-password");
        using var api = _app.CreateClient();
        var apiWrong = await api.PostAsJsonAsync("/api/tokens", new { username = "audit-signin", password = "still-wrong-123" });

        Assert.Equal(HttpStatusCode.Redirect, ok.StatusCode);
        Assert.Equal("/", ok.Headers.Location?.OriginalString);
        Assert.Contains("error=invalid", wrong.Headers.Location?.OriginalString, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, apiWrong.StatusCode);
        var entries = await AuditAsync("user=audit-signin");
        Assert.Single(entries, e => e.GetProperty("action").GetString() == "auth.login" && e.GetProperty("subject").GetString() == "sign-in form");
        var failed = entries.Where(e => e.GetProperty("action").GetString() == "auth.login-failed").ToList();
        Assert.Equal(2, failed.Count);
        Assert.Contains(failed, e => e.GetProperty("subject").GetString() == "token API" && e.GetProperty("details").GetString()!.Contains("wrong password", StringComparison.Ordinal));
        Assert.All(entries, e => Assert.DoesNotContain("not-the-password", Text(e), StringComparison.Ordinal));
    }

    [Fact]
    public async Task Creating_and_revoking_a_token_is_recorded_with_who_and_which_token_never_the_secret()
    {
        var password = await _app.CreateUserAsync("audit-tokens", "Operator");
        var secret = await _app.TokenAsync("audit-tokens", password);
        using var op = _app.CreateClient(secret);
        var id = (await op.GetFromJsonAsync<JsonElement>("/api/tokens"))[0].GetProperty("id").GetGuid();

        Assert.Equal(HttpStatusCode.NoContent, (await op.DeleteAsync($"/api/tokens/{id}")).StatusCode);

        var entries = await AuditAsync("user=audit-tokens&action=token.*");
        Assert.Equal(["token.revoked", "token.created"], entries.Select(e => e.GetProperty("action").GetString()));
        Assert.All(entries, e => Assert.Equal($"token {id}", e.GetProperty("subject").GetString()));
        Assert.All(entries, e => Assert.DoesNotContain(secret, Text(e), StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_role_change_is_recorded_and_a_refused_one_changes_and_records_nothing()
    {
        await _app.CreateUserAsync("audit-roles", "Viewer");
        using var admin = _app.CreateClient(await _app.AdminTokenAsync());
        var users = await admin.GetFromJsonAsync<JsonElement>("/api/users");
        var id = users.EnumerateArray().Single(u => u.GetProperty("username").GetString() == "audit-roles").GetProperty("id").GetString();

        var changed = await admin.PutAsJsonAsync($"/api/users/{id}/roles", new { roles = new[] { "Viewer", "Operator" } });
        var refused = await admin.PutAsJsonAsync($"/api/users/{id}/roles", new { roles = new[] { "Viewer", "Overlord" } });
        var unknown = await admin.PutAsJsonAsync("/api/users/nobody/roles", new { roles = new[] { "Viewer" } });

        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("Overlord", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        var roles = (await admin.GetFromJsonAsync<JsonElement>("/api/users")).EnumerateArray().Single(u => u.GetProperty("id").GetString() == id).GetProperty("roles");
        Assert.Equal(["Operator", "Viewer"], roles.EnumerateArray().Select(r => r.GetString()).Order());
        var entry = Assert.Single(await AuditAsync("action=user.roles-changed"));
        Assert.Equal((DeployDeckApp.AdminUser, "user audit-roles", "Viewer → Operator, Viewer"),
            (entry.GetProperty("user").GetString(), entry.GetProperty("subject").GetString(), entry.GetProperty("details").GetString()));
    }

    [Fact]
    public async Task Only_an_admin_reads_the_audit_trail()
    {
        using var viewer = _app.CreateClient(await _app.TokenAsync("audit-viewer", await _app.CreateUserAsync("audit-viewer", "Viewer")));
        using var op = _app.CreateClient(await _app.TokenAsync("audit-op", await _app.CreateUserAsync("audit-op", "Operator", "Approver")));
        using var admin = _app.CreateClient(await _app.AdminTokenAsync());

        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.GetAsync("/api/audit")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await op.GetAsync("/api/audit")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/audit")).StatusCode);
        var bad = await admin.GetAsync("/api/audit?from=soon");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.True((await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("from", out _));
    }

    [Fact]
    public async Task The_audit_page_is_refused_to_a_signed_in_viewer_on_the_server()
    {
        var password = await _app.CreateUserAsync("audit-page-viewer", "Viewer");
        using var viewer = _app.CreateClient();
        await FormSignInAsync(viewer, "audit-page-viewer", password);
        using var admin = _app.CreateClient();
        await FormSignInAsync(admin, DeployDeckApp.AdminUser, _app.AdminPassword);

        var refused = await viewer.GetAsync("/audit");
        var shown = await admin.GetAsync("/audit");

        var body = await refused.Content.ReadAsStringAsync();
        Assert.True(
            (refused.StatusCode == HttpStatusCode.Redirect && refused.Headers.Location!.OriginalString.Contains("forbidden", StringComparison.OrdinalIgnoreCase))
            || refused.StatusCode == HttpStatusCode.Forbidden
            || (refused.StatusCode == HttpStatusCode.OK && body.Contains("does not allow", StringComparison.Ordinal)),
            $"{(int)refused.StatusCode} {refused.Headers.Location}");
        Assert.DoesNotContain("Audit trail", body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, shown.StatusCode);
        Assert.Contains("Audit trail", await shown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Entries_already_written_are_unchanged_by_every_later_api_call_and_the_database_refuses_update_and_delete()
    {
        using var admin = _app.CreateClient(await _app.AdminTokenAsync());
        var planId = (await admin.GetFromJsonAsync<JsonElement>("/api/plans")).EnumerateArray().Single(p => p.GetProperty("name").GetString() == "demo").GetProperty("id").GetGuid();
        var hostId = await _app.HostIdAsync();
        var before = await SnapshotAsync();
        Assert.NotEmpty(before);

        var imported = await admin.PostAsJsonAsync("/api/plans/import", new
        {
            name = "audited",
            files = new[] { new { name = "docker-compose.yml", content = "services:\n  web:\n    image: deploydeck/probe:latest\n    mem_limit: 64m\n    environment:\n      DB_PASSWORD: hunter2-in-compose\n" } },
        });
        Assert.Equal(HttpStatusCode.Created, imported.StatusCode);
        var started = await admin.PostAsJsonAsync("/api/rollouts", new { planId, hostId });
        Assert.Equal(HttpStatusCode.Created, started.StatusCode);
        var rolloutId = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var aborted = await admin.PostAsJsonAsync($"/api/rollouts/{rolloutId}/abort", new { reason = "wrong target; DB_PASSWORD=hunter2-in-reason" });
        Assert.Equal(HttpStatusCode.Accepted, aborted.StatusCode);
        await _app.CreateUserAsync("audit-later", "Viewer");
        await admin.GetAsync("/api/audit?action=rollout.*");

        var after = await SnapshotAsync();
        Assert.Equal(before, after.Take(before.Count));
        var added = after.Skip(before.Count).ToList();
        Assert.Contains(added, e => e.Contains("|plan.imported|plan audited|", StringComparison.Ordinal));
        Assert.Contains(added, e => e.Contains($"|rollout.started|rollout {rolloutId}|", StringComparison.Ordinal));
        var abort = Assert.Single(added, e => e.Contains("|rollout.aborted|", StringComparison.Ordinal));
        Assert.Contains("DB_PASSWORD=••••••••", abort, StringComparison.Ordinal);
        Assert.All(after, e => Assert.DoesNotContain("hunter2", e, StringComparison.Ordinal));
        var rollout = await admin.GetStringAsync($"/api/rollouts/{rolloutId}");
        Assert.Contains("DB_PASSWORD=••••••••", rollout, StringComparison.Ordinal); // the abort's event, as the API shows it
        Assert.DoesNotContain("hunter2", rollout + await admin.GetStringAsync($"/api/rollouts/{rolloutId}/export"), StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", _app.WebLog, StringComparison.Ordinal);

        await using var connection = new NpgsqlConnection(_app.ConnectionString);
        await connection.OpenAsync();
        await using var update = new NpgsqlCommand("UPDATE audit_entries SET \"User\" = 'someone-else'", connection);
        Assert.Contains("append-only", (await Assert.ThrowsAsync<PostgresException>(() => update.ExecuteNonQueryAsync())).MessageText, StringComparison.Ordinal);
        await using var delete = new NpgsqlCommand("DELETE FROM audit_entries WHERE \"Action\" = 'rollout.aborted'", connection);
        await Assert.ThrowsAsync<PostgresException>(() => delete.ExecuteNonQueryAsync());
        Assert.Equal(after, await SnapshotAsync());
    }

    private async Task<List<string>> SnapshotAsync()
    {
        await using var connection = new NpgsqlConnection(_app.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT \"Id\", \"At\", \"User\", \"Action\", \"Subject\", coalesce(\"Details\", '') FROM audit_entries ORDER BY \"Id\"", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
            rows.Add($"{reader.GetInt64(0)}|{reader.GetFieldValue<DateTimeOffset>(1):O}|{reader.GetString(2)}|{reader.GetString(3)}|{reader.GetString(4)}|{reader.GetString(5)}");
        return rows;
    }
}
