using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Infrastructure.Data;

public sealed class DeployDeckDbContext(DbContextOptions<DeployDeckDbContext> options)
    : IdentityDbContext<IdentityUser>(options), IDataProtectionKeyContext
{
    public DbSet<DockerHost> Hosts => Set<DockerHost>();

    public DbSet<RegistryLogin> RegistryLogins => Set<RegistryLogin>();

    public DbSet<Plan> Plans => Set<Plan>();

    public DbSet<PlanRevision> PlanRevisions => Set<PlanRevision>();

    public DbSet<Rollout> Rollouts => Set<Rollout>();

    public DbSet<RolloutPhase> RolloutPhases => Set<RolloutPhase>();

    public DbSet<RolloutService> RolloutServices => Set<RolloutService>();

    public DbSet<RolloutEvent> RolloutEvents => Set<RolloutEvent>();

    public DbSet<ApiToken> ApiTokens => Set<ApiToken>();

    public DbSet<AuditEntry> Audit => Set<AuditEntry>();

    public DbSet<Webhook> Webhooks => Set<Webhook>();

    public DbSet<WebhookDelivery> WebhookDeliveries => Set<WebhookDelivery>();

    public DbSet<WebhookCursor> WebhookCursors => Set<WebhookCursor>();

    public DbSet<PhaseUsageRecord> PhaseUsage => Set<PhaseUsageRecord>();

    public DbSet<FleetRollout> FleetRollouts => Set<FleetRollout>();

    public DbSet<FleetHost> FleetHosts => Set<FleetHost>();

    /// <summary>ASP.NET Data Protection's key ring, shared by every Web and Worker; each key encrypted at rest (Secrets/KeyRingProtection).</summary>
    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();

    protected override void OnModelCreating(ModelBuilder builder)
    {
        base.OnModelCreating(builder);
        builder.ApplyConfigurationsFromAssembly(typeof(DeployDeckDbContext).Assembly);
    }

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // Enums as text: readable in psql and stable when members are added.
        configurationBuilder.Properties<Enum>().HaveConversion<string>().HaveMaxLength(40);
    }
}
