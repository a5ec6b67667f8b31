using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace DeployDeck.Infrastructure.Data.Configurations;

internal sealed class RegistryLoginConfiguration : IEntityTypeConfiguration<RegistryLogin>
{
    public void Configure(EntityTypeBuilder<RegistryLogin> b)
    {
        b.ToTable("registry_logins");
        b.Property(r => r.Server).HasMaxLength(255);
        b.HasIndex(r => r.Server).IsUnique();
        b.Property(r => r.Username).HasMaxLength(256);
        b.Property(r => r.Password).HasMaxLength(8000);
        b.Property(r => r.CreatedBy).HasMaxLength(256);
    }
}

internal sealed class DockerHostConfiguration : IEntityTypeConfiguration<DockerHost>
{
    public void Configure(EntityTypeBuilder<DockerHost> b)
    {
        b.ToTable("hosts");
        b.Property(h => h.Name).HasMaxLength(100);
        b.Property(h => h.Endpoint).HasMaxLength(500);
        // A removed host keeps its name in the history; a new one may take it.
        b.HasIndex(h => h.Name).IsUnique().HasFilter("\"RemovedAt\" IS NULL");
        b.Property(h => h.SshHostKey).HasMaxLength(200);
        b.Property(h => h.LastError).HasMaxLength(1000).HasConversion(v => v == null ? null : Domain.Plans.SecretKeys.Scrub(v), v => v);
        b.Property(h => h.Thresholds).AsJson();
    }
}

internal sealed class FleetRolloutConfiguration : IEntityTypeConfiguration<FleetRollout>
{
    public void Configure(EntityTypeBuilder<FleetRollout> b)
    {
        b.ToTable("fleet_rollouts");
        b.Property(f => f.StartedBy).HasMaxLength(256);
        b.Property(f => f.AbortRequestedBy).HasMaxLength(256);
        b.Property(f => f.ApprovedBy).HasMaxLength(256);
        b.HasOne<Plan>().WithMany().HasForeignKey(f => f.PlanId).OnDelete(DeleteBehavior.Restrict);
        b.HasMany(f => f.Hosts).WithOne().HasForeignKey(h => h.FleetRolloutId).OnDelete(DeleteBehavior.Cascade);
        b.HasIndex(f => f.CreatedAt);
    }
}

internal sealed class FleetHostConfiguration : IEntityTypeConfiguration<FleetHost>
{
    public void Configure(EntityTypeBuilder<FleetHost> b)
    {
        b.ToTable("fleet_hosts");
        b.HasOne<DockerHost>().WithMany().HasForeignKey(h => h.HostId).OnDelete(DeleteBehavior.Restrict);
        b.HasOne<Rollout>().WithMany().HasForeignKey(h => h.RolloutId).OnDelete(DeleteBehavior.Restrict);
        b.HasIndex(h => new { h.FleetRolloutId, h.HostId }).IsUnique();
        b.HasIndex(h => h.RolloutId).IsUnique();
    }
}

internal sealed class DataProtectionKeyConfiguration : IEntityTypeConfiguration<Microsoft.AspNetCore.DataProtection.EntityFrameworkCore.DataProtectionKey>
{
    public void Configure(EntityTypeBuilder<Microsoft.AspNetCore.DataProtection.EntityFrameworkCore.DataProtectionKey> b) => b.ToTable("data_protection_keys");
}

internal sealed class AuditEntryConfiguration : IEntityTypeConfiguration<AuditEntry>
{
    public void Configure(EntityTypeBuilder<AuditEntry> b)
    {
        b.ToTable("audit_entries");
        b.Property(a => a.User).HasMaxLength(256);
        b.Property(a => a.Action).HasMaxLength(100);
        b.Property(a => a.Subject).HasMaxLength(500);
        // Every writer's text is masked on its way in, the ones written before this rule and after it alike.
        b.Property(a => a.Subject).HasConversion(v => Domain.Plans.SecretKeys.Scrub(v), v => v);
        b.Property(a => a.Details).HasConversion(v => v == null ? null : Domain.Plans.SecretKeys.Scrub(v), v => v);
        b.HasIndex(a => a.At);
        b.HasIndex(a => new { a.Action, a.At });
        b.HasIndex(a => new { a.User, a.At });
    }
}

