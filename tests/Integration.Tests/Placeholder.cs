namespace DeployDeck.Integration.Tests;
