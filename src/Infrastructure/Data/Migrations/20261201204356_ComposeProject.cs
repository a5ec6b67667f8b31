using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace DeployDeck.Infrastructure.Data.Migrations
{
    /// <inheritdoc />
    public partial class ComposeProject : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "Files",
                table: "service_specs",
                type: "jsonb",
                nullable: false,
                defaultValue: "[]");

            migrationBuilder.AddColumn<string>(
                name: "NetworkMode",
                table: "service_specs",
                type: "character varying(300)",
                maxLength: 300,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "Options",
                table: "service_specs",
                type: "jsonb",
                nullable: false,
                defaultValue: "{}");

            migrationBuilder.AddColumn<int>(
                name: "Replicas",
                table: "service_specs",
                type: "integer",
                nullable: false,
                defaultValue: 1);

            migrationBuilder.AddColumn<string>(
                name: "Update",
                table: "service_specs",
                type: "jsonb",
                nullable: false,
                defaultValue: "{}");

            migrationBuilder.AddColumn<string>(
                name: "ProjectDirectory",
                table: "plans",
                type: "character varying(1024)",
                maxLength: 1024,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "ProjectName",
                table: "plans",
                type: "character varying(63)",
                maxLength: 63,
                nullable: false,
                defaultValue: "");

            migrationBuilder.AddColumn<string>(
                name: "Declarations",
                table: "plan_revisions",
                type: "jsonb",
                nullable: false,
                defaultValue: "{\"networks\":[],\"volumes\":[]}");

            migrationBuilder.AddColumn<string>(
                name: "HostAccess",
                table: "plan_revisions",
                type: "jsonb",
                nullable: true);


            // Plans made before a plan was a Compose project get their name's project name, as Compose normalises it; the
            // rare second plan whose name normalises alike gets its id's start appended, so that names stay unique.
            migrationBuilder.Sql("""
                UPDATE plans SET "ProjectName" = coalesce(nullif(left(trim(both '-_' from regexp_replace(lower("Name"), '[^a-z0-9_-]', '-', 'g')), 63), ''), 'stack');
                UPDATE plans p SET "ProjectName" = left(p."ProjectName", 54) || '-' || left(replace(p."Id"::text, '-', ''), 8)
                WHERE EXISTS (SELECT 1 FROM plans q WHERE q."ProjectName" = p."ProjectName" AND q."Id" < p."Id");
                """);
            // A service's networks were names; they are attachments with aliases now.
            migrationBuilder.Sql("""
                UPDATE service_specs SET "Networks" = (SELECT coalesce(jsonb_agg(jsonb_build_object('network', n)), '[]'::jsonb) FROM jsonb_array_elements_text("Networks") AS n)
                WHERE jsonb_typeof("Networks") = 'array' AND jsonb_array_length("Networks") > 0 AND jsonb_typeof("Networks"->0) = 'string'
                """);

            migrationBuilder.CreateTable(
                name: "revision_files",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    RevisionId = table.Column<Guid>(type: "uuid", nullable: false),
                    Kind = table.Column<string>(type: "character varying(40)", maxLength: 40, nullable: false),
                    Key = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: false),
                    Origin = table.Column<string>(type: "character varying(600)", maxLength: 600, nullable: false),
                    Content = table.Column<string>(type: "text", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_revision_files", x => x.Id);
                    table.ForeignKey(
                        name: "FK_revision_files_plan_revisions_RevisionId",
                        column: x => x.RevisionId,
                        principalTable: "plan_revisions",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_plans_ProjectName",
                table: "plans",
                column: "ProjectName",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_revision_files_RevisionId_Kind_Key",
                table: "revision_files",
                columns: new[] { "RevisionId", "Kind", "Key" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "revision_files");

            migrationBuilder.DropIndex(
                name: "IX_plans_ProjectName",
                table: "plans");

            migrationBuilder.DropColumn(
                name: "Files",
                table: "service_specs");

            migrationBuilder.DropColumn(
                name: "NetworkMode",
                table: "service_specs");

            migrationBuilder.DropColumn(
                name: "Options",
                table: "service_specs");

            migrationBuilder.DropColumn(
                name: "Replicas",
                table: "service_specs");

            migrationBuilder.DropColumn(
                name: "Update",
                table: "service_specs");

            migrationBuilder.DropColumn(
                name: "ProjectDirectory",
                table: "plans");

            migrationBuilder.DropColumn(
                name: "ProjectName",
                table: "plans");

            migrationBuilder.DropColumn(
                name: "Declarations",
                table: "plan_revisions");

            migrationBuilder.DropColumn(
                name: "HostAccess",
                table: "plan_revisions");
        }
    }
}
