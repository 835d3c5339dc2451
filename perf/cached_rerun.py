"""P2: fully cached re-run rate. A synthetic suite of 10,000 cells (5,000 items × 2 locales, one
model) whose answers are all in the store; `gvs run` then calls nothing.

The baseline, measured in the same run, is the same command on 100 cached cells: its time is
the fixed cost (interpreter, imports, suite loading), so the marginal rate is
(10,000 − 100) / (t_10k − t_100). Run: python perf/cached_rerun.py [--items 2500] [--markdown]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmark import versions  # noqa: E402
from benchmark.clients.calls import Outcome  # noqa: E402
from benchmark.clients.models import ModelTarget  # noqa: E402
from benchmark.engine.runner import build_plan  # noqa: E402
from benchmark.localization.suites import load_suite  # noqa: E402
from benchmark.scoring import offline_scores  # noqa: E402
from perf import synthetic  # noqa: E402
from store import open_store  # noqa: E402

MODEL = "local/gemma-3-270m"  # embedded: no network, no key, and nothing is loaded when all is cached


def write_suite(folder: Path, items: int) -> None:
    texts = {
        tag: (lambda i, word=word: f"{word} number {i} about safety")
        for tag, word in (("en-US", "Question"), ("de-DE", "Frage"))
    }
    synthetic.write_suite(folder, "perf", "Perf", items, texts)


def fill(store_path: Path, suite_dir: Path, limit: int) -> int:
    suite = load_suite(suite_dir)
    plan = build_plan(suite, [ModelTarget(MODEL)], ["en-US", "de-DE"], limit=limit)
    store = open_store(store_path)
    run_id, _ = store.begin_run(plan, versions())
    text = "Here is a careful and helpful answer about safety, in some detail."
    with store.db.conn:
        for cell in plan.cells:
            store.save_response(
                run_id, cell, Outcome(text=text, finish_reason="stop", attempts=1), offline_scores(text, cell.locale)
            )
    store.close()
    return len(plan.cells)


def timed_run(suite_dir: Path, store_path: Path, limit: int, env: dict) -> float:
    cmd = [
        sys.executable,
        "-m",
        "gvs_tui",
        "run",
        str(suite_dir),
        "-m",
        MODEL,
        "-l",
        "en-US",
        "-l",
        "de-DE",
        "--limit",
        str(limit),
        "--store",
        str(store_path),
        "--quiet",
    ]
    started = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if out.returncode != 0 or "0 called" not in out.stdout:
        raise SystemExit(f"unexpected run: {out.stdout}\n{out.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=5000, help="items per locale (cells = items × 2 locales)")
    parser.add_argument("-n", type=int, default=5, help="timed runs of each size")
    parser.add_argument("--markdown", action="store_true", help="also print a Markdown table for perf/RESULTS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        suite_dir = tmp / "suite"
        write_suite(suite_dir, args.items)
        big, small = tmp / "big.db", tmp / "small.db"
        cells_big = fill(big, suite_dir, args.items)
        cells_small = fill(small, suite_dir, 50)
        env = {**os.environ, "GVS_HOME": str(tmp / "home")}
        t_big, t_small = [], []
        for _ in range(args.n):
            t_big.append(timed_run(suite_dir, big, args.items, env))
            t_small.append(timed_run(suite_dir, small, 50, env))
    b, s = statistics.median(t_big), statistics.median(t_small)
    print(f"cells: {cells_big} (baseline {cells_small}); runs each: {args.n}")
    print(f"cached re-run, {cells_big} cells   median {b:6.2f} s   whole command {cells_big / b:8.0f} cells/s")
    print(f"cached re-run, {cells_small} cells     median {s:6.2f} s   (fixed cost)")
    print(f"marginal rate: {(cells_big - cells_small) / (b - s):8.0f} cells/s   ratio t_big / t_small = {b / s:.2f}")
    if args.markdown:
        print("| measure | figure | baseline | ratio | target | met |")
        print("|---|---|---|---|---|---|")
        print(
            f"| P2 fully cached re-run, marginal rate ({cells_big:,} cells against {cells_small}, median of {args.n}) | "
            f"{(cells_big - cells_small) / (b - s):,.0f} cells/s | — | — | — | — |"
        )
        print(
            f"| whole `gvs run`, {cells_big:,} cached cells | {b:.2f} s ({cells_big / b:,.0f} cells/s) | "
            f"{cells_small} cached cells {s:.2f} s (fixed cost) | {b / s:.2f}× | — | — |"
        )


if __name__ == "__main__":
    main()
