namespace DeployDeck.Domain.Tests;
