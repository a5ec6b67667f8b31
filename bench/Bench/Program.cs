using DeployDeck.Bench;

return args.FirstOrDefault() switch
{
    "preflight" => await PreflightBench.RunAsync(args.Skip(1).ToArray()),
    "rollout" => await RolloutBench.RunAsync(args.Skip(1).ToArray()),
    "history" => await HistoryBench.RunAsync(args.Skip(1).ToArray()),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Bench preflight [--containers N] [--runs N] | rollout [--runs N] [--verbose] | history [--rollouts N] [--runs N]");
    return 2;
}
