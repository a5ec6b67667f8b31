using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace DeployDeck.Infrastructure.Data.Migrations
{
    /// <inheritdoc />
    public partial class HostConnections : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_hosts_Name",
                table: "hosts");

            migrationBuilder.AddColumn<int>(
                name: "ConnectionVersion",
                table: "hosts",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<string>(
                name: "Credentials",
                table: "hosts",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "LastError",
                table: "hosts",
                type: "character varying(1000)",
                maxLength: 1000,
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "LastSeenAt",
                table: "hosts",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "OfflineSince",
                table: "hosts",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "RemovedAt",
                table: "hosts",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "SshHostKey",
                table: "hosts",
                type: "character varying(200)",
                maxLength: 200,
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "UpdatedAt",
                table: "hosts",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "IX_hosts_Name",
                table: "hosts",
                column: "Name",
                unique: true,
                filter: "\"RemovedAt\" IS NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_hosts_Name",
                table: "hosts");

            migrationBuilder.DropColumn(
                name: "ConnectionVersion",
                table: "hosts");

            migrationBuilder.DropColumn(
                name: "Credentials",
                table: "hosts");

            migrationBuilder.DropColumn(
                name: "LastError",
                table: "hosts");

            migrationBuilder.DropColumn(
                name: "LastSeenAt",
                table: "hosts");

            migrationBuilder.DropColumn(
                name: "OfflineSince",
                table: "hosts");

            migrationBuilder.DropColumn(
                name: "RemovedAt",
                table: "hosts");

            migrationBuilder.DropColumn(
                name: "SshHostKey",
                table: "hosts");

            migrationBuilder.DropColumn(
                name: "UpdatedAt",
                table: "hosts");

            migrationBuilder.CreateIndex(
                name: "IX_hosts_Name",
                table: "hosts",
                column: "Name",
                unique: true);
        }
    }
}
