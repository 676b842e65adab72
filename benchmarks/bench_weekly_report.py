"""Does the default weekly report fit on two screens of text and one readable HTML page?

Builds the demo world afresh, labels 60 country-days in OM and LY through the real labelling
service (a deterministic mix: new positives, confirmed and overturned incident days, negatives,
unsure; a second analyst on some), then runs ``labelbench report weekly`` with its defaults (the
priority countries, the current week to date) as a user would and measures:

* text: lines, and terminal rows once long lines wrap, at 100 and 140 columns (two
  screens = 2 x 50 rows);
* HTML: the page's size, and, when a Chromium is installed, a full-width screenshot
  (``benchmarks/results/weekly.png``) and the height of its content in pixels.

    python benchmarks/bench_weekly_report.py
    python benchmarks/bench_weekly_report.py --countries all   # the same with 131 countries

Chromium is optional (``apt-get install chromium``); without it the screenshot step is skipped.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from labelbench.config import Settings
from labelbench.services.demo import create_demo
from labelbench.services.labelling import LabellingService
from labelbench.services.queue import build_queue
from labelbench.services.workspace import open_workspace

RESULTS = Path("benchmarks/results")
SCREEN_LINES = 50
WIDTH_PX = 1280


def label_some(url: str, models: Path) -> None:
    """60 decisions in OM and LY by ana, 10 second opinions by bob."""
    settings = Settings(database_url=url, models_dir=models)
    ws = open_workspace(settings)
    build_queue(ws, actor="bench", countries=["OM", "LY"], size=70)
    ana = LabellingService(ws, "ana", countries=["OM", "LY"])
    ana.start(build_if_empty=False)
    done: list[int] = []
    for i in range(60):
        view = ana.next_item()
        if view is None or view.item is None:
            break
        if view.incident_label:
            verdict = "negative" if i % 4 == 0 else "positive"  # overturn one in four
        else:
            verdict = ("positive", "negative", "negative", "unsure", "negative")[i % 5]
        ana.decide(view.sample_id, verdict, fingerprint_seen=view.fingerprint,
                   item_id=view.item.item_id)  # fmt: skip
        done.append(view.sample_id)
    ana.close()
    bob = LabellingService(ws, "bob", countries=["OM", "LY"])
    bob.start(build_if_empty=False)
    for k, sample_id in enumerate(done[:10]):
        bob.decide(sample_id, "positive" if k % 2 else "negative", fingerprint_seen="bench")
    bob.close()
    ws.close()


def screenshot(page: Path, png: Path) -> int | None:
    """Full-width screenshot with headless Chromium; the content height in pixels."""
    browser = next(
        (b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None
    )
    if browser is None:
        print("no Chromium found: screenshot skipped (apt-get install chromium)")
        return None
    tall = 6000
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--window-size={WIDTH_PX},{tall}", f"--screenshot={png}", page.resolve().as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    from PIL import Image, ImageChops

    with Image.open(png) as img:
        rgb = img.convert("RGB")
        box = ImageChops.difference(rgb, Image.new("RGB", rgb.size, "white")).getbbox()
        height = box[3] + 20 if box else 0
        rgb.crop((0, 0, WIDTH_PX, min(height, rgb.size[1]))).save(png)
    return height


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--countries", default=None, help="passed to report weekly")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    db = RESULTS / "bench-weekly.db"
    url = f"sqlite:///{db}"
    settings = Settings(database_url=url, models_dir=RESULTS / "models-weekly")
    db.unlink(missing_ok=True)  # a fresh world each run (labels from the last run are gone)
    create_demo(settings, progress=lambda m: print(f"  {m}", file=sys.stderr))
    label_some(url, RESULTS / "models-weekly")
    script = Path(sys.executable).parent / "labelbench"
    extra = ["--countries", args.countries] if args.countries else []
    base = [str(script), "--database-url", url, "report", "weekly", *extra]
    for columns in (100, 140):
        env = {**os.environ, "COLUMNS": str(columns)}
        out = subprocess.run(base, env=env, capture_output=True, text=True, check=True).stdout
        (RESULTS / f"weekly-{columns}.txt").write_text(out, encoding="utf-8")
        lines = len(out.splitlines())
        rows = sum(max(1, -(-len(line) // columns)) for line in out.splitlines())
        print(
            f"text at {columns} columns: {lines} lines, {rows} terminal rows once long lines "
            f"wrap ({rows / SCREEN_LINES:.1f} screens of {SCREEN_LINES})"
        )
    page = RESULTS / "weekly.html"
    subprocess.run([*base, "--format", "html", "--out", str(page)], check=True)
    print(f"html: {page} ({page.stat().st_size / 1024:.0f} KiB)")
    height = screenshot(page, RESULTS / "weekly.png")
    if height is not None:
        print(f"screenshot: {RESULTS / 'weekly.png'}, content {WIDTH_PX} x {height} px")
    return 0


if __name__ == "__main__":
    sys.exit(main())