internal sealed class WebhookConfiguration : IEntityTypeConfiguration<Webhook>
{
    public void Configure(EntityTypeBuilder<Webhook> b)
    {
        b.ToTable("webhooks");
        b.Property(w => w.Name).HasMaxLength(100);
        b.Property(w => w.Url).HasMaxLength(2000);
        b.Property(w => w.Secret).HasMaxLength(200);
        b.Property(w => w.CreatedBy).HasMaxLength(256);
        b.Property(w => w.Events).AsJson();
        b.HasOne<DockerHost>().WithMany().HasForeignKey(w => w.HostId).OnDelete(DeleteBehavior.Cascade);
        b.HasOne<Plan>().WithMany().HasForeignKey(w => w.PlanId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class WebhookDeliveryConfiguration : IEntityTypeConfiguration<WebhookDelivery>
{
    public void Configure(EntityTypeBuilder<WebhookDelivery> b)
    {
        b.ToTable("webhook_deliveries");
        b.Property(d => d.EventType).HasMaxLength(40);
        b.Property(d => d.LastError).HasMaxLength(1000);
        b.Property(d => d.JobId).HasMaxLength(100);
        b.HasOne<Webhook>().WithMany().HasForeignKey(d => d.WebhookId).OnDelete(DeleteBehavior.Cascade);
        b.HasIndex(d => new { d.WebhookId, d.EventId }).IsUnique();
        b.HasIndex(d => new { d.WebhookId, d.Id });
    }
}

internal sealed class WebhookCursorConfiguration : IEntityTypeConfiguration<WebhookCursor>
{
    public void Configure(EntityTypeBuilder<WebhookCursor> b)
    {
        b.ToTable("webhook_cursor");
        b.Property(c => c.Id).ValueGeneratedNever();
    }
}

internal sealed class PlanConfiguration : IEntityTypeConfiguration<Plan>
{
    public void Configure(EntityTypeBuilder<Plan> b)
    {
        b.ToTable("plans");
        b.Property(p => p.Name).HasMaxLength(100);
        b.HasIndex(p => p.Name).IsUnique();
        b.Property(p => p.ProjectName).HasMaxLength(63);
        b.HasIndex(p => p.ProjectName).IsUnique();
        b.Property(p => p.ProjectDirectory).HasMaxLength(1024);
        b.HasMany(p => p.Revisions).WithOne().HasForeignKey(r => r.PlanId).OnDelete(DeleteBehavior.Restrict);
    }
}

internal sealed class PlanRevisionConfiguration : IEntityTypeConfiguration<PlanRevision>
{
    public void Configure(EntityTypeBuilder<PlanRevision> b)
    {
        b.ToTable("plan_revisions");
        b.HasIndex(r => new { r.PlanId, r.Number }).IsUnique();
        b.Property(r => r.CreatedBy).HasMaxLength(256);
        b.Property(r => r.Comment).HasMaxLength(500);
        b.Property(r => r.ImportNotes).AsJson();
        b.Property(r => r.Declarations).AsJson();
        b.Property(r => r.HostAccess).AsJson();
        b.HasMany(r => r.Phases).WithOne().HasForeignKey(p => p.RevisionId).OnDelete(DeleteBehavior.Cascade);
        b.Navigation(r => r.Phases).AutoInclude();
        b.HasMany(r => r.Files).WithOne().HasForeignKey(f => f.RevisionId).OnDelete(DeleteBehavior.Cascade);
        b.Navigation(r => r.Files).AutoInclude();
    }
}

internal sealed class RevisionFileConfiguration : IEntityTypeConfiguration<RevisionFile>
{
    public void Configure(EntityTypeBuilder<RevisionFile> b)
    {
        b.ToTable("revision_files");
        b.Property(f => f.Key).HasMaxLength(255);
        b.Property(f => f.Origin).HasMaxLength(600);
        b.HasIndex(f => new { f.RevisionId, f.Kind, f.Key }).IsUnique();
    }
}

internal sealed class PlanPhaseConfiguration : IEntityTypeConfiguration<PlanPhase>
{
    public void Configure(EntityTypeBuilder<PlanPhase> b)
    {
        b.ToTable("plan_phases");
        b.Property(p => p.Name).HasMaxLength(100);
        b.HasIndex(p => new { p.RevisionId, p.Order }).IsUnique();
        b.HasMany(p => p.Services).WithOne().HasForeignKey(s => s.PhaseId).OnDelete(DeleteBehavior.Cascade);
        b.Navigation(p => p.Services).AutoInclude();
    }
}

internal sealed class PlanServiceConfiguration : IEntityTypeConfiguration<PlanService>
{
    public void Configure(EntityTypeBuilder<PlanService> b)
    {
        b.ToTable("service_specs");
        b.Property(s => s.Name).HasMaxLength(63);
        b.Property(s => s.Image).HasMaxLength(500);
        b.Property(s => s.Command).AsJson();
        b.Property(s => s.Entrypoint).AsJson();
        b.Property(s => s.Environment).AsJson();
        b.Property(s => s.Ports).AsJson();
        b.Property(s => s.Labels).AsJson();
        b.Property(s => s.HealthCheck).AsJson();
        b.Property(s => s.DependsOn).AsJson();
        b.Property(s => s.Build).AsJson();
        b.Property(s => s.Volumes).AsJson();
        b.Property(s => s.Networks).AsJson();
        b.Property(s => s.Ulimits).AsJson();
        b.Property(s => s.Gates).AsJson();
        b.Property(s => s.NetworkMode).HasMaxLength(300);
        b.Property(s => s.Files).AsJson();
        b.Property(s => s.Replicas).HasDefaultValue(1);
        b.Property(s => s.Update).AsJson();
        b.Property(s => s.Options).AsJson();
        b.Property(s => s.SecretFields).AsJson();
    }
}

internal sealed class RolloutConfiguration : IEntityTypeConfiguration<Rollout>
{
    public void Configure(EntityTypeBuilder<Rollout> b)
    {
        b.ToTable("rollouts");
        b.Property(r => r.StartedBy).HasMaxLength(256);
        b.Property(r => r.Version).IsRowVersion();
        b.Property(r => r.Preflight).AsJson();
        b.Property(r => r.AcknowledgedBy).HasMaxLength(256);
        b.Property(r => r.Acknowledgement).HasMaxLength(1000);
        b.Property(r => r.AbortRequestedBy).HasMaxLength(256);
        b.HasOne(r => r.Plan).WithMany().HasForeignKey(r => r.PlanId).OnDelete(DeleteBehavior.Restrict);
        b.HasOne(r => r.PlanRevision).WithMany().HasForeignKey(r => r.PlanRevisionId).OnDelete(DeleteBehavior.Restrict);
        b.HasOne(r => r.Host).WithMany().HasForeignKey(r => r.HostId).OnDelete(DeleteBehavior.Restrict);
        b.HasMany(r => r.Phases).WithOne().HasForeignKey(p => p.RolloutId).OnDelete(DeleteBehavior.Cascade);
        b.HasMany(r => r.Services).WithOne().HasForeignKey(s => s.RolloutId).OnDelete(DeleteBehavior.Cascade);
        b.HasMany(r => r.Events).WithOne().HasForeignKey(e => e.RolloutId).OnDelete(DeleteBehavior.Cascade);
        b.HasIndex(r => new { r.HostId, r.State });
        // One rollout per host at a time, even when two starts race.
        b.HasIndex(r => r.HostId).IsUnique()
            .HasFilter("\"State\" IN ('Queued', 'Running', 'AwaitingApproval', 'Paused', 'RollingBack')")
            .HasDatabaseName("IX_rollouts_one_active_per_host");
        b.HasIndex(r => r.CreatedAt);
        // History filters: each narrows by one column and pages newest first with Id breaking ties, so each gets
        // (column, CreatedAt, Id): a backward index scan returns a page in order, with no sort and no filter step.
        b.HasIndex(r => new { r.State, r.CreatedAt, r.Id }).HasDatabaseName("IX_rollouts_history_state");
        b.HasIndex(r => new { r.PlanId, r.CreatedAt, r.Id }).HasDatabaseName("IX_rollouts_history_plan");
        b.HasIndex(r => new { r.HostId, r.CreatedAt, r.Id }).HasDatabaseName("IX_rollouts_history_host");
        b.HasIndex(r => new { r.StartedBy, r.CreatedAt, r.Id }).HasDatabaseName("IX_rollouts_history_started_by");
    }
}

internal sealed class RolloutPhaseConfiguration : IEntityTypeConfiguration<RolloutPhase>
{
    public void Configure(EntityTypeBuilder<RolloutPhase> b)
    {
        b.ToTable("rollout_phases");
        b.Property(p => p.Name).HasMaxLength(100);
        b.HasIndex(p => new { p.RolloutId, p.Index }).IsUnique();
    }
}

internal sealed class RolloutServiceConfiguration : IEntityTypeConfiguration<RolloutService>
{
    public void Configure(EntityTypeBuilder<RolloutService> b)
    {
        b.ToTable("rollout_services");
        b.Property(s => s.Name).HasMaxLength(63);
        b.Property(s => s.ContainerId).HasMaxLength(100);
        b.HasIndex(s => new { s.RolloutId, s.Name }).IsUnique();
    }
}

internal sealed class RolloutEventConfiguration : IEntityTypeConfiguration<RolloutEvent>
{
    public void Configure(EntityTypeBuilder<RolloutEvent> b)
    {
        b.ToTable("rollout_events");
        b.Property(e => e.Kind).HasMaxLength(60);
        b.Property(e => e.Key).HasMaxLength(300);
        b.Property(e => e.Actor).HasMaxLength(256);
        b.HasIndex(e => new { e.RolloutId, e.Id });
        b.HasIndex(e => new { e.RolloutId, e.Key }).IsUnique().HasFilter("\"Key\" IS NOT NULL");
    }
}

internal sealed class ApiTokenConfiguration : IEntityTypeConfiguration<ApiToken>
{
    public void Configure(EntityTypeBuilder<ApiToken> b)
    {
        b.ToTable("api_tokens");
        b.Property(t => t.Name).HasMaxLength(100);
        b.Property(t => t.Hash).HasMaxLength(64);
        b.Property(t => t.Prefix).HasMaxLength(16);
        b.HasIndex(t => t.Hash).IsUnique();
        b.HasIndex(t => t.UserId);
    }
}
