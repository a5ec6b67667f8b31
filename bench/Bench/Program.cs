using DeployDeck.Bench;

return args.FirstOrDefault() switch
{
    "preflight" => await PreflightBench.RunAsync(args.Skip(1).ToArray()),
    "rollout" => await RolloutBench.RunAsync(args.Skip(1).ToArray()),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Bench preflight [--containers N] [--runs N] | rollout [--runs N]");
    return 2;
}
