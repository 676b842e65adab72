"""Stream delimited-text and Parquet files as raw text chunks with exact line numbers.

Real exports come with note lines above the header, byte-order marks, semicolons or tabs, quoted
fields holding commas and newlines, and the odd broken row. :class:`TableFile` finds the header,
keeps the *physical* line number of every row (so each error points at a line the user can open in
an editor) and yields :class:`RawChunk` objects of stripped text cells. It never types or validates
cells: that is :mod:`labelbench.ingest.kinds`' job. Rows that cannot even be split into the
header's columns (wrong field count, undecodable bytes) are reported here as structural errors.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gzip
import io
import itertools
import math
import re
import zlib
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final, Literal, Self, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelbench.errors import InputError

#: Candidate delimiters, in order of preference when two split a header into as many cells.
DELIMITERS: Final[tuple[str, ...]] = (",", ";", "\t", "|")
#: How many non-blank, non-comment lines may precede the header before we give up looking.
HEADER_SEARCH_LINES: Final[int] = 50
#: Python's ``surrogateescape`` error handler maps each undecodable byte to one of these.
_SURROGATE: Final[re.Pattern[str]] = re.compile("[\udc80-\udcff]")
_NON_ALNUM: Final[re.Pattern[str]] = re.compile(r"[\W_]+")
#: First characters that send a row down the slow path (comments, possibly indented).
_ODD_STARTS: Final[frozenset[str]] = frozenset({"#", " ", "\t"})
#: csv's default field limit (128 KiB) is too small for long URL lists; a field past this one
#: is reported as a row error (it is nearly always a quote left open).
_FIELD_LIMIT: Final[int] = 16 * 1024 * 1024


def normalise_name(name: str) -> str:
    """Comparable header name: "End date" -> "end_date", " Country Code" -> "country_code"."""
    return _NON_ALNUM.sub("_", name.strip().lower()).strip("_")


def printable(text: str) -> str:
    """``text`` with undecodable bytes (surrogate escapes) as U+FFFD: safe to write as UTF-8."""
    return _SURROGATE.sub("\ufffd", text)


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem of one row (or of the header/file when ``column`` is None and no row applies).

    ``line`` is the 1-based physical line in a text file (Parquet: data-row number + 1), so users
    can jump to it; ``column`` is the header name exactly as written in the file.
    """

    line: int
    column: str | None
    message: str
    value: str | None = None

    def describe(self) -> str:
        """One line for a terminal or a rejects file."""
        if self.column is None:
            return f"line {self.line}: {self.message}"
        return f"line {self.line}, column '{self.column}': {self.message}"


@dataclass(frozen=True)
class RawChunk:
    """Up to ``chunk_rows`` rows of text cells (str, or None for empty cells), keyed by raw header.

    ``errors`` and ``bad_rows`` describe the rows of this stretch of the file that are *not* in
    ``frame`` because they could not be split into the header's columns.
    """

    frame: pd.DataFrame
    lines: npt.NDArray[np.int64]
    errors: list[RowError]
    bad_rows: dict[int, list[str]]


def _format_of(path: Path) -> tuple[Literal["csv", "parquet"], bool, str | None]:
    """(format, gzip-compressed, forced delimiter) from the file name."""
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet", False, None
    gz = name.endswith(".gz")
    base = name.removesuffix(".gz")
    if base.endswith(".tsv"):
        return "csv", gz, "\t"
    if base.endswith((".csv", ".txt")):
        return "csv", gz, None
    raise InputError(f"cannot tell the format of {path.name}: use .csv, .csv.gz, .tsv or .parquet")


def _split(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter), [])


