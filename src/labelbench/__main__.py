"""`python -m labelbench`."""

from labelbench.cli.main import run

run()
