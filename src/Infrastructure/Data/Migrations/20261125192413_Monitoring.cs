using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace DeployDeck.Infrastructure.Data.Migrations
{
    /// <inheritdoc />
    public partial class Monitoring : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "phase_usage",
                columns: table => new
                {
                    RolloutId = table.Column<Guid>(type: "uuid", nullable: false),
                    PhaseIndex = table.Column<int>(type: "integer", nullable: false),
                    Subject = table.Column<string>(type: "character varying(40)", maxLength: 40, nullable: false),
                    Service = table.Column<string>(type: "character varying(63)", maxLength: 63, nullable: false),
                    Phase = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    PeakMemoryBytes = table.Column<long>(type: "bigint", nullable: false),
                    MemorySumBytes = table.Column<long>(type: "bigint", nullable: false),
                    Samples = table.Column<int>(type: "integer", nullable: false),
                    MaxCpuPercent = table.Column<double>(type: "double precision", nullable: true),
                    FirstSampleAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    LastSampleAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_phase_usage", x => new { x.RolloutId, x.PhaseIndex, x.Subject, x.Service });
                    table.ForeignKey(
                        name: "FK_phase_usage_rollouts_RolloutId",
                        column: x => x.RolloutId,
                        principalTable: "rollouts",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "phase_usage");
        }
    }
}
