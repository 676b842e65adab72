"""The ``--skip-bad-rows`` side file: bad rows with their line and problems, written atomically.

The file is written beside its target under a temporary name and renamed only when the import
succeeds, so a failed import never leaves a rejects file that describes rows that were not
imported either. A target that cannot be written is an :class:`~labelbench.errors.InputError`
raised before anything is read (exit 7), not an unexpected crash halfway through.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from labelbench.errors import InputError
from labelbench.ingest.table import RawChunk, RowError


def rejects_path(path: Path, override: Path | None = None) -> Path:
    """``FILE.rejects.csv`` beside the imported file (``.gz`` dropped), unless overridden."""
    if override is not None:
        return override
    name = path.name.removesuffix(".gz")
    return path.with_name(f"{Path(name).stem}.rejects.csv")


class RejectsWriter:
    """Bad rows with their line and problems, written beside the target and renamed at the end."""

    def __init__(self, target: Path, columns: Sequence[str]) -> None:
        self.target = target
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(
                dir=self.target.parent, prefix=f".{self.target.name}.", suffix=".tmp"
            )
        except OSError as exc:
            raise InputError(
                f"cannot write the rejects file {target}: {exc.strerror or exc} "
                "(pass --rejects PATH somewhere writable)"
            ) from None
        self.tmp = Path(tmp)
        self.handle = os.fdopen(fd, "w", newline="", encoding="utf-8")
        self.writer = csv.writer(self.handle)
        self.columns = list(columns)
        self.writer.writerow(["line", "problems", *self.columns])
        self.count = 0

    def add(self, chunk: RawChunk, problems: Sequence[RowError]) -> None:
        by_line: dict[int, list[str]] = {}
        for e in problems:
            text = f"column '{e.column}': {e.message}" if e.column else e.message
            by_line.setdefault(e.line, []).append(text)
        positions = {int(line): i for i, line in enumerate(chunk.lines)}
        for line in sorted(by_line):
            if line in chunk.bad_rows:
                cells: list[Any] = list(chunk.bad_rows[line])
            elif line in positions:
                cells = chunk.frame.iloc[positions[line]].tolist()
            else:
                cells = []
            cells = ["" if c is None else c for c in cells]
            self.writer.writerow([line, "; ".join(by_line[line]), *cells])
            self.count += 1

    def commit(self) -> str | None:
        self.handle.close()
        if self.count == 0:
            self.tmp.unlink(missing_ok=True)
            return None
        try:
            self.tmp.replace(self.target)
        except OSError as exc:
            raise InputError(
                f"cannot write the rejects file {self.target}: {exc.strerror or exc}"
            ) from None
        return str(self.target)

    def discard(self) -> None:
        if not self.handle.closed:
            self.handle.close()
        self.tmp.unlink(missing_ok=True)
