"""Webhook destinations, signing and delivery."""
