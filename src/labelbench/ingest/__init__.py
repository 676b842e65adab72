"""Reading messy CSV/Parquet files into validated, typed frames (pure: no database, no UI).

:mod:`~labelbench.ingest.table` streams a file as raw text chunks, :mod:`~labelbench.ingest.kinds`
maps its header and turns each chunk into a typed frame plus precise row errors, using the cell
parsers of :mod:`~labelbench.ingest.values` and the country-name index of
:mod:`~labelbench.ingest.countries`.
"""
