"""Query functions: each takes the session first and never commits (callers own transactions)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import and_, bindparam, case, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from labelbench.db import labellog
from labelbench.db.base import UTCDateTime
from labelbench.db.models import (
    Country,
    CountryNeighbour,
    Evidence,
    Incident,
    Label,
    LabelBatch,
    ProbeMetric,
    QueueItem,
    Sample,
)
from labelbench.domain.constants import FEATURES

CHUNK = 20_000

EVIDENCE_COLUMNS = (
    "source",
    "kind",
    "source_ref",
    "source_url",
    "observed_at",
    "country",
    "asn",
    "signal_type",
    "signal_value",
    "signal_baseline",
    "signal_level",
    "domain",
    "blocking_method",
    "confidence",
    "anomalous",
    "measurements",  # the last two are NULL on row-level evidence (only aggregates set them)
    "anomalous_measurements",
)
SAMPLE_COLUMNS = (
    "id",
    "country",
    "day",
    *FEATURES,
    "evidence_count",
    "fingerprint",
    "incident_label",
    "origin",
    "given_label",
    "candidate_only",
)


def _frame(session: Session, stmt: Any, columns: Sequence[str]) -> pd.DataFrame:
    rows = session.execute(stmt).all()
    return pd.DataFrame.from_records([tuple(r) for r in rows], columns=list(columns))


def bulk_insert(session: Session, table: Any, records: Iterable[Mapping[str, Any]]) -> int:
    """Insert dict records in chunks (executemany / insertmanyvalues); returns the count."""
    batch: list[Mapping[str, Any]] = []
    total = 0
    for rec in records:
        batch.append(rec)
        if len(batch) >= CHUNK:
            session.execute(insert(table), batch)
            total += len(batch)
            batch = []
    if batch:
        session.execute(insert(table), batch)
        total += len(batch)
    return total


def insert_frame(session: Session, table: Any, frame: pd.DataFrame) -> int:
    """Insert a DataFrame chunk by chunk (never all rows as dicts at once: scale-100 worlds).

    PostgreSQL gets ``COPY`` and SQLite a driver-level ``executemany``, each an order of magnitude
    faster than ORM-style inserts for millions of rows. Like ``COPY``, neither applies Python-side
    column defaults: the frame carries every column that has no server default.
    """
    if frame.empty:
        return 0
    for name, values in frame.items():
        naive = values.dtype.kind == "M" and not isinstance(values.dtype, pd.DatetimeTZDtype)
        if naive and isinstance(table.c[name].type, UTCDateTime):  # COPY would take them silently
            raise ValueError(f"naive datetime refused in {table.name}.{name}: need a UTC zone")
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        return _copy_frame(session, table.name, frame)
    if dialect.name == "sqlite":
        return _executemany_frame(session, table, frame)
    total = 0
    for start in range(0, len(frame), CHUNK):
        rows = records(frame.iloc[start : start + CHUNK])
        session.execute(insert(table), rows)
        total += len(rows)
    return total


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Row dicts of Python scalars (None for missing) for ``update()`` executemany batches.

    NumPy scalars would reach the driver as they are, which psycopg cannot adapt.
    """
    out: list[dict[str, Any]] = (
        frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    )
    for rec in out:
        for key, value in rec.items():
            if isinstance(value, np.generic):
                rec[key] = value.item()
    return out


def key_in(session: Session, column: Any, values: Sequence[Any]) -> Any:
    """``column IN values`` for a batch of keys, in the form each backend plans well.

    PostgreSQL gets ``IN (SELECT unnest(:array))``, which it runs as index probes whatever its
    statistics say; a literal list of thousands makes it scan every row of the leading key
    (quadratic over an import whose table grows inside one transaction).
    """
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        array = bindparam("keys", list(values), type_=ARRAY(column.type))
        return column.in_(select(func.unnest(array)))
    return column.in_(list(values))


