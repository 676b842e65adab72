"""Which countries a command works on when the user names a scope rather than codes.

The mission is a handful of sparse countries (OM, LY, YE, KW, AM, TN by default), so every
command defaults to those; wider scopes are one keyword away. Keywords and codes mix freely:
``--countries priority,JO`` or ``--countries watch``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PRIORITY = "priority"
WATCH = "watch"
ALL_SPARSE = "all-sparse"
ALL = "all"
#: Scope keywords and what each means (shown in ``--help``).
KEYWORDS: dict[str, str] = {
    PRIORITY: "the configured priority countries (default OM,LY,YE,KW,AM,TN)",
    WATCH: "the 16 watch-list countries",
    ALL_SPARSE: "every country under queue.target_positive_threshold incident positives "
    "plus the watch list",
    ALL: "every country with samples",
}
SCOPE_HELP = (
    "Comma-separated alpha-2 codes and/or a scope: "
    + ", ".join(f"'{k}' ({v})" for k, v in KEYWORDS.items())
    + ". Default: priority."
)


@dataclass(frozen=True, slots=True)
class ScopeSets:
    """The country sets scope keywords expand to, as the database and settings define them."""

    priority: Sequence[str]
    watch: Sequence[str]
    sparse: Sequence[str]
    """Countries under the incident-positive threshold (without the watch list)."""
    every: Sequence[str]


def expand_scope(tokens: Iterable[str] | None, sets: ScopeSets) -> list[str]:
    """Codes for ``tokens`` (codes and keywords, any case); the priority countries when empty.

    Codes are returned upper-cased and de-duplicated in first-seen order; validation against
    the database is the caller's job (it knows which countries exist and have samples).
    """
    wanted = [t.strip() for t in (tokens or []) if t.strip()]
    if not wanted:
        wanted = [PRIORITY]
    expansions = {
        PRIORITY: list(sets.priority),
        WATCH: list(sets.watch),
        ALL_SPARSE: sorted(set(sets.sparse) | set(sets.watch)),
        ALL: list(sets.every),
    }
    out: dict[str, None] = {}
    for token in wanted:
        for code in expansions.get(token.lower(), [token]):
            out.setdefault(code.upper(), None)
    return list(out)
