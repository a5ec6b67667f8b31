using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace DeployDeck.Infrastructure.Data;

/// <summary>For `dotnet ef migrations add` only; it never connects.</summary>
internal sealed class DesignTimeDbContextFactory : IDesignTimeDbContextFactory<DeployDeckDbContext>
{
    public DeployDeckDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<DeployDeckDbContext>().UseNpgsql("Host=localhost;Database=design").Options);
}
