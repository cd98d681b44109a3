"""`python -m redcloud` is the `redcloud` command."""

from redcloud.cli.main import app

app()
