"""Reading messy CSV/Parquet files into validated, typed frames (pure: no database, no UI).

:mod:`~labelbench.ingest.table` streams a file as raw text chunks; :mod:`~labelbench.ingest.schema`
maps its header onto a kind's fields; :mod:`~labelbench.ingest.kinds` turns each chunk into a typed
frame plus precise row errors through one module per kind (:mod:`.evidence`, :mod:`.ooni`,
:mod:`.incidents`, :mod:`.samples`, :mod:`.overrides`, :mod:`.labels`), built on the row checks of
:mod:`.checks`, the cell parsers of :mod:`.values` and the country-name index of
:mod:`.countries`. :mod:`.hashing` finds duplicates across chunks and :mod:`.rejects` writes the
``--skip-bad-rows`` side file.
"""
