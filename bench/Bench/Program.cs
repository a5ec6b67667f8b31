using DeployDeck.Bench;

return args.FirstOrDefault() switch
{
    "preflight" => await PreflightBench.RunAsync(args.Skip(1).ToArray()),
    "rollout" => await RolloutBench.RunAsync(args.Skip(1).ToArray()),
    "reconcile" => await ReconcileBench.RunAsync(args.Skip(1).ToArray()),
    "history" => await HistoryBench.RunAsync(args.Skip(1).ToArray()),
    "demo" => await DemoBench.RunAsync(args.Skip(1).ToArray()),
    "monitoring" => await MonitoringBench.RunAsync(args.Skip(1).ToArray()),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Bench preflight [--containers N] [--runs N] | rollout [--runs N] [--warmup N] [--verbose [--every-step]] | history [--rollouts N] [--runs N]");
    Console.Error.WriteLine("       Bench reconcile [--runs N] | demo [--runs N]");
    Console.Error.WriteLine("       Bench monitoring [--containers 40] [--tabs 5] [--seconds 300] [--idle-seconds 60]");
    return 2;
}