class TableFile:
    """Context manager. Opens .csv, .csv.gz, .tsv, .txt (delimited) or .parquet/.pq.

    The header is located and checked on construction, so ``columns`` is available before any
    chunk is read; :meth:`chunks` then streams the rows once, never holding the whole file.

    Text files: blank lines and lines starting with ``#`` are skipped everywhere. Among the first
    :data:`HEADER_SEARCH_LINES` other lines, the header is the first one with at least two cells
    among ``header_hints`` (compared with :func:`normalise_name`), else the first one; the lines
    above it are the ``preamble``. The delimiter is the one of :data:`DELIMITERS` that splits the
    header into most cells (``.tsv``: tab). Undecodable bytes, wrong field counts and broken
    quoting make structural row errors; a trailing delimiter on every line is tolerated.

    Parquet files: every cell is rendered as text (dates and timestamps in ISO 8601, booleans as
    ``true``/``false``, floats by ``repr`` so they round-trip; nulls and NaN are empty) and the
    first data row is "line 2", as if there were a header line.
    """

    path: Path
    format: Literal["csv", "parquet"]
    columns: list[str]
    header_line: int
    preamble: list[str]
    size_bytes: int

    def __init__(
        self,
        path: Path,
        *,
        header_hints: Collection[str],
        chunk_rows: int = 50_000,
        encoding: str = "utf-8",
    ) -> None:
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be positive")
        self.path = Path(path)
        self._chunk_rows = chunk_rows
        self._hints = frozenset(normalise_name(h) for h in header_hints)
        self._raw: IO[bytes] | None = None
        self._text: io.TextIOWrapper | None = None
        self._pending: list[str] = []
        self._parquet: Any = None
        self._rows_read = 0
        self._total_rows = 0
        self._started = False
        self._finished = False
        self.preamble = []
        self.header_line = 1
        self._delimiter = ","
        self._encoding_label = "UTF-8"
        if not self.path.exists():
            raise InputError(f"file not found: {self.path}")
        if self.path.is_dir():
            raise InputError(f"{self.path} is a directory, not a file")
        fmt, gz, forced = _format_of(self.path)
        self.format = fmt
        try:
            self.size_bytes = self.path.stat().st_size
        except OSError as exc:
            raise InputError(f"cannot read {self.path}: {exc.strerror or exc}") from exc
        if self.size_bytes == 0:
            raise InputError(f"{self.path.name} is empty")
        try:
            if fmt == "parquet":
                self._open_parquet()
            else:
                self._open_text(gz, forced, encoding)
            self._check_header()
        except BaseException:
            self.close()
            raise

    def _check_header(self) -> None:
        seen: set[str] = set()
        for position, name in enumerate(self.columns, start=1):
            if not name:
                raise InputError(
                    f"column {position} of the header (line {self.header_line}) has no name"
                )
            if name in seen:
                raise InputError(
                    f"column '{name}' appears twice in the header (line {self.header_line})"
                )
            seen.add(name)

    # ---------------------------------------------------------------------------------------
    # Opening
    # ---------------------------------------------------------------------------------------

    def _open_parquet(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            self._parquet = pq.ParquetFile(self.path)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise InputError(f"cannot read {self.path.name} as Parquet: {exc}") from exc
        self.columns = [str(name).strip() for name in self._parquet.schema_arrow.names]
        self._total_rows = int(self._parquet.metadata.num_rows)
        if not self.columns:
            raise InputError(f"{self.path.name} has no columns")

    def _open_text(self, gz: bool, forced: str | None, encoding: str) -> None:
        try:
            codec = codecs.lookup(encoding).name
        except LookupError as exc:
            raise InputError(f"unknown encoding '{encoding}'") from exc
        self._encoding_label = "UTF-8" if codec == "utf-8" else encoding
        try:
            self._raw = self.path.open("rb")
        except OSError as exc:
            raise InputError(f"cannot read {self.path}: {exc.strerror or exc}") from exc
        binary: IO[bytes] = (
            cast(IO[bytes], gzip.GzipFile(fileobj=self._raw, mode="rb")) if gz else self._raw
        )
        self._text = io.TextIOWrapper(
            binary,
            encoding="utf-8-sig" if codec == "utf-8" else encoding,
            errors="surrogateescape",
            newline="",
        )
        with _ReadErrors(self.path.name):
            self._find_header(forced)

    def _hint_count(self, line: str, delimiters: tuple[str, ...]) -> int:
        """Most cells of ``line`` that are header hints, over the candidate delimiters."""
        return max(
            sum(normalise_name(cell) in self._hints for cell in _split(line, delimiter))
            for delimiter in delimiters
        )

    def _find_header(self, forced: str | None) -> None:
        """Pick the header among the first non-blank, non-comment lines (see the module docs)."""
        assert self._text is not None
        consumed: list[tuple[int, str]] = []  # every physical line read so far, with its number
        candidates: list[int] = []  # indexes into `consumed` of non-blank, non-# lines
        header: int | None = None
        number = 0
        while len(candidates) < HEADER_SEARCH_LINES:
            line = self._text.readline()
            if not line:
                break
            number += 1
            consumed.append((number, line))
            content = line.strip()
            if not content or content.startswith("#"):
                continue
            candidates.append(len(consumed) - 1)
            if self._hint_count(content, (forced,) if forced else DELIMITERS) >= 2:
                header = len(consumed) - 1
                break
        if not candidates:
            raise InputError(f"{self.path.name} has no header line (the file holds no data)")
        if header is None:
            header = candidates[0]
        self.header_line, header_text = consumed[header]
        header_text = header_text.rstrip("\r\n")
        # Notes and comment lines above the header, kept for the import report.
        self.preamble = [printable(text.strip()) for _, text in consumed[:header] if text.strip()]
        self._pending = [text for _, text in consumed[header + 1 :]]
        if _SURROGATE.search(header_text):
            raise InputError(
                f"the header (line {self.header_line}) of {self.path.name} is not valid "
                f"{self._encoding_label} text (save the file as UTF-8)"
            )
        if forced is not None:
            self._delimiter = forced
        else:
            self._delimiter = max(
                DELIMITERS, key=lambda d: (len(_split(header_text, d)), -DELIMITERS.index(d))
            )
        cells = [cell.strip() for cell in _split(header_text, self._delimiter)]
        while cells and not cells[-1]:
            cells.pop()  # a trailing delimiter (spreadsheet exports) is not a column
        if not cells:
            raise InputError(f"{self.path.name} has no header line (line {self.header_line})")
        self.columns = cells

    # ---------------------------------------------------------------------------------------
    # Reading
    # ---------------------------------------------------------------------------------------

    def chunks(self) -> Iterator[RawChunk]:
        """Stream the data rows as chunks of at most ``chunk_rows`` good rows (once per file)."""
        if self._started:
            raise RuntimeError("TableFile.chunks() can be iterated only once")
        self._started = True
        if self.format == "parquet":
            yield from self._parquet_chunks()
        else:
            yield from self._text_chunks()
        self._finished = True

    def bytes_read(self) -> int:
        """On-disk (compressed) bytes consumed so far, for a progress bar."""
        if self._finished:
            return self.size_bytes
        if self.format == "parquet":
            if self._total_rows == 0:
                return 0
            return int(self.size_bytes * self._rows_read / self._total_rows)
        if self._raw is None or self._raw.closed:
            return self.size_bytes if self._started else 0
        return min(self._raw.tell(), self.size_bytes)

    def _text_chunks(self) -> Iterator[RawChunk]:
        assert self._text is not None
        text = self._text
        ncols = len(self.columns)
        base = self.header_line
        pending = self._pending
        self._pending = []

        previous_limit = csv.field_size_limit(_FIELD_LIMIT)
        reader = csv.reader(itertools.chain(pending, text), delimiter=self._delimiter, strict=True)
        rows: list[list[str]] = []
        numbers: list[int] = []
        errors: list[RowError] = []
        bad_rows: dict[int, list[str]] = {}
        consumed = 0
        chunk_rows = self._chunk_rows
        try:
            with _ReadErrors(self.path.name, lambda: base + reader.line_num):
                while True:
                    try:
                        row = next(reader)
                    except StopIteration:
                        break
                    except csv.Error as exc:  # bad quoting: the reader resumes on the next line
                        line = base + consumed + 1
                        consumed = reader.line_num
                        errors.append(RowError(line, None, _quoting_message(exc)))
                        bad_rows[line] = []
                        continue
                    line = base + consumed + 1
                    consumed = reader.line_num
                    if len(row) != ncols or row[0][:1] in _ODD_STARTS:
                        regular = self._regularise(row, line, errors, bad_rows)
                        if regular is None:
                            continue
                        row = regular
                    rows.append(row)
                    numbers.append(line)
                    if len(rows) >= chunk_rows:
                        yield self._text_chunk(rows, numbers, errors, bad_rows)
                        rows, numbers, errors, bad_rows = [], [], [], {}
            if rows or errors:
                yield self._text_chunk(rows, numbers, errors, bad_rows)
        finally:
            csv.field_size_limit(previous_limit)
            self.close()

    def _regularise(
        self, row: list[str], line: int, errors: list[RowError], bad_rows: dict[int, list[str]]
    ) -> list[str] | None:
        """The slow path for rare rows: comments, blank lines, wrong field counts (None: skip)."""
        ncols = len(self.columns)
        if not row or row[0].lstrip()[:1] == "#":
            return None
        if len(row) == ncols:
            return row
        if len(row) > ncols and not any(c.strip() for c in row[ncols:]):
            return row[:ncols]  # trailing delimiters (spreadsheet exports) are tolerated
        if not any(c.strip() for c in row):
            return None
        errors.extend(self._shape_errors(line, row, ncols))
        bad_rows[line] = [printable(c) for c in row]
        return None

    def _shape_errors(self, line: int, row: list[str], ncols: int) -> list[RowError]:
        found = [
            RowError(line, None, f"expected {ncols} fields, found {len(row)}", None),
        ]
        if any(_SURROGATE.search(cell) for cell in row):
            found.append(RowError(line, None, self._undecodable_message(), None))
        return found

    def _undecodable_message(self) -> str:
        return f"not valid {self._encoding_label} text (save the file as UTF-8)"

    def _text_chunk(
        self,
        rows: list[list[str]],
        numbers: list[int],
        errors: list[RowError],
        bad_rows: dict[int, list[str]],
    ) -> RawChunk:
        """Rows (all of the header's width) -> stripped cells, minus undecodable rows."""
        shape = (len(rows), len(self.columns))
        flat = list(itertools.chain.from_iterable(rows))
        line_array = np.asarray(numbers, dtype=np.int64)
        keep = np.ones(len(rows), dtype=np.bool_)
        joined = "".join(flat)
        if not joined.isascii() and _SURROGATE.search(joined):
            raw = np.array(flat, dtype=object).reshape(shape)
            for i, j in zip(*np.nonzero(_has_surrogate(raw)), strict=True):
                keep[i] = False
                line = int(line_array[i])
                message = self._undecodable_message()
                value = printable(str(raw[i, j]).strip())
                errors.append(RowError(line, self.columns[j], message, value))
                bad_rows[line] = [printable(c) for c in rows[i]]
        stripped = [v.strip() or None for v in flat]
        cells = np.array(stripped, dtype=object).reshape(shape)
        return _finish_chunk(
            self.columns, cells, line_array, keep, errors, bad_rows, None in stripped
        )

    def _parquet_chunks(self) -> Iterator[RawChunk]:
        import pyarrow as pa

        try:
            for batch in self._parquet.iter_batches(batch_size=self._chunk_rows):
                n = int(batch.num_rows)
                first = self._rows_read
                cells = np.empty((n, len(self.columns)), dtype=object)
                for j in range(len(self.columns)):
                    cells[:, j] = _arrow_cells(batch.column(j))
                self._rows_read += n
                lines = np.arange(first + 2, first + 2 + n, dtype=np.int64)
                keep = np.ones(n, dtype=np.bool_)
                yield _finish_chunk(self.columns, cells, lines, keep, [], {}, True)
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"cannot read {self.path.name} as Parquet: {exc}") from exc

    # ---------------------------------------------------------------------------------------
    # Context manager
    # ---------------------------------------------------------------------------------------

    def close(self) -> None:
        """Release the file handles (idempotent)."""
        if self._text is not None:
            with contextlib.suppress(OSError, EOFError, zlib.error):
                self._text.close()
            self._text = None
        if self._raw is not None:
            self._raw.close()
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _quoting_message(exc: csv.Error) -> str:
    text = str(exc)
    if "unexpected end of data" in text:
        return "a quoted field starting on this line is never closed (check the quotes)"
    if "expected after" in text:
        return "text after a closing quote (quote the whole field and double any quote inside it)"
    if "field larger than field limit" in text:
        return "a field longer than 16 MiB (is a quote left unclosed?)"
    return f"cannot split this line into fields ({text})"


