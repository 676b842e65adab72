"""Layer contracts (import-linter) and the headless guarantee, checked in fresh interpreters."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_headless_modules_do_not_load_textual_or_sqlalchemy_in_ml() -> None:
    code = (
        "import sys, labelbench.services.workspace, labelbench.db.queries, labelbench.cli.main;"
        "assert 'textual' not in sys.modules, 'textual imported';"
        "import labelbench.ml.features;"
        "print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_imports_do_not_pull_scikit_learn_in() -> None:
    """`labelbench import` hashes files with domain.digest, not ml.bundle (which loads sklearn)."""
    code = (
        "import sys, labelbench.services.imports, labelbench.services.label_imports;"
        "import labelbench.ingest.kinds, labelbench.ingest.hashing, labelbench.ingest.rejects;"
        "assert 'sklearn' not in sys.modules, 'sklearn imported';"
        "print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
