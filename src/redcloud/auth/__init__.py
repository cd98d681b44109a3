"""Accounts, API clients, access tokens and capabilities."""
