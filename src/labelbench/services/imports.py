"""`labelbench import`: a team's own evidence, incidents, feature tables and country overrides.

Two phases, so that a bad file never half-lands:

1. **Validate** the whole file, streaming it in chunks (:mod:`labelbench.ingest`): every row is
   parsed and checked, duplicates are found across the whole file (by 64-bit key and content
   hashes: about 70 bytes a row at the peak), and the good rows are spooled to Parquet parts in
   a temporary directory. The database is not touched. Any problem rejects the file as a whole,
   listing the first errors by line and column, unless ``skip_bad_rows`` is set: then the bad
   rows go to a side file and the rest on.
2. **Write** the spooled rows in one transaction, keyed so that re-importing a file is idempotent
   (new rows inserted, changed rows updated in place, identical rows untouched), then rebuild the
   features of just the countries the import can reach, and record the import in ``import_runs``.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from labelbench.db import queries
from labelbench.db.base import utcnow
from labelbench.db.models import CountryOverride, Evidence, ImportRun, Incident, Sample
from labelbench.db.statistics import refresh_statistics
from labelbench.domain.constants import FEATURES
from labelbench.domain.digest import sha256_file
from labelbench.errors import ExitCode, InputError
from labelbench.ingest.hashing import find_duplicates, row_hashes
from labelbench.ingest.kinds import (
    ColumnMap,
    Kind,
    ParseContext,
    detect_evidence_kind,
    header_hints,
    map_columns,
    parse_chunk,
)
from labelbench.ingest.rejects import RejectsWriter, rejects_path
from labelbench.ingest.schema import UnknownEnd
from labelbench.ingest.table import RawChunk, RowError, TableFile
from labelbench.ingest.values import infer_date_order
from labelbench.ml.features import feature_fingerprints, incident_labels
from labelbench.services.features import rebuild
from labelbench.services.label_imports import (
    SampleIndex,
    days_without_samples,
    sample_index,
    write_labels,
)
from labelbench.services.reference import sync_countries
from labelbench.services.workspace import Workspace

#: progress(stage, done, total): "validating" counts bytes, "writing" rows, "features" 0 then 1.
ImportProgress = Callable[[str, int, int], None]
ImportTarget = Literal["evidence", "incidents", "samples", "countries", "labels"]
_KEY_BATCH = 2_000
_NUMERIC_DATE = re.compile(r"^\s*\d{1,2}[/.-]\d{1,2}[/.-]\d{4}\b")

#: Per kind: the key that makes a re-import idempotent, and the fields compared on a re-import.
_EVIDENCE_FIELDS = (
    "source", "kind", "source_ref", "source_url", "observed_at", "day", "country", "asn",
    "signal_type", "signal_value", "signal_baseline", "signal_level", "domain",
    "blocking_method", "confidence", "anomalous", "measurements", "anomalous_measurements",
)  # fmt: skip
_KEYS: dict[str, tuple[str, ...]] = {
    "evidence": ("source", "source_ref"),
    "ooni": ("source", "source_ref"),
    "incidents": ("import_key",),
    "samples": ("country", "day"),
    "countries": ("country",),
    "labels": ("country", "day", "analyst", "event", "created_at"),
}
_DATE_FIELDS: dict[str, tuple[str, ...]] = {
    "incidents": ("first_seen", "last_seen"),
    "samples": ("day",),
    "ooni": ("day",),
    "labels": ("day",),
}


class ImportRejectedError(InputError):
    """The file failed validation; nothing was written. Carries the first errors by line."""

    exit_code = ExitCode.REJECTED

    def __init__(self, path: Path, errors: Sequence[RowError], total: int, bad_rows: int,
                 rows: int, hint: str = "") -> None:  # fmt: skip
        self.path, self.errors, self.total, self.bad_rows, self.rows = (
            path, list(errors), total, bad_rows, rows
        )  # fmt: skip
        head = (
            f"{path.name} was rejected and nothing was written: "
            + (f"{bad_rows:,} of {rows:,} rows are bad" if bad_rows else "its header is wrong")
            + f" ({total:,} problem{'s' if total != 1 else ''}"
            + (f", first {len(errors)} below)" if total > len(errors) else ")")
        )
        self.details = (*(f"  {e.describe()}" for e in errors), *([hint] if hint else []))
        super().__init__(head)


@dataclass(frozen=True)
class ImportOptions:
    """Everything a user can say about how to read a file (the CLI's flags)."""

    actor: str = "unknown"
    skip_bad_rows: bool = False
    rejects_path: Path | None = None
    evidence_format: Literal["auto", "evidence", "ooni"] = "auto"
    date_order: Literal["auto", "mdy", "dmy"] = "auto"
    default_type: str | None = None
    type_map: Mapping[str, str] = field(default_factory=dict)
    country_map: Mapping[str, str] = field(default_factory=dict)
    ongoing_until: dt.date | None = None
    default_source: str | None = None
    strict_columns: bool = False
    unknown_end: UnknownEnd = "single-day"
    symmetric: bool = False
    build_features: bool = True
    chunk_rows: int = 50_000
    max_errors_shown: int = 10


@dataclass
class ImportReport:
    """What an import read, rejected and changed."""

    kind: str
    file: str
    rows: int = 0
    imported_rows: int = 0
    rejected_rows: int = 0
    problems: int = 0
    duplicates: int = 0
    empty: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    preamble_lines: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    unknown_ends: int = 0
    not_standing: int = 0
    label_batch: int | None = None
    date_order: str | None = None
    date_note: str | None = None
    ongoing_until: str | None = None
    rejects_file: str | None = None
    countries: list[str] = field(default_factory=list)
    features: dict[str, Any] | None = None
    import_id: int | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Scan:
    """The validation pass's result: spooled parts, errors and duplicate bookkeeping."""

    kind: Kind
    columns: ColumnMap
    context: ParseContext
    parts: list[Path] = field(default_factory=list)
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    problems: int = 0
    bad_lines: set[int] = field(default_factory=set)
    duplicates: int = 0
    empty: int = 0
    key_hashes: list[np.ndarray] = field(default_factory=list)
    content_hashes: list[np.ndarray] = field(default_factory=list)
    lines: list[np.ndarray] = field(default_factory=list)
    drop_lines: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    date_note: str | None = None
    unknown_ends: int = 0
    samples: SampleIndex | None = None
    """labels: the samples rows may attach to (a day without one is a row problem)."""


def import_file(
    ws: Workspace,
    target: ImportTarget,
    path: Path,
    options: ImportOptions,
    progress: ImportProgress | None = None,
) -> ImportReport:
    """Validate ``path`` completely, then write it in one transaction (or reject it whole)."""
    say = progress or (lambda _stage, _done, _total: None)
    started, started_at = time.perf_counter(), utcnow()
    with ws.transaction(readonly=True) as session:
        known = frozenset(queries.country_codes(session))
        last_day = session.scalar(select(func.max(Evidence.day)))
    ongoing = options.ongoing_until or last_day or dt.datetime.now(dt.UTC).date()
    hints = header_hints("evidence") | header_hints("ooni") if target == "evidence" else None
    with (
        tempfile.TemporaryDirectory(prefix="labelbench-import-") as spool,
        TableFile(
            path, header_hints=hints or header_hints(target), chunk_rows=options.chunk_rows
        ) as table,
    ):
        kind: Kind = target
        if target == "evidence":
            kind = (
                detect_evidence_kind(table.columns)
                if options.evidence_format == "auto"
                else options.evidence_format
            )
        context = ParseContext(
            known_countries=known,
            default_type=options.default_type,
            type_map=dict(options.type_map),
            country_map=dict(options.country_map),
            ongoing_until=ongoing,
            default_source=options.default_source,
            strict_columns=options.strict_columns,
            unknown_end=options.unknown_end,
        )
        columns = map_columns(kind, table.columns, table.header_line, context)
        if columns.errors:
            raise ImportRejectedError(
                path, columns.errors[: options.max_errors_shown], len(columns.errors), 0, 0
            )
        report = ImportReport(
            kind=kind,
            file=str(path),
            preamble_lines=len(table.preamble),
            ignored_columns=list(columns.ignored),
            unknown_columns=list(columns.unknown),
            ongoing_until=ongoing.isoformat() if kind == "incidents" else None,
        )
        scan = _Scan(kind=kind, columns=columns, context=context)
        if kind == "labels":
            with ws.transaction(readonly=True) as session:
                scan.samples = sample_index(session)
        rejects = (
            RejectsWriter(rejects_path(path, options.rejects_path), table.columns)
            if options.skip_bad_rows
            else None
        )
        try:
            _validate(table, scan, options, Path(spool), rejects, say)
            _find_duplicates(scan)
            report.date_order = scan.context.date_order if kind in _DATE_FIELDS else None
            report.date_note = scan.date_note
            report.rows, report.problems = scan.rows, scan.problems
            report.rejected_rows, report.duplicates = len(scan.bad_lines), scan.duplicates
            report.empty, report.unknown_ends = scan.empty, scan.unknown_ends
            if scan.problems and not options.skip_bad_rows:
                raise ImportRejectedError(
                    path,
                    sorted(scan.errors, key=lambda e: e.line)[: options.max_errors_shown],
                    scan.problems,
                    len(scan.bad_lines),
                    scan.rows,
                    hint=(
                        f"  fix the file, or pass --skip-bad-rows to import the "
                        f"{scan.rows - len(scan.bad_lines) - scan.duplicates:,} good rows and "
                        f"write the bad ones to {rejects_path(path, options.rejects_path)}"
                    ),
                )
            if rejects is not None:
                report.rejects_file = rejects.commit()
        finally:
            if rejects is not None:
                rejects.discard()
        digest = sha256_file(path)
        with ws.transaction() as session:
            counts, touched = _write(session, ws, scan, options, path, say, report)
            report.inserted, report.updated, report.unchanged = counts
            report.imported_rows = sum(counts)
            report.countries = sorted(touched)
            if options.build_features and touched and kind not in ("samples", "labels"):
                say("features", 0, 1)  # one step: the bar shows its elapsed time
                built = rebuild(
                    session,
                    ws.settings.min_evidence,
                    min_candidate=ws.settings.queue.min_candidate_evidence,
                    countries=touched,
                )
                report.features = built.to_dict()
                say("features", 1, 1)
            report.seconds = round(time.perf_counter() - started, 2)
            run = ImportRun(
                kind=kind,
                file_name=str(path.resolve()),
                file_sha256=digest,
                actor=options.actor,
                started_at=started_at,
                finished_at=utcnow(),
                counts={k: v for k, v in report.to_dict().items() if k not in {"file"}},
                options=_jsonable(options),
            )
            session.add(run)
            session.flush()
            report.import_id = run.id
        if report.inserted or report.updated:
            tables = set(_TABLES_WRITTEN[kind])
            if report.features:
                tables.add("samples")
            refresh_statistics(ws.engine, tables)
    return report


#: What each kind of import writes, for the planner statistics refreshed after it.
_TABLES_WRITTEN: dict[str, tuple[str, ...]] = {
    "evidence": ("evidence",),
    "ooni": ("evidence",),
    "incidents": ("incidents",),
    "samples": ("samples",),
    "countries": ("countries", "country_neighbours", "country_overrides"),
    "labels": ("labels", "label_batches"),
}


# --- phase 1: validation ------------------------------------------------------------------------


def _validate(
    table: TableFile,
    scan: _Scan,
    options: ImportOptions,
    spool: Path,
    rejects: RejectsWriter | None,
    say: ImportProgress,
) -> None:
    total = max(table.size_bytes, 1)
    say("validating", 0, total)
    for number, chunk in enumerate(table.chunks()):
        if number == 0:
            scan.context = _with_date_order(scan, chunk, options)
        result = parse_chunk(scan.kind, chunk, scan.columns, scan.context)
        good = result.frame
        problems = [*chunk.errors, *result.errors]
        if scan.samples is not None and len(good):
            missing = days_without_samples(good, scan.samples)
            problems += missing
            good = good[~good["line"].isin([e.line for e in missing])]
        scan.rows += len(chunk.frame) + len(chunk.bad_rows)
        scan.problems += len(problems)
        scan.duplicates += result.duplicates
        scan.empty += result.empty
        scan.unknown_ends += result.unknown_ends
        bad = {e.line for e in problems}
        scan.bad_lines |= bad
        _keep_first_errors(scan, problems, options.max_errors_shown)
        if rejects is not None and bad:
            rejects.add(chunk, problems)
        if len(good):
            part = spool / f"part-{number:06d}.parquet"
            good.to_parquet(part, index=False)
            scan.parts.append(part)
            keys, contents = row_hashes(good, _KEYS[scan.kind])
            scan.key_hashes.append(keys)
            scan.content_hashes.append(contents)
            scan.lines.append(good["line"].to_numpy(dtype=np.int64))
        say("validating", min(table.bytes_read(), total), total)
    say("validating", total, total)


def _with_date_order(scan: _Scan, chunk: RawChunk, options: ImportOptions) -> ParseContext:
    """Resolve ``--date-order auto`` from the first chunk's unambiguous dates (month-first else).

    Also notes how numeric dates were read, when the file has any, so the user can check.
    """
    cells: list[str | None] = []
    for name in _DATE_FIELDS.get(scan.kind, ()):
        raw = scan.columns.columns.get(name)
        if raw is not None:
            cells.extend(chunk.frame[raw].tolist())
    numeric = any(isinstance(c, str) and _NUMERIC_DATE.match(c) for c in cells)
    order = options.date_order
    if order == "auto":
        inferred = infer_date_order(cells)
        order = inferred or "mdy"
        if numeric:
            first = "day-first" if order == "dmy" else "month-first"
            scan.date_note = (
                f"numeric dates read {first} (the file's unambiguous dates say so)"
                if inferred
                else "numeric dates read month-first: none was unambiguous; pass "
                "--date-order dmy if 01/02/2026 means 1 February"
            )
    elif numeric:
        scan.date_note = f"numeric dates read {'day' if order == 'dmy' else 'month'}-first"
    return ParseContext(**{**asdict(scan.context), "date_order": order})


def _keep_first_errors(scan: _Scan, problems: Sequence[RowError], limit: int) -> None:
    if len(scan.errors) < limit * 4:
        scan.errors.extend(problems[: limit * 4])


def _find_duplicates(scan: _Scan) -> None:
    """Rows repeated across chunks: identical ones are dropped, conflicting ones are errors."""
    found = find_duplicates(scan.key_hashes, scan.content_hashes, scan.lines)
    scan.drop_lines = found.drop_lines
    scan.duplicates += found.exact
    for error in found.conflicts:
        scan.problems += 1
        scan.bad_lines.add(error.line)
        scan.errors.append(error)


# --- phase 2: writing ---------------------------------------------------------------------------


def _parts(scan: _Scan) -> Iterator[pd.DataFrame]:
    for part in scan.parts:
        frame = pd.read_parquet(part)
        for col in ("day", "first_seen", "last_seen"):
            if col in frame.columns and pd.api.types.is_datetime64_any_dtype(frame[col]):
                frame[col] = frame[col].dt.date
        if len(scan.drop_lines):
            frame = frame[~frame["line"].isin(scan.drop_lines)]
        if scan.bad_lines:
            frame = frame[~frame["line"].isin(list(scan.bad_lines))]
        if len(frame):
            yield frame.reset_index(drop=True)


def _write(
    session: Session,
    ws: Workspace,
    scan: _Scan,
    options: ImportOptions,
    path: Path,
    say: ImportProgress,
    report: ImportReport,
) -> tuple[tuple[int, int, int], set[str]]:
    total_rows = scan.rows
    done = 0
    inserted = updated = unchanged = 0
    touched: set[str] = set()
    say("writing", 0, total_rows)
    if scan.kind == "countries":
        counts, touched = _write_countries(session, ws, list(_parts(scan)), options, path)
        say("writing", total_rows, total_rows)
        return counts, touched
    if scan.kind == "labels":
        assert scan.samples is not None
        written, touched = write_labels(
            session, _parts(scan), scan.samples, file_name=path.name, actor=options.actor
        )
        report.not_standing, report.label_batch = written.not_standing, written.batch_id
        say("writing", total_rows, total_rows)
        return (written.inserted, 0, written.unchanged), touched
    writer = {
        "evidence": _write_evidence,
        "ooni": _write_evidence,
        "incidents": _write_incidents,
        "samples": _write_samples,
    }[scan.kind]
    for frame in _parts(scan):
        (i, u, n), countries = writer(session, frame)
        inserted, updated, unchanged = inserted + i, updated + u, unchanged + n
        touched |= countries
        done += len(frame)
        say("writing", min(done, total_rows), total_rows)
    say("writing", total_rows, total_rows)
    return (inserted, updated, unchanged), touched


def _differs(new: pd.Series, old: pd.Series) -> np.ndarray:
    """Element-wise "the stored value is not the imported one" (NULL-safe, float-tolerant)."""
    a, b = new.reset_index(drop=True), old.reset_index(drop=True)
    a_na, b_na = a.isna().to_numpy(), b.isna().to_numpy()
    both = ~a_na & ~b_na
    out = a_na != b_na
    if not both.any():
        return out
    av, bv = a[both], b[both]
    if pd.api.types.is_bool_dtype(av) or pd.api.types.is_bool_dtype(bv):
        diff = av.astype(bool).to_numpy() != bv.astype(bool).to_numpy()
    elif pd.api.types.is_numeric_dtype(av) and not pd.api.types.is_bool_dtype(av):
        x = av.astype(float).to_numpy()
        y = pd.to_numeric(bv).astype(float).to_numpy()
        diff = ~np.isclose(x, y, rtol=0, atol=1e-12)
    elif isinstance(av.iloc[0], pd.Timestamp | dt.datetime):
        x = pd.to_datetime(av, utc=True).to_numpy()
        y = pd.to_datetime(bv, utc=True).to_numpy()
        diff = x != y
    else:
        diff = av.astype(str).to_numpy() != bv.astype(str).to_numpy()
    out[np.flatnonzero(both)] = diff
    return out


def _changed_rows(frame: pd.DataFrame, stored: pd.DataFrame, key: list[str],
                  fields: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame, int]:  # fmt: skip
    """Split imported rows into new ones and changed ones (with the stored ``id``)."""
    merged = frame.merge(stored, on=key, how="left", suffixes=("", "_old"), indicator=True)
    new = merged[merged["_merge"] == "left_only"][frame.columns]
    old = merged[merged["_merge"] == "both"].reset_index(drop=True)
    mask = np.zeros(len(old), dtype=bool)
    for col in fields:
        if col in key or f"{col}_old" not in old.columns:
            continue
        mask |= _differs(old[col], old[f"{col}_old"])
    return new, old[mask], len(old) - int(mask.sum())


def _upsert(
    session: Session,
    model: Any,
    frame: pd.DataFrame,
    key: Sequence[str],
    fields: Sequence[str],
    **stamp: Any,
) -> tuple[tuple[int, int, int], set[str]]:
    """Insert new keys, update changed rows in place (same id), leave identical rows alone.

    Returns (inserted, updated, unchanged) and the countries whose data moved; ``stamp`` columns
    (e.g. ``built_at``) are set on inserted and updated rows only.
    """
    frame = frame[list(fields)]
    stored = _stored_rows(session, model, frame, key, fields)
    new, changed, same = _changed_rows(frame, stored, list(key), fields)
    queries.insert_frame(session, model.__table__, new.assign(**stamp))
    if len(changed):
        session.execute(update(model), queries.records(changed[["id", *fields]].assign(**stamp)))
    touched = set(new["country"]) | set(changed["country"]) | set(changed.get("country_old", []))
    return (len(new), len(changed), same), {str(c) for c in touched}


def _stored_rows(
    session: Session, model: Any, frame: pd.DataFrame, key: Sequence[str], fields: Sequence[str]
) -> pd.DataFrame:
    """The stored rows (``id`` and ``fields``) whose key is in ``frame``, looked up in batches.

    Equality on the leading key columns and ``IN`` on the last one, so that SQLite searches the
    unique index (it scans the table for a row-value ``(a, b) IN (...)``); see ``key_in`` for
    PostgreSQL.
    """
    columns = [model.id, *(getattr(model, c) for c in fields)]
    *prefix, last = key
    groups = frame.groupby(prefix, sort=False) if prefix else [((), frame)]
    rows: list[tuple[Any, ...]] = []
    for values, group in groups:
        same = [getattr(model, c) == v for c, v in zip(prefix, values, strict=True)]
        keys = group[last].tolist()
        for start in range(0, len(keys), _KEY_BATCH):
            batch = queries.key_in(session, getattr(model, last), keys[start : start + _KEY_BATCH])
            rows.extend(tuple(r) for r in session.execute(select(*columns).where(*same, batch)))
    return pd.DataFrame.from_records(rows, columns=["id", *fields])


def _write_evidence(session: Session, frame: pd.DataFrame) -> tuple[tuple[int, int, int], set[str]]:
    return _upsert(session, Evidence, frame, ("source", "source_ref"), _EVIDENCE_FIELDS)


def _write_incidents(
    session: Session, frame: pd.DataFrame
) -> tuple[tuple[int, int, int], set[str]]:
    fields = ("country", "first_seen", "last_seen", "incident_type", "source", "citation_url",
              "open_ended", "import_key")  # fmt: skip
    return _upsert(session, Incident, frame, ("import_key",), fields)


def _write_samples(session: Session, frame: pd.DataFrame) -> tuple[tuple[int, int, int], set[str]]:
    """A team's feature rows: stored as they are (``origin = 'import'``), never recomputed."""
    frame = frame.copy()
    frame["given_label"] = pd.to_numeric(frame["given_label"]).astype("Int64")
    frame["fingerprint"] = feature_fingerprints(frame)
    countries = sorted(set(frame["country"]))
    incidents = queries.incidents_frame(session, countries)
    derived = incident_labels(frame[["country", "day"]], incidents)
    given = frame["given_label"]
    frame["incident_label"] = np.where(given.notna(), given.fillna(0), derived).astype(int)
    frame["origin"] = "import"
    fields = ("country", "day", *FEATURES, "evidence_count", "fingerprint", "incident_label",
              "origin", "given_label")  # fmt: skip
    return _upsert(session, Sample, frame, ("country", "day"), fields, built_at=utcnow())


def _write_countries(
    session: Session,
    ws: Workspace,
    frames: list[pd.DataFrame],
    options: ImportOptions,
    path: Path,
) -> tuple[tuple[int, int, int], set[str]]:
    """Upsert overrides, then re-sync the reference tables so they take effect everywhere."""
    before = queries.neighbours(session)
    overrides = {o.country: o for o in session.scalars(select(CountryOverride))}
    source = path.name
    inserted = updated = unchanged = 0
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    wanted: dict[str, tuple[bool, str | None, list[str] | None]] = {}
    for rec in rows.to_dict(orient="records"):
        code = str(rec["country"])
        o = overrides.get(code)
        cluster_set = o.cluster_set if o else False
        cluster = o.cluster if o else None
        if rec["cluster_action"] == "set":
            cluster_set, cluster = True, str(rec["cluster"])
        elif rec["cluster_action"] == "clear":
            cluster_set, cluster = True, None
        listed = rec["neighbours"]
        neighbours = (
            sorted(str(n) for n in listed) if listed is not None else (o.neighbours if o else None)
        )
        wanted[code] = (cluster_set, cluster, neighbours)
    if options.symmetric:
        for code, (_, _, nbrs) in list(wanted.items()):
            for other in nbrs or []:
                cs, cl, theirs = wanted.get(other) or _current(overrides.get(other))
                base = set(theirs) if theirs is not None else set(before.get(other, frozenset()))
                wanted[other] = (cs, cl, sorted(base | {code}))
    for code, (cluster_set, cluster, neighbours) in wanted.items():
        o = overrides.get(code)
        if o is None:
            session.add(
                CountryOverride(
                    country=code, cluster_set=cluster_set, cluster=cluster,
                    neighbours=neighbours, source=source,
                )
            )  # fmt: skip
            inserted += 1
        elif (o.cluster_set, o.cluster, o.neighbours) != (cluster_set, cluster, neighbours):
            o.cluster_set, o.cluster, o.neighbours = cluster_set, cluster, neighbours
            o.updated_at = utcnow()
            updated += 1
        else:
            unchanged += 1
    session.flush()
    sync_countries(session, ws.settings)
    session.flush()
    after = queries.neighbours(session)
    moved = {c for c in set(before) | set(after) if before.get(c) != after.get(c)}
    return (inserted, updated, unchanged), moved


def _current(o: CountryOverride | None) -> tuple[bool, str | None, list[str] | None]:
    return (o.cluster_set, o.cluster, o.neighbours) if o else (False, None, None)


def _jsonable(options: ImportOptions) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in asdict(options).items():
        if isinstance(value, Path | dt.date):
            out[key] = str(value)
        elif isinstance(value, Mapping):
            out[key] = dict(value)
        else:
            out[key] = value
    return out
