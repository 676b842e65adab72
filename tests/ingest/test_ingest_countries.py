"""CountryResolver: exact after normalisation, never silently fuzzy."""

from __future__ import annotations

import pandas as pd
import pytest
from ingest_support import KNOWN

from labelbench.ingest.countries import ALIASES, CountryResolver, country_index, normalise_country


def resolve_one(text: str, known: frozenset[str] = KNOWN, **overrides: str) -> tuple[object, str]:
    codes, bad, messages = CountryResolver(known, overrides).resolve(
        pd.Series([text], dtype=object)
    )
    return codes.iloc[0], messages.get(text, "") if bad[0] else ""


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Iran", "IR"),
        ("Islamic Republic of Iran", "IR"),
        ("Iran, Islamic Republic of", "IR"),
        ("Russia", "RU"),
        ("Russian Federation", "RU"),
        ("Türkiye", "TR"),
        ("Turkiye", "TR"),
        ("Turkey", "TR"),
        ("Côte d'Ivoire", "CI"),
        ("Cote d’Ivoire", "CI"),
        ("Ivory Coast", "CI"),
        ("Congo, Democratic Republic of the", "CD"),
        ("Democratic Republic of the Congo", "CD"),
        ("DR Congo", "CD"),
        ("Republic of the Congo", "CG"),
        ("Congo-Brazzaville", "CG"),
        ("Burma", "MM"),
        ("Myanmar", "MM"),
        ("Syria", "SY"),
        ("UAE", "AE"),
        ("U.A.E.", "AE"),
        ("United Arab Emirates", "AE"),
        ("the Gambia", "GM"),
        ("  south korea ", "KR"),
        ("North Korea", "KP"),
        ("Laos", "LA"),
        ("Vatican", "VA"),
        ("Macedonia", "MK"),
        ("Gaza", "PS"),
        ("ir", "IR"),
        ("IR", "IR"),
        ("IRN", "IR"),
        ("irn", "IR"),
        ("USA", "US"),
        ("UK", "GB"),
    ],
)
def test_names_and_codes_resolve(text: str, code: str) -> None:
    assert resolve_one(text) == (code, "")


def test_unknown_with_and_without_a_suggestion() -> None:
    assert resolve_one("Atlantis") == (None, "unknown country 'Atlantis'")
    assert resolve_one("Irann") == (None, "unknown country 'Irann' (did you mean Iran?)")
    assert resolve_one("ZZ") == (None, "unknown country 'ZZ'")
    assert resolve_one("Xq9") == (None, "unknown country 'Xq9'")


def test_ambiguous_names_are_rejected_with_the_candidates() -> None:
    code, message = resolve_one("Congo")
    assert code is None
    assert message.startswith("unknown country 'Congo' (it could be CD (")
    assert "CG (Republic of the Congo)" in message and "use the ISO code" in message
    code, message = resolve_one("Korea")
    assert code is None and "KP (North Korea) or KR (South Korea)" in message


def test_code_not_in_the_countries_table() -> None:
    known = KNOWN - {"TW"}
    assert resolve_one("TW", known) == (None, "country 'TW' is not in the countries table")
    assert resolve_one("Taiwan", known) == (
        None,
        "country 'Taiwan' (TW) is not in the countries table",
    )


def test_codes_the_database_knows_beyond_iso() -> None:
    assert resolve_one("XK") == (None, "unknown country 'XK'")
    assert resolve_one("xk", KNOWN | {"XK"}) == ("XK", "")


def test_user_overrides_win_after_normalisation() -> None:
    assert resolve_one("persia", Persia="ir") == ("IR", "")
    assert resolve_one("Kosovo", KNOWN | {"XK"}, kosovo="XK") == ("XK", "")


def test_resolve_is_vectorised_with_missing_cells() -> None:
    series = pd.Series(["Iran", None, "Atlantis", "Iran", "om"], index=[5, 6, 7, 8, 9])
    codes, bad, messages = CountryResolver(KNOWN).resolve(series)
    assert codes.tolist() == ["IR", None, None, "IR", "OM"]
    assert codes.index.tolist() == [5, 6, 7, 8, 9]
    assert bad.tolist() == [False, False, True, False, False]
    assert messages == {"Atlantis": "unknown country 'Atlantis'"}


def test_normalisation() -> None:
    assert normalise_country("  The  Côte d'Ivoire ") == "cote divoire"
    assert normalise_country("Congo, Democratic Republic of the") == (
        "congo democratic republic of the"
    )


def test_aliases_are_real_codes_the_libraries_do_not_already_give() -> None:
    from labelbench.ingest.countries import _library_spellings

    pairs, names = _library_spellings()
    known_spellings = {normalise_country(spelling) for spelling, _ in pairs}
    for alias, code in ALIASES.items():
        assert code in names
        assert normalise_country(alias) not in known_spellings, alias
    index = country_index()
    assert "congo" in index.ambiguous and "korea" in index.ambiguous
