"""Content digests shared by imports (file provenance) and the model store (artifact integrity).

Plain ``hashlib``: importing this pulls in neither scikit-learn nor a database driver.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

_BLOCK = 1 << 20


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of bytes in memory."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_BLOCK), b""):
            digest.update(chunk)
    return digest.hexdigest()
