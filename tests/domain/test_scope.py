"""Scope keywords: the mission's countries by default, wider scopes one word away."""

from __future__ import annotations

from labelbench.domain.scope import ScopeSets, expand_scope

SETS = ScopeSets(
    priority=["OM", "LY"], watch=["UZ", "OM"], sparse=["DE", "LY"], every=["DE", "LY", "OM", "UZ"]
)


def test_default_is_the_priority_countries() -> None:
    assert expand_scope(None, SETS) == ["OM", "LY"]
    assert expand_scope([" "], SETS) == ["OM", "LY"]


def test_keywords_expand_and_mix_with_codes() -> None:
    assert expand_scope(["watch"], SETS) == ["UZ", "OM"]
    assert expand_scope(["all-sparse"], SETS) == ["DE", "LY", "OM", "UZ"]
    assert expand_scope(["Priority", "jo", "om"], SETS) == ["OM", "LY", "JO"]
    assert expand_scope(["all"], SETS) == ["DE", "LY", "OM", "UZ"]
