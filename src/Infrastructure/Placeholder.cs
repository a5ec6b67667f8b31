namespace DeployDeck.Infrastructure;
