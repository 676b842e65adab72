"""64-bit row hashes that find duplicate rows across the chunks of a streamed file.

They do it without keeping the rows: one key hash and one content hash per row (about 70 bytes
a row at the peak, with the line). File digests live in :mod:`labelbench.domain.digest`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from labelbench.ingest.table import RowError


def row_hashes(frame: pd.DataFrame, key: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of each row's key and content (every column but ``line``).

    Each column is hashed in a canonical form (floats, UTC nanoseconds, or Python objects), so
    equal rows hash equally whatever dtype a chunk happened to get.
    """
    columns = [c for c in frame.columns if c != "line"]
    hashed = {c: _column_hash(frame[c]) for c in columns}
    return _combine([hashed[c] for c in key]), _combine([hashed[c] for c in columns])


def _column_hash(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        canonical: np.ndarray = (
            pd.to_numeric(values).astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
        )
    elif pd.api.types.is_datetime64_any_dtype(values):
        canonical = values.to_numpy(dtype="datetime64[ns]").view(np.int64)
    else:
        objects = values.astype(object).where(values.notna(), None)
        has_lists = values.dtype == object and any(isinstance(v, list) for v in objects)
        canonical = (
            np.asarray(
                ["\x1f".join(v) if isinstance(v, list) else v for v in objects], dtype=object
            )
            if has_lists
            else objects.to_numpy(dtype=object)
        )
    hashed: np.ndarray = pd.util.hash_array(canonical, categorize=False)
    return hashed


def _combine(parts: list[np.ndarray]) -> np.ndarray:
    out = np.full(len(parts[0]) if parts else 0, 0x345678, dtype=np.uint64)
    for h in parts:
        out = (out * np.uint64(1_000_003)) ^ h.astype(np.uint64)
    return out


@dataclass
class Duplicates:
    """Rows repeated across chunks: lines to drop, how many were exact, and the conflicts."""

    drop_lines: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    exact: int = 0
    conflicts: list[RowError] = field(default_factory=list)


def find_duplicates(
    key_hashes: Sequence[np.ndarray],
    content_hashes: Sequence[np.ndarray],
    lines: Sequence[np.ndarray],
) -> Duplicates:
    """Identical repeats of a key are dropped (first kept); a repeat with other values conflicts.

    Within one chunk each kind already deduplicates, so only two or more chunks can repeat.
    """
    if len(key_hashes) < 2:
        return Duplicates()
    frame = pd.DataFrame(
        {
            "key": np.concatenate(key_hashes),
            "content": np.concatenate(content_hashes),
            "line": np.concatenate(lines),
        }
    )
    repeated = frame.duplicated("key", keep="first")
    if not repeated.any():
        return Duplicates()
    first = frame[~repeated].set_index("key")
    later = frame[repeated]
    first_content = first.loc[later["key"], "content"].to_numpy()
    first_line = first.loc[later["key"], "line"].to_numpy()
    same = later["content"].to_numpy() == first_content
    conflicts = later[~same]
    return Duplicates(
        drop_lines=later["line"].to_numpy(),
        exact=int(same.sum()),
        conflicts=[
            RowError(int(line), None, f"same key as line {int(earlier)} but different values")
            for line, earlier in zip(conflicts["line"], first_line[~same], strict=True)
        ],
    )