class _ReadErrors:
    """Turns decompression and csv failures into one-line :class:`InputError` messages."""

    def __init__(self, name: str, line: Callable[[], int] | None = None) -> None:
        self.name = name
        self.line = line

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            return
        where = f" near line {self.line()}" if self.line is not None else ""
        if isinstance(exc, csv.Error):
            raise InputError(
                f"cannot read {self.name}{where}: {exc} (is a quote left unclosed?)"
            ) from exc
        if isinstance(exc, (gzip.BadGzipFile, EOFError, zlib.error)):
            raise InputError(f"{self.name} is not a valid gzip file{where}: {exc}") from exc
        if isinstance(exc, OSError):
            raise InputError(f"cannot read {self.name}{where}: {exc.strerror or exc}") from exc


def _finish_chunk(
    columns: list[str],
    cells: npt.NDArray[np.object_],
    lines: npt.NDArray[np.int64],
    keep: npt.NDArray[np.bool_],
    errors: list[RowError],
    bad_rows: dict[int, list[str]],
    some_empty: bool,
) -> RawChunk:
    """Drop structurally bad and all-empty rows, build the object-dtype frame.

    ``cells`` is rows x columns of str/None; ``some_empty`` says whether any cell is None (when
    none is, no row can be all-empty and the check is skipped).
    """
    if some_empty and len(lines):
        keep &= ~pd.isna(cells).all(axis=1)
    frame = pd.DataFrame(cells[keep], columns=pd.Index(columns, dtype=object), dtype=object)
    errors.sort(key=lambda e: e.line)
    return RawChunk(frame=frame, lines=lines[keep], errors=errors, bad_rows=bad_rows)


