using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace DeployDeck.Infrastructure.Data.Migrations
{
    /// <inheritdoc />
    public partial class FleetRollouts : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<Guid>(
                name: "FleetRolloutId",
                table: "rollouts",
                type: "uuid",
                nullable: true);

            migrationBuilder.AddColumn<bool>(
                name: "KeepPrevious",
                table: "rollouts",
                type: "boolean",
                nullable: false,
                defaultValue: false);

            migrationBuilder.CreateTable(
                name: "fleet_rollouts",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    PlanId = table.Column<Guid>(type: "uuid", nullable: false),
                    PlanRevisionId = table.Column<Guid>(type: "uuid", nullable: false),
                    WaveSize = table.Column<int>(type: "integer", nullable: false),
                    OnHostFailure = table.Column<string>(type: "character varying(40)", maxLength: 40, nullable: false),
                    State = table.Column<string>(type: "character varying(40)", maxLength: 40, nullable: false),
                    StartedBy = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: false),
                    CreatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    StartedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    FinishedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    Error = table.Column<string>(type: "text", nullable: true),
                    AbortRequestedBy = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: true),
                    AbortRequestedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_fleet_rollouts", x => x.Id);
                    table.ForeignKey(
                        name: "FK_fleet_rollouts_plans_PlanId",
                        column: x => x.PlanId,
                        principalTable: "plans",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateTable(
                name: "fleet_hosts",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    FleetRolloutId = table.Column<Guid>(type: "uuid", nullable: false),
                    HostId = table.Column<Guid>(type: "uuid", nullable: false),
                    Order = table.Column<int>(type: "integer", nullable: false),
                    Wave = table.Column<int>(type: "integer", nullable: false),
                    RolloutId = table.Column<Guid>(type: "uuid", nullable: false),
                    Started = table.Column<bool>(type: "boolean", nullable: false),
                    RolledBackAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_fleet_hosts", x => x.Id);
                    table.ForeignKey(
                        name: "FK_fleet_hosts_fleet_rollouts_FleetRolloutId",
                        column: x => x.FleetRolloutId,
                        principalTable: "fleet_rollouts",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_fleet_hosts_hosts_HostId",
                        column: x => x.HostId,
                        principalTable: "hosts",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "FK_fleet_hosts_rollouts_RolloutId",
                        column: x => x.RolloutId,
                        principalTable: "rollouts",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateIndex(
                name: "IX_fleet_hosts_FleetRolloutId_HostId",
                table: "fleet_hosts",
                columns: new[] { "FleetRolloutId", "HostId" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_fleet_hosts_HostId",
                table: "fleet_hosts",
                column: "HostId");

            migrationBuilder.CreateIndex(
                name: "IX_fleet_hosts_RolloutId",
                table: "fleet_hosts",
                column: "RolloutId",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_fleet_rollouts_CreatedAt",
                table: "fleet_rollouts",
                column: "CreatedAt");

            migrationBuilder.CreateIndex(
                name: "IX_fleet_rollouts_PlanId",
                table: "fleet_rollouts",
                column: "PlanId");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "fleet_hosts");

            migrationBuilder.DropTable(
                name: "fleet_rollouts");

            migrationBuilder.DropColumn(
                name: "FleetRolloutId",
                table: "rollouts");

            migrationBuilder.DropColumn(
                name: "KeepPrevious",
                table: "rollouts");
        }
    }
}
