"""The labelling app (Textual): the only layer besides the CLI that imports Textual.

It talks to the database only through :mod:`labelbench.services`; every service call runs in a
thread worker so the screen never blocks, even over a slow SSH link or a remote PostgreSQL.
"""
