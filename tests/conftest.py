"""Shared fixtures: factories are registered here so every test can ask for them by name."""
