"""Fits kept beside a run, so that the next retrain does not redo them.

`retrain` re-evaluates production on the labels production was trained on; when production was
itself the candidate it ran almost exactly those fits. A run therefore keeps the results of every
fit its candidate evaluation needed (``folds.npz``, pinned by its manifest like the other run
files), and the next retrain loads production's file into its fit cache (see
:func:`labelbench.ml.cv.run_folds`).

Honesty rests on the key, not on this file: a result is stored under the content hash of its
whole computation (recipe, engine, fitting code, library versions, features, countries, cluster
routing, training rows with their labels, scored rows), so it is only ever reused where a refit
would compute the same thing. A new row, a changed label or feature, or another scikit-learn
changes the key, and that fit is simply refitted. The file holds plain numeric arrays (numpy's
``.npz``, read with ``allow_pickle=False``): loading it runs no code, and anything unexpected in
it is a :class:`FoldCacheError` that the caller answers by refitting.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from labelbench.ml.cv import POSITION_KEYS

FORMAT = "labelbench-fold-cache/1"
FILE_NAME = "folds.npz"
_FORMAT_KEY = "format"
#: What a fit result may hold: probabilities and row positions, nothing else.
_DTYPES = (np.dtype(np.float64), np.dtype(np.int64), np.dtype(np.intp))


class FoldCacheError(ValueError):
    """A kept-fits file that cannot be used (the caller refits instead)."""


def dump(entries: Mapping[str, Any]) -> bytes:
    """``entries`` (cache key -> array, or dict of arrays) as compressed ``.npz`` bytes.

    Row positions are left out: they index the sample table of the run that computed them, and
    :func:`labelbench.ml.cv.run_folds` puts the current ones back on every hit.
    """
    arrays: dict[str, np.ndarray[Any, Any]] = {_FORMAT_KEY: np.array(FORMAT)}
    for key, value in entries.items():
        if isinstance(value, np.ndarray):
            arrays[f"a|{key}"] = _checked(value, key)
        elif isinstance(value, Mapping):
            for name, arr in value.items():
                if name in POSITION_KEYS:
                    continue
                arrays[f"d|{key}|{name}"] = _checked(np.asarray(arr), key)
        else:
            raise FoldCacheError(f"unexpected fit result of type {type(value).__name__}")
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


def load(data: bytes) -> dict[str, Any]:
    """The entries :func:`dump` wrote (``FoldCacheError`` for anything else)."""
    out: dict[str, Any] = {}
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            if _FORMAT_KEY not in npz.files or str(npz[_FORMAT_KEY]) != FORMAT:
                raise FoldCacheError("not a labelbench fold cache (format marker missing)")
            for name in npz.files:
                if name == _FORMAT_KEY:
                    continue
                parts = name.split("|")
                arr = _checked(npz[name], name)
                if parts[0] == "a" and len(parts) == 2:
                    out[parts[1]] = arr
                elif parts[0] == "d" and len(parts) == 3:
                    entry = out.setdefault(parts[1], {})
                    if not isinstance(entry, dict):
                        raise FoldCacheError(f"entry {parts[1]} is both an array and a record")
                    entry[parts[2]] = arr
                else:
                    raise FoldCacheError(f"unexpected member {name!r}")
    except FoldCacheError:
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise FoldCacheError(f"unreadable fold cache: {exc}".splitlines()[0]) from None
    return out


def _checked(arr: np.ndarray[Any, Any], key: str) -> np.ndarray[Any, Any]:
    if arr.dtype not in _DTYPES or arr.ndim not in (1, 2):
        raise FoldCacheError(f"entry {key} has an unexpected array ({arr.dtype}, {arr.ndim}-d)")
    return arr
