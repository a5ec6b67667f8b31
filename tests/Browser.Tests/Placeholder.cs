namespace DeployDeck.Browser.Tests;