def _executemany_frame(session: Session, table: Any, frame: pd.DataFrame) -> int:
    """Driver-level ``executemany`` of tuples, each column converted once by its own type.

    Row dicts through ``insert()`` spent most of an import in per-row Python; here each column
    goes through the column type's bind processor (so stored values are exactly what
    ``insert()`` would store) and timezone-aware timestamps are formatted vectorised.
    """
    conn = session.connection()
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    columns = [table.c[name] for name in frame.columns]
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c.name) for c in columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})"
    )
    for start in range(0, len(frame), CHUNK):
        chunk = frame.iloc[start : start + CHUNK]
        values = [_driver_values(c, chunk[c.name], dialect) for c in columns]
        conn.exec_driver_sql(sql, list(zip(*values, strict=True)))
    return len(frame)


def _driver_values(column: Any, series: pd.Series, dialect: Any) -> list[Any]:
    if isinstance(column.type, UTCDateTime) and isinstance(series.dtype, pd.DatetimeTZDtype):
        # What UTCDateTime + SQLite's DATETIME store: naive UTC as 'YYYY-MM-DD HH:MM:SS.ffffff'.
        utc = series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
        text = np.char.replace(np.datetime_as_string(utc, unit="us"), "T", " ")
        out: list[Any] = text.astype(object).tolist()
        missing = series.isna().to_numpy()
        if not missing.any():
            return out
        return [None if gap else v for v, gap in zip(out, missing, strict=True)]
    objects = series.astype(object).where(series.notna(), None).tolist()
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return objects if process is None else [process(v) for v in objects]


def _copy_frame(session: Session, table_name: str, frame: pd.DataFrame) -> int:
    """COPY in CSV blocks rendered by pandas (missing values become NULL, as with INSERT)."""
    import io

    raw = session.connection().connection.driver_connection
    assert raw is not None
    columns = ", ".join(frame.columns)
    sql = f"COPY {table_name} ({columns}) FROM STDIN WITH (FORMAT csv)"
    with raw.cursor() as cur, cur.copy(sql) as copy:
        for start in range(0, len(frame), CHUNK):
            buf = io.StringIO()
            frame.iloc[start : start + CHUNK].to_csv(buf, header=False, index=False)
            copy.write(buf.getvalue())
    return len(frame)


# --- countries -------------------------------------------------------------------------------


def country_codes(session: Session) -> set[str]:
    return set(session.scalars(select(Country.code)))


def country_clusters(session: Session) -> dict[str, str | None]:
    rows = session.execute(select(Country.code, Country.cluster))
    return {code: cluster for code, cluster in rows}  # noqa: C416 (Row is not a 2-tuple type)


def neighbours(session: Session) -> dict[str, frozenset[str]]:
    """Neighbour sets (subregion + land borders) as stored."""
    result: dict[str, set[str]] = {}
    for country, neighbour in session.execute(
        select(CountryNeighbour.country, CountryNeighbour.neighbour)
    ):
        result.setdefault(country, set()).add(neighbour)
    return {k: frozenset(v) for k, v in result.items()}


# --- evidence, incidents, probes ---------------------------------------------------------------


#: (country, first day, last day): a run of one country's evidence days, both ends included.
DayRange = tuple[str, dt.date, dt.date]


def evidence_day_counts(session: Session, countries: Sequence[str] | None = None) -> pd.DataFrame:
    """Evidence rows per country and day (``country``, ``day``, ``rows``), in that order.

    The feature build plans its bounded reads from these (the country-day index answers it).
    """
    stmt = select(Evidence.country, Evidence.day, func.count()).group_by(
        Evidence.country, Evidence.day
    )
    if countries is not None:
        stmt = stmt.where(Evidence.country.in_(countries))
    frame = _frame(
        session, stmt.order_by(Evidence.country, Evidence.day), ["country", "day", "rows"]
    )
    frame["rows"] = frame["rows"].astype(np.int64)
    return frame


