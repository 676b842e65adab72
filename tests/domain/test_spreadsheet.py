"""Spreadsheet-safe cells (OWASP CSV injection): formulas neutralised, numbers kept, reversible."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from labelbench.domain.spreadsheet import (
    neutralise_cell,
    neutralise_csv_text,
    neutralise_frame,
    restore_cell,
)

DANGEROUS = ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=x", "\r=x", '=HYPERLINK("u")']


@pytest.mark.parametrize("cell", DANGEROUS)
def test_formula_cells_get_a_leading_quote_and_read_back(cell: str) -> None:
    safe = neutralise_cell(cell)
    assert safe == "'" + cell
    assert restore_cell(safe) == cell


@pytest.mark.parametrize("cell", ["-0.05", "+3", "1e-3", "plain note", "", "'quoted already"])
def test_numbers_and_plain_text_are_untouched(cell: str) -> None:
    assert neutralise_cell(cell) == cell
    assert restore_cell(cell) == cell


def test_frames_and_csv_text() -> None:
    frame = pd.DataFrame({"note": ["=1+1", None, "ok"], "delta": [-0.5, 0.1, 0.2]})
    out = neutralise_frame(frame)
    assert out["note"].tolist()[::2] == ["'=1+1", "ok"] and out["delta"].tolist() == [
        -0.5,
        0.1,
        0.2,
    ]
    text = neutralise_csv_text('week,analysts,lift\n2026-W47,"@ana, =ben",-0.12\n')
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1] == ["2026-W47", "'@ana, =ben", "-0.12"]
