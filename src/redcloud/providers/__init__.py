"""Carrier adapters behind one Provider protocol; the sandbox is the default."""