def evidence_frame(session: Session, ranges: Sequence[DayRange] | None = None) -> pd.DataFrame:
    """Evidence rows as the feature builder expects them (observed_at tz-aware UTC).

    ``ranges`` reads only those countries' day runs (whole days, so a chunk of a build).
    """
    cols = [getattr(Evidence, c) for c in EVIDENCE_COLUMNS]
    stmt = select(*cols)
    if ranges is not None:
        stmt = stmt.where(
            or_(
                *(
                    and_(Evidence.country == c, Evidence.day >= first, Evidence.day <= last)
                    for c, first, last in ranges
                )
            )
        )
    if session.get_bind().dialect.name == "postgresql":
        df = _copy_out(session, stmt, EVIDENCE_COLUMNS)
        df["anomalous"] = df["anomalous"].map({"t": True, "f": False, True: True, False: False})
    else:
        df = _driver_frame(session, stmt, EVIDENCE_COLUMNS)
    df["observed_at"] = pd.to_datetime(df["observed_at"], utc=True, format="ISO8601")
    df["anomalous"] = df["anomalous"].astype(bool)
    return df


def _driver_frame(session: Session, stmt: Any, columns: Sequence[str]) -> pd.DataFrame:
    """Raw driver rows into pandas, skipping SQLAlchemy's per-row result processing.

    For columns pandas converts vectorised afterwards (timestamps as stored text, booleans as
    0/1): on millions of evidence rows the per-row processors cost most of a build.
    """
    sql = str(stmt.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
    rows = session.connection().exec_driver_sql(sql).fetchall()
    return pd.DataFrame.from_records([tuple(r) for r in rows], columns=list(columns))


def _copy_out(session: Session, stmt: Any, columns: Sequence[str]) -> pd.DataFrame:
    """Stream a SELECT through PostgreSQL's COPY into pandas.

    Millions of evidence rows as Python tuples cost gigabytes; COPY's CSV parsed by pandas
    costs a fraction of that and is several times faster.
    """
    import io

    sql = str(stmt.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
    raw = session.connection().connection.driver_connection
    assert raw is not None
    buf = io.BytesIO()
    with raw.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy:
        for block in copy:
            buf.write(block)
    buf.seek(0)
    text_columns = {"source", "kind", "source_ref", "source_url", "country", "asn", "signal_type",
                    "signal_level", "domain", "blocking_method", "anomalous"}  # fmt: skip
    return pd.read_csv(
        buf,
        names=list(columns),
        header=None,
        dtype={c: "string" for c in columns if c in text_columns},
        keep_default_na=False,
        na_values={c: [""] for c in columns},
    )


def anomaly_counts(session: Session, key: Any, *where: Any) -> dict[Any, tuple[int, int]]:
    """Measurements and anomalous measurements grouped by ``key`` (a column), under ``where``.

    A plain evidence row is one measurement; an aggregate row counts its ``measurements``.
    """
    total = func.sum(func.coalesce(Evidence.measurements, 1))
    anomalous = func.sum(
        func.coalesce(Evidence.anomalous_measurements, case((Evidence.anomalous, 1), else_=0))
    )
    stmt = select(key, total, anomalous).where(*where).group_by(key)
    return {k: (int(n), int(a or 0)) for k, n, a in session.execute(stmt)}


def evidence_for_day(session: Session, country: str, day: dt.date) -> list[Evidence]:
    return list(
        session.scalars(
            select(Evidence)
            .where(Evidence.country == country, Evidence.day == day)
            .order_by(Evidence.observed_at, Evidence.id)
        )
    )


def incidents_frame(session: Session, countries: Sequence[str] | None = None) -> pd.DataFrame:
    cols = ("id", "country", "first_seen", "last_seen", "incident_type", "source", "citation_url")
    stmt = select(*[getattr(Incident, c) for c in cols])
    if countries is not None:
        stmt = stmt.where(Incident.country.in_(countries))
    return _frame(session, stmt, cols)


def probe_frame(session: Session, countries: Sequence[str] | None = None) -> pd.DataFrame:
    cols = ("country", "day", "node_count", "block_rate", "avg_confidence", "agreement")
    stmt = select(*[getattr(ProbeMetric, c) for c in cols])
    if countries is not None:
        stmt = stmt.where(ProbeMetric.country.in_(countries))
    return _frame(session, stmt, cols)


# --- samples ----------------------------------------------------------------------------------


def samples_frame(session: Session, countries: Sequence[str] | None = None) -> pd.DataFrame:
    stmt = select(*[getattr(Sample, c) for c in SAMPLE_COLUMNS]).order_by(
        Sample.country, Sample.day
    )
    if countries:
        stmt = stmt.where(Sample.country.in_(countries))
    return _frame(session, stmt, SAMPLE_COLUMNS)


def update_samples(session: Session, rows: list[dict[str, Any]]) -> None:
    """Bulk update by primary key (each dict carries ``id``)."""
    for start in range(0, len(rows), CHUNK):
        session.execute(update(Sample), rows[start : start + CHUNK])


def delete_samples(session: Session, ids: Sequence[int]) -> None:
    for start in range(0, len(ids), CHUNK):
        session.execute(delete(Sample).where(Sample.id.in_(ids[start : start + CHUNK])))


def labelled_sample_ids(session: Session) -> set[int]:
    return set(session.scalars(select(Label.sample_id).distinct()))


# --- labels -----------------------------------------------------------------------------------

#: The label log as the effective-label rules need it (lives in the pandas-free db.labellog).
label_events = labellog.label_events
placed_label_events = labellog.placed_label_events


def labels_frame(session: Session) -> pd.DataFrame:
    """The whole label log with each sample's country/day and batch status (for exports)."""
    cols = (
        "label_id",
        "sample_id",
        "country",
        "day",
        "verdict",
        "event",
        "analyst",
        "batch_id",
        "batch_status",
        "created_at",
        "note",
        "citation_url",
        "evidence_fingerprint",
        "current_fingerprint",
        "seconds_spent",
        "retracts_id",
    )
    stmt = (
        select(
            Label.id,
            Label.sample_id,
            Sample.country,
            Sample.day,
            Label.verdict,
            Label.event,
            Label.analyst,
            Label.batch_id,
            LabelBatch.status,
            Label.created_at,
            Label.note,
            Label.citation_url,
            Label.evidence_fingerprint,
            Sample.fingerprint,
            Label.seconds_spent,
            Label.retracts_id,
        )
        .join(Sample, Sample.id == Label.sample_id)
        .outerjoin(LabelBatch, LabelBatch.id == Label.batch_id)
        .order_by(Label.id)
    )
    return _frame(session, stmt, cols)


def batches_frame(session: Session) -> pd.DataFrame:
    """Labelling sessions (batches) keyed by ``batch_id``, for label provenance."""
    cols = ("batch_id", "session_started_at", "session_strategy")
    stmt = select(LabelBatch.id, LabelBatch.started_at, LabelBatch.strategy)
    frame = _frame(session, stmt, cols)
    frame["batch_id"] = frame["batch_id"].astype("Int64")
    return frame


def queue_context_frame(session: Session) -> pd.DataFrame:
    """Why each labelled day was shown: the queue item answered by each label."""
    cols = ("label_id", "queue_strategy", "queue_reason", "queue_expected_p")
    stmt = select(
        QueueItem.label_id, QueueItem.strategy, QueueItem.reason, QueueItem.expected_p
    ).where(QueueItem.label_id.is_not(None))
    frame = _frame(session, stmt, cols).drop_duplicates("label_id")
    frame["label_id"] = frame["label_id"].astype("int64")
    return frame


# --- counts -----------------------------------------------------------------------------------


def count(session: Session, model: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def count_samples(session: Session, *, candidates: bool = False) -> int:
    """Production samples (the >= min_evidence rule), or the candidate-only days."""
    stmt = select(func.count()).select_from(Sample).where(Sample.candidate_only == candidates)
    return int(session.scalar(stmt) or 0)


def per_country_counts(session: Session) -> pd.DataFrame:
    """Samples, candidate days, incident positives and decisions per country that has samples
    (see :func:`labellog.country_counts`)."""
    return pd.DataFrame.from_records(
        labellog.country_counts(session),
        columns=["country", "samples", "incident_positives", "human_labels", "candidates"],
    )
