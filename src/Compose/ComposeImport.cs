namespace DeployDeck.Compose;