def _has_surrogate(grid: npt.NDArray[np.object_]) -> npt.NDArray[np.bool_]:
    flags = [_SURROGATE.search(cell) is not None for cell in grid.ravel().tolist()]
    return np.array(flags, dtype=np.bool_).reshape(grid.shape)


def _float_text(value: Any) -> str | None:
    number = float(value)
    return None if math.isnan(number) else repr(number)


def _arrow_cells(array: Any) -> npt.NDArray[np.object_]:
    """One Arrow column as text cells (see :class:`TableFile` for the rendering rules)."""
    import pyarrow as pa

    kind = array.type
    if pa.types.is_dictionary(kind):
        array = array.dictionary_decode()
        kind = array.type
    convert: Callable[[Any], str | None]
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or _is_string_view(kind):
        convert = _strip_text
    elif pa.types.is_boolean(kind):
        convert = _bool_text
    elif pa.types.is_floating(kind):
        convert = _float_text
    elif pa.types.is_integer(kind):
        convert = str
    elif pa.types.is_temporal(kind) and not pa.types.is_duration(kind):
        convert = _iso_text
    elif pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        convert = _bytes_text
    else:
        convert = _strip_str
    return np.array([None if v is None else convert(v) for v in array.to_pylist()], dtype=object)


def _is_string_view(kind: Any) -> bool:
    import pyarrow as pa

    check = getattr(pa.types, "is_string_view", None)
    return bool(check(kind)) if check is not None else False


def _strip_text(value: Any) -> str | None:
    text: str = value
    return text.strip() or None


def _strip_str(value: Any) -> str | None:
    return str(value).strip() or None


def _bool_text(value: Any) -> str:
    return "true" if value else "false"


def _iso_text(value: Any) -> str:
    text: str = value.isoformat()
    return text


def _bytes_text(value: Any) -> str | None:
    data: bytes = value
    return data.decode("utf-8", errors="replace").strip() or None
