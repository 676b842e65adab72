"""`labelbench simulate`: does the queue beat random sampling? Replay with an oracle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from labelbench.cli.queue import split_countries
from labelbench.cli.state import state


def simulate(
    ctx: typer.Context,
    strategies: Annotated[
        str, typer.Option(help="Comma-separated strategies to compare (random is the control).")
    ] = "hybrid,random",
    rounds: Annotated[int, typer.Option(min=1, help="Labelling rounds (retrain between).")] = 5,
    batch_size: Annotated[int, typer.Option(min=1, help="Labels per round.")] = 50,
    seeds: Annotated[
        int, typer.Option(min=1, help="Runs with different seeds (model random_state, picks).")
    ] = 3,
    countries: Annotated[
        str | None, typer.Option(help="Target countries (default: the watch list).")
    ] = None,
    mode: Annotated[
        str,
        typer.Option(help="Oracle: truth (demo world), withheld (hide known positives) or auto."),
    ] = "auto",
    withhold_share: Annotated[
        float, typer.Option(help="Share of target positives hidden in withheld mode.")
    ] = 0.5,
    out: Annotated[
        Path, typer.Option(help="Folder for simulation.csv and learning_curves.png.")
    ] = Path("simulation"),
    jobs: Annotated[int | None, typer.Option(help="Parallel folds.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Replay labelling with an oracle: found positives per 100 labels and target LOCO F1.

    Rounds of --batch-size labels with a retrain (fast engine) between rounds, for each strategy,
    over several seeds; intervals are 95% t-intervals across seeds. On the demo world the hidden
    truth answers; on any database, --mode withheld hides a share of known positives.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from labelbench.services.simulate import run_simulation

    st = state(ctx)
    names = [s.strip() for s in strategies.split(",") if s.strip()]
    columns = (TextColumn("simulating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with st.workspace() as ws, Progress(*columns, console=st.err, transient=as_json) as bar:
        task = bar.add_task("simulate", total=None)
        run = run_simulation(
            ws,
            strategies=names,
            rounds=rounds,
            batch_size=batch_size,
            seeds=seeds,
            countries=split_countries(countries),
            mode=mode,
            withhold_share=withhold_share,
            out_dir=out,
            jobs=jobs,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    data = run.to_dict()
    if as_json:
        typer.echo(json.dumps(data))
        return

    table = Table("strategy", "positives / 100 labels [95% CI]", "share of oracle",
                  "target LOCO F1 start", "end [95% CI]", "F1 gain / 100 labels [CI]",
                  title=f"simulation ({run.mode} oracle, {len(run.result.targets)} targets)",
                  )  # fmt: skip
    for name, s in data["strategies"].items():
        table.add_row(
            name,
            with_ci(s["positives_per_100"], s["positives_per_100_ci"], 1),
            "-" if s["share_of_oracle"] is None else f"{s['share_of_oracle']:.0%}",
            "-" if s["target_loco_f1_start"] is None else f"{s['target_loco_f1_start']:.3f}",
            with_ci(s["target_loco_f1_end"], s["target_loco_f1_end_ci"], 3),
            with_ci(s["f1_gain_per_100_labels"], s["f1_gain_per_100_labels_ci"], 3, sign=True),
        )
    st.out.print(table)
    pool, hidden = data["pool_size"], data["pool_hidden_positives"]
    if pool:
        st.out.print(
            f"pool: {pool:,.0f} days, {hidden:,.0f} new positives to find ({hidden / pool:.1%}): "
            f"pool-uniform random expects {100 * hidden / pool:.1f} per 100 labels"
        )
    for line in verdicts(data["strategies"]):
        st.out.print(line)
    st.out.print(f"wrote {run.csv_path} and {run.png_path}")


def with_ci(
    value: float | None, pair: list[float | None], digits: int, *, sign: bool = False
) -> str:
    """``52.5 [48.10, 57.00]``; an interval of zero width is not printed as if it were precise."""
    if value is None:
        return "-"
    text = f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"
    lo, hi = pair
    if lo is None or hi is None:
        return f"{text} (one run: no interval)"
    if hi - lo < 10 ** (-digits):
        return f"{text} (same in every run)"
    return f"{text} [{lo:.{digits}f}, {hi:.{digits}f}]"


def verdicts(strategies: dict[str, dict[str, Any]]) -> list[str]:
    """One line per strategy against random: a verdict only when the interval supports it."""
    lines = []
    for name, s in strategies.items():
        ratio, ci = s.get("vs_random"), s.get("vs_random_ci", [None, None])
        if name in ("random", "oracle") or ratio is None:
            continue
        lo, hi = ci
        if lo is None or hi is None:
            lines.append(f"{name} vs random: {ratio:.1f}x (one run: no interval, no verdict)")
        elif lo > 1:
            lines.append(f"{name} beats random: {ratio:.1f}x [{lo:.1f}, {hi:.1f}]")
        else:
            lines.append(f"{name} does not clearly beat random: {ratio:.1f}x [{lo:.1f}, {hi:.1f}]")
    return lines
