using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace DeployDeck.Infrastructure.Data.Configurations;

internal sealed class PhaseUsageConfiguration : IEntityTypeConfiguration<PhaseUsageRecord>
{
    public const string Table = "phase_usage";

    public void Configure(EntityTypeBuilder<PhaseUsageRecord> b)
    {
        b.ToTable(Table);
        b.HasKey(u => new { u.RolloutId, u.PhaseIndex, u.Subject, u.Service });
        b.Property(u => u.Service).HasMaxLength(63);
        b.Property(u => u.Phase).HasMaxLength(100);
        b.Ignore(u => u.AverageMemoryBytes);
        b.HasOne<Rollout>().WithMany().HasForeignKey(u => u.RolloutId).OnDelete(DeleteBehavior.Cascade);
    }
}
