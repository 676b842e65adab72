"""Files users share (reports, exports): written whole or not at all, with the user's umask.

``tempfile.mkstemp`` creates its file with mode 0600 whatever the umask, so a report renamed
from it could not be read by the team; :func:`atomic_target` creates the temporary file with
0666 masked by the umask, as ``open()`` would.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from labelbench.errors import InputError


@contextlib.contextmanager
def atomic_target(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path``, renamed onto it when the block succeeds (removed when
    it fails), so readers never see half a file."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path} is a directory; give a file name")
    if not path.parent.exists():
        raise InputError(f"folder {path.parent} does not exist")
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield tmp
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomically(path: Path, content: str) -> None:
    """Write text through :func:`atomic_target`."""
    with atomic_target(path) as tmp:
        tmp.write_text(content, encoding="utf-8", newline="")
