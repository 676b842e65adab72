"""Does `labelbench import` stream? Time and peak memory of importing a big evidence file.

Writes a synthetic evidence CSV of N rows (production-shaped columns, a day of rows per
country-day), then runs, each in a fresh process so that peak RSS is that step's own:

1. `import evidence FILE --no-build` into an empty database (validate + write),
2. the same again (an idempotent re-import: everything is compared, nothing is written),
3. `features build` (evidence read in batches of whole country-days, so memory is bounded).

Reports wall seconds, rows per second and peak RSS for each, beside the file's size, at two
chunk sizes, so that you can see memory follow the chunk size and not the file size.

    python benchmarks/bench_import.py                        # 2,000,000 rows, SQLite
    python benchmarks/bench_import.py --rows 5000000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/lb_import
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path("benchmarks/results")
COUNTRIES = "OM LY YE KW AM TN IR EG RU CN TR VN SY GE CU UZ JO MA KH QA".split()


def write_file(path: Path, rows: int, seed: int = 0) -> None:
    """Production-shaped evidence rows, streamed to disk in blocks (never all in memory)."""
    rng = np.random.default_rng(seed)
    block = 200_000
    start = pd.Timestamp("2020-01-01", tz="UTC")
    with path.open("w", encoding="utf-8", newline="") as handle:
        for first in range(0, rows, block):
            n = min(block, rows - first)
            idx = np.arange(first, first + n)
            anomalous = rng.random(n) < 0.2
            frame = pd.DataFrame(
                {
                    "source": np.where(idx % 3 == 0, "censoredplanet", "ooni"),
                    "kind": "web_connectivity",
                    "source_ref": [f"bench-{i:09d}" for i in idx],
                    "source_url": [f"https://explorer.ooni.org/m/bench-{i:09d}" for i in idx],
                    "observed_at": (
                        start
                        + pd.to_timedelta(idx // 12 // len(COUNTRIES), unit="D")
                        + pd.to_timedelta(idx % 86_400, unit="s")
                    ).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "country": np.asarray(COUNTRIES)[(idx // 12) % len(COUNTRIES)],
                    "asn": [f"AS{1000 + i % 50}" for i in idx],
                    "domain": np.where(idx % 2 == 0, "twitter.com", "whatsapp.com"),
                    "blocking_method": np.where(anomalous, "dns", ""),
                    "confidence": np.round(rng.random(n), 3),
                    "anomalous": np.where(anomalous, "true", "false"),
                }
            )
            frame.to_csv(handle, header=first == 0, index=False)


def child(args: list[str]) -> None:
    """Run one CLI command in this process and print its peak RSS (used via --child)."""
    from labelbench.cli.main import main as cli

    started = time.perf_counter()
    code = cli(args)
    seconds = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"code": code, "seconds": seconds, "rss_mb": rss_mb}))


def step(db: str, *args: str) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--child", "--database-url", db, *args]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith('{"code"')]
    if not lines:
        raise SystemExit(f"step {args} failed:\n{out.stdout}\n{out.stderr}")
    result: dict[str, float] = json.loads(lines[-1])
    if result["code"] != 0:
        raise SystemExit(f"step {args} exited {result['code']}:\n{out.stderr}")
    return result


def fresh_database(url: str | None, tag: str) -> str:
    if url is None:
        path = RESULTS / f"bench-import-{tag}.db"
        path.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        target = make_url(url)
        admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": target.database},
            )
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{target.database}"'))
        admin.dispose()
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    subprocess.run(
        [sys.executable, "-m", "labelbench", "--database-url", url, "db", "upgrade"],
        check=True,
        capture_output=True,
    )
    return url


def main() -> int:
    if "--child" in sys.argv:
        rest = sys.argv[sys.argv.index("--child") + 1 :]
        child(rest)
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default SQLite)")
    parser.add_argument("--chunk-rows", type=int, nargs="+", default=[20_000, 200_000])
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    source = RESULTS / f"bench-import-{args.rows}.csv"
    if not source.exists():
        t0 = time.perf_counter()
        write_file(source, args.rows)
        print(f"wrote {source} in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    size_mb = source.stat().st_size / 2**20
    print(f"file: {args.rows:,} evidence rows, {size_mb:,.0f} MB")
    print(f"{'step':<34} {'chunk':>8} {'seconds':>8} {'rows/s':>10} {'peak RSS':>10}")
    results = []
    for chunk in args.chunk_rows:
        db = fresh_database(args.database_url, str(chunk))
        for label, cmd in (
            ("import (validate + write)", ["import", "evidence", str(source), "--no-build"]),
            ("re-import (nothing changes)", ["import", "evidence", str(source), "--no-build"]),
        ):
            r = step(db, *cmd, "--chunk-rows", str(chunk), "--json")
            rate = args.rows / r["seconds"]
            print(f"{label:<34} {chunk:>8,} {r['seconds']:>8.1f} {rate:>10,.0f} "
                  f"{r['rss_mb']:>8,.0f}MB")  # fmt: skip
            results.append({"step": label, "chunk_rows": chunk, **r, "rows": args.rows})
    r = step(db, "features", "build", "--json")
    print(f"{'features build (batched reads)':<34} {'':>8} {r['seconds']:>8.1f} {'':>10} "
          f"{r['rss_mb']:>8,.0f}MB")  # fmt: skip
    results.append({"step": "features build", **r})
    out = RESULTS / "bench_import.json"
    out.write_text(json.dumps({"file_mb": size_mb, "results": results}, indent=2))
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
