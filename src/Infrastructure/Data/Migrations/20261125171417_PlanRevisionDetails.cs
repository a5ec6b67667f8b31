using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace DeployDeck.Infrastructure.Data.Migrations
{
    /// <inheritdoc />
    public partial class PlanRevisionDetails : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "Build",
                table: "service_specs",
                type: "jsonb",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "Networks",
                table: "service_specs",
                type: "jsonb",
                nullable: false,
                defaultValue: "[]");

            migrationBuilder.AddColumn<string>(
                name: "Ulimits",
                table: "service_specs",
                type: "jsonb",
                nullable: false,
                defaultValue: "{}");

            migrationBuilder.AddColumn<string>(
                name: "Volumes",
                table: "service_specs",
                type: "jsonb",
                nullable: false,
                defaultValue: "[]");

            migrationBuilder.AddColumn<string>(
                name: "Comment",
                table: "plan_revisions",
                type: "character varying(500)",
                maxLength: 500,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "ImportNotes",
                table: "plan_revisions",
                type: "jsonb",
                nullable: false,
                defaultValue: "[]");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "Build",
                table: "service_specs");

            migrationBuilder.DropColumn(
                name: "Networks",
                table: "service_specs");

            migrationBuilder.DropColumn(
                name: "Ulimits",
                table: "service_specs");

            migrationBuilder.DropColumn(
                name: "Volumes",
                table: "service_specs");

            migrationBuilder.DropColumn(
                name: "Comment",
                table: "plan_revisions");

            migrationBuilder.DropColumn(
                name: "ImportNotes",
                table: "plan_revisions");
        }
    }
}
