using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace DeployDeck.Infrastructure.Data.Migrations
{
    /// <inheritdoc />
    public partial class RolloutAbort : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "AbortRequestedAt",
                table: "rollouts",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "AbortRequestedBy",
                table: "rollouts",
                type: "character varying(256)",
                maxLength: 256,
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "AbortRequestedAt",
                table: "rollouts");

            migrationBuilder.DropColumn(
                name: "AbortRequestedBy",
                table: "rollouts");
        }
    }
}
