using DeployDeck.Infrastructure.Data;
using DeployDeck.Worker.Hosting;
using Serilog;

Log.Logger = new LoggerConfiguration().WriteTo.Console().CreateBootstrapLogger();
try
{
    var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
    builder.AddWorkerLogging();
    builder.Services.AddWorkerServices(builder.Configuration);

    using var host = builder.Build();
    await host.Services.VerifyDependenciesAsync(CancellationToken.None);
    await host.RunAsync();
    return 0;
}
catch (StartupException ex)
{
    Log.Fatal("DeployDeck Worker cannot start: {Problem}", ex.Message);
    return 2;
}
catch (Microsoft.Extensions.Options.OptionsValidationException ex)
{
    Log.Fatal("DeployDeck Worker cannot start: {Problem}", string.Join("; ", ex.Failures));
    return 2;
}
catch (Exception ex)
{
    Log.Fatal(ex, "DeployDeck Worker stopped unexpectedly");
    return 1;
}
finally
{
    await Log.CloseAndFlushAsync();
}
