using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace DeployDeck.Infrastructure.Data.Migrations
{
    /// <inheritdoc />
    public partial class FleetWaveApproval : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<bool>(
                name: "ApproveWaves",
                table: "fleet_rollouts",
                type: "boolean",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "ApprovedAt",
                table: "fleet_rollouts",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "ApprovedBy",
                table: "fleet_rollouts",
                type: "character varying(256)",
                maxLength: 256,
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "ApprovedThroughWave",
                table: "fleet_rollouts",
                type: "integer",
                nullable: false,
                defaultValue: 0);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "ApproveWaves",
                table: "fleet_rollouts");

            migrationBuilder.DropColumn(
                name: "ApprovedAt",
                table: "fleet_rollouts");

            migrationBuilder.DropColumn(
                name: "ApprovedBy",
                table: "fleet_rollouts");

            migrationBuilder.DropColumn(
                name: "ApprovedThroughWave",
                table: "fleet_rollouts");
        }
    }
}
