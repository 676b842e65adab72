"""How fast do the read-only commands answer?

Runs each command as a user would (the installed ``labelbench`` script, a fresh process each
time) against the demo world on SQLite, from realistic state (a production model, a label log
of 50,000 events as in ``realistic.py``, a built queue) and reports the median, min and max
wall time over N runs, the median CPU time (user + system: less sensitive to other work on the
machine), and which heavy libraries the command imported (it should import none of
scikit-learn, pandas, matplotlib, SciPy or Textual: they are loaded lazily by the commands that
compute with them; nor Alembic, which only the migrating commands need: the schema check reads
``alembic_version`` itself). ``tests/cli/test_startup.py`` holds the same guarantee as a test.

    python benchmarks/bench_startup.py              # demo world (built the first time), 7 runs
    python benchmarks/bench_startup.py --runs 15

Target (issue #16): every command below answers in under 1 s (median). On a shared 2-core
machine, note the load average printed with the table: other work slows every process. With
``PYTHONDONTWRITEBYTECODE`` set (or a read-only install), labelbench's own modules are compiled
from source in every run; an installed wheel ships them compiled: the table notes which.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from labelbench.config import Settings
from labelbench.services.demo import create_demo
from labelbench.services.queue import build_queue
from labelbench.services.retrain import ensure_baseline
from labelbench.services.workspace import open_workspace

sys.path.insert(0, str(Path(__file__).parent))
from realistic import seed_label_log

RESULTS = Path("benchmarks/results")
HEAVY = ("sklearn", "pandas", "matplotlib", "scipy", "textual", "alembic")
COMMANDS: list[tuple[str, list[str]]] = [
    ("--help", ["--help"]),
    ("status", ["status"]),
    ("status --json", ["status", "--json"]),
    ("models list", ["models", "list"]),
    ("queue show", ["queue", "show"]),
    ("report weekly --week bad (error)", ["report", "weekly", "--week", "2026-W99"]),
    ("status, schema missing (error)", ["--database-url", "sqlite:///{empty}", "status"]),
]
_PROBE = (
    "import sys\n"
    "from labelbench.cli.main import main\n"
    "code = main(sys.argv[1:])\n"
    f"print('HEAVY:' + ','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def _script() -> str:
    here = Path(sys.executable).parent / "labelbench"
    return str(here) if here.exists() else "labelbench"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=f"sqlite:///{RESULTS}/bench-startup.db")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--events", type=int, default=50_000, help="label log length")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    settings = Settings(database_url=args.database_url, models_dir=RESULTS / "models")
    report = create_demo(settings, progress=lambda m: print(f"  {m}", file=sys.stderr))
    print(f"world: {report.samples:,} samples ({'built' if report.created else 'reused'})")
    ws = open_workspace(settings)  # realistic state: a production model, a long log, a queue
    ensure_baseline(ws)
    print(f"label log: {seed_label_log(ws, args.events):,} events")
    build_queue(ws, actor="bench")
    ws.close()
    empty = RESULTS / "bench-startup-empty.db"
    env = {**os.environ, "LABELBENCH_DATABASE_URL": args.database_url}
    rows = []
    for name, argv in COMMANDS:
        argv = [a.replace("{empty}", str(empty)) for a in argv]
        times, cpu = [], []
        code = 0
        for _ in range(args.runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            done = subprocess.run([_script(), *argv], env=env, capture_output=True, check=False)
            times.append(time.perf_counter() - t0)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(
                after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
            )  # CPU seconds: less sensitive to other work on the machine than wall time
            code = done.returncode
        probe = subprocess.run(
            [sys.executable, "-c", _PROBE, *argv], env=env, capture_output=True, text=True
        )
        marks = [x for x in probe.stderr.splitlines() if x.startswith("HEAVY:")]
        heavy = marks[-1].removeprefix("HEAVY:") if marks else "?"
        rows.append(
            {
                "command": name,
                "exit": code,
                "median_s": round(statistics.median(times), 3),
                "min_s": round(min(times), 3),
                "max_s": round(max(times), 3),
                "median_cpu_s": round(statistics.median(cpu), 3),
                "heavy_imports": heavy or "none",
            }
        )
    empty.unlink(missing_ok=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n{args.runs} runs each, load average {load:.2f} on {os.cpu_count()} cores")
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("PYTHONDONTWRITEBYTECODE is set: modules without a cached .pyc compile in every run")
    print(
        "| command | exit | median s | min s | max s | median CPU s | heavy imports |\n"
        "|---|---|---|---|---|---|---|"
    )
    for r in rows:
        print(
            f"| `{r['command']}` | {r['exit']} | {r['median_s']:.2f} | {r['min_s']:.2f} | "
            f"{r['max_s']:.2f} | {r['median_cpu_s']:.2f} | {r['heavy_imports']} |"
        )
    with (RESULTS / "startup.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    slow = [r["command"] for r in rows if r["median_s"] >= 1.0]
    heavy = [r["command"] for r in rows if r["heavy_imports"] != "none"]
    print(f"\nover 1 s: {', '.join(slow) or 'none'}; heavy imports: {', '.join(heavy) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
