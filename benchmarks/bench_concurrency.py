"""Eight analysts on one database: nothing served twice, nothing confirmed lost, no locking error.

Starts N analyst processes (`benchmarks/analyst_worker.py`, the labelling app's service calls in
a loop) against one database for a while, kills two of them with SIGKILL mid-run, then checks the
logs against the database:

- no queue item was served to two analysts;
- every decision an analyst saw confirmed is in the label log (the killed ones' too);
- no analyst ever got a locking error ("database is locked", deadlock, serialisation failure).

It prints decisions per second and the decide-to-next-item latency (p50/p95/max, including the
progress refresh).

    python benchmarks/bench_concurrency.py                     # demo world on SQLite
    python benchmarks/bench_concurrency.py \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/lb_bench_conc
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

WORKER = Path(__file__).with_name("analyst_worker.py")


@dataclass
class RunResult:
    """What the analysts' logs and the database say about one run."""

    decisions: int
    seconds: float
    latencies_ms: list[float]
    double_served: list[int]
    lost: list[int]
    locking_errors: int
    other_errors: list[str] = field(default_factory=list)
    killed: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.decisions / self.seconds if self.seconds else 0.0


def run_analysts(
    database_url: str,
    out_dir: Path,
    *,
    analysts: int = 8,
    seconds: float = 60.0,
    kill: int = 2,
    countries: str = "all",
    models_dir: Path = Path("models"),
) -> RunResult:
    """Run the analysts and check their logs against the database."""
    out_dir.mkdir(parents=True, exist_ok=True)
    names = [f"analyst{k}" for k in range(analysts)]
    logs = {n: out_dir / f"{n}.jsonl" for n in names}
    for path in logs.values():
        path.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELBENCH_")}
    procs = {
        n: subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                database_url,
                n,
                str(seconds),
                str(logs[n]),
                "--countries",
                countries,
                "--seed",
                str(k),
                "--models-dir",
                str(models_dir),
            ],
            env=env,
        )
        for k, n in enumerate(names)
    }
    started = time.monotonic()
    killed: list[str] = []
    if kill:
        _wait_until_deciding(logs, names[:kill], timeout=seconds + 60)
        time.sleep(seconds / 3)
        for n in names[:kill]:
            procs[n].send_signal(signal.SIGKILL)
            killed.append(n)
    for p in procs.values():
        p.wait(timeout=seconds + 300)
    elapsed = time.monotonic() - started
    return _check(database_url, logs, elapsed, killed)


def _wait_until_deciding(logs: dict[str, Path], names: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(p.exists() and '"decided"' in p.read_text() for n, p in logs.items() if n in names):
            return
        time.sleep(0.2)


def _check(
    database_url: str, logs: dict[str, Path], elapsed: float, killed: list[str]
) -> RunResult:
    from labelbench.config import Settings
    from labelbench.db.models import Label
    from labelbench.services.workspace import open_workspace

    served: dict[int, set[str]] = {}
    confirmed: list[int] = []
    latencies: list[float] = []
    locking = 0
    other: list[str] = []
    for name, path in logs.items():
        if not path.exists():  # killed before it had started: nothing to check
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                ev = json.loads(line)
            except json.JSONDecodeError:  # the last line of a killed analyst may be cut
                continue
            kind = ev["event"]
            if kind == "served":
                served.setdefault(ev["item"], set()).add(name)
            elif kind == "decided":
                confirmed.append(int(ev["label"]))
            elif kind == "latency":
                latencies.append(float(ev["ms"]))
            elif kind == "error":
                if ev["locking"]:
                    locking += 1
                else:
                    other.append(f"{name}: {ev['message']}")
    ws = open_workspace(Settings(database_url=database_url))
    try:
        with ws.transaction(readonly=True) as session:
            stored = set(session.scalars(select(Label.id)))
    finally:
        ws.close()
    return RunResult(
        decisions=len(confirmed),
        seconds=elapsed,
        latencies_ms=latencies,
        double_served=sorted(i for i, who in served.items() if len(who) > 1),
        lost=sorted(set(confirmed) - stored),
        locking_errors=locking,
        other_errors=other,
        killed=killed,
    )


MODELS = Path("benchmarks/results/models")


def prepare(database_url: str, scale: int, countries: str) -> str:
    """Build the demo world if missing, train a baseline, queue every target day."""
    from labelbench.config import Settings
    from labelbench.services.demo import create_demo
    from labelbench.services.queue import build_queue
    from labelbench.services.retrain import ensure_baseline
    from labelbench.services.workspace import open_workspace

    settings = Settings(database_url=database_url, models_dir=MODELS)
    create_demo(settings, scale=scale)
    ws = open_workspace(settings)
    try:
        ensure_baseline(ws)
        report = build_queue(ws, actor="bench", countries=countries.split(","), size=100_000)
    finally:
        ws.close()
    return f"{report.queued:,} items queued in {len(report.countries)} countries"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default="sqlite:///benchmarks/results/bench-conc.db")
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--analysts", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--countries", default="all-sparse")
    args = parser.parse_args()
    Path("benchmarks/results").mkdir(parents=True, exist_ok=True)
    print(prepare(args.database_url, args.scale, args.countries))
    result = run_analysts(
        args.database_url,
        Path("benchmarks/results/conc-logs"),
        analysts=args.analysts,
        seconds=args.seconds,
        countries=args.countries,
        models_dir=MODELS,
    )
    lat = result.latencies_ms
    print(
        f"{args.analysts} analysts, {result.seconds:.0f} s, killed {', '.join(result.killed)}: "
        f"{result.decisions} decisions ({result.per_second:.1f}/s); "
        f"double-served {len(result.double_served)}, lost {len(result.lost)}, "
        f"locking errors {result.locking_errors}, other errors {len(result.other_errors)}"
    )
    if lat:
        print(
            f"decide + next item + progress: p50 {_pct(lat, 50):.0f} ms, "
            f"p95 {_pct(lat, 95):.0f} ms, max {max(lat):.0f} ms"
        )
    for line in result.other_errors[:5]:
        print("  error:", line)
    ok = result.decisions > 0 and not (
        result.double_served or result.lost or result.locking_errors or result.other_errors
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
