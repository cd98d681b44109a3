"""The `redcloud` command: serve, and the operator's tools against the configured database."""
