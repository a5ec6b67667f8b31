namespace DeployDeck.Compose.Tests;
