using DeployDeck.Infrastructure.Data;
using DeployDeck.Web.Data;
using DeployDeck.Web.Hosting;
using Serilog;

Log.Logger = new LoggerConfiguration().WriteTo.Console().CreateBootstrapLogger();
try
{
    // Content root = the app's folder, so `dotnet path/to/DeployDeck.Web.dll` finds its settings from anywhere.
    var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
    // Serve MudBlazor's and Blazor's assets from the build output too, not only from a publish folder.
    builder.WebHost.UseStaticWebAssets();
    builder.AddWebLogging();
    builder.Services.AddWebServices(builder.Configuration);

    var app = builder.Build();
    app.MapWebEndpoints();
    await app.PrepareDatabaseAsync(CancellationToken.None);
    await app.RunAsync();
    return 0;
}
catch (StartupException ex)
{
    Log.Fatal("DeployDeck Web cannot start: {Problem}", ex.Message);
    return 2;
}
catch (Microsoft.Extensions.Options.OptionsValidationException ex)
{
    Log.Fatal("DeployDeck Web cannot start: {Problem}", string.Join("; ", ex.Failures));
    return 2;
}
catch (Exception ex) when (ex is not HostAbortedException)
{
    Log.Fatal(ex, "DeployDeck Web stopped unexpectedly");
    return 1;
}
finally
{
    await Log.CloseAndFlushAsync();
}
