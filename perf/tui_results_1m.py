"""The app's Results screen on a large store: time from pressing ``2`` (Results) to a painted
heatmap, and the process's peak memory, on the generated store of ``perf/breakdown_1m.py``
(1,000,000 scored answers by default: 20 models × 20 locales × 2,500 items, one judged run).

Targets (from the TUI issue): the heatmap paints in under a second and the process stays under
400 MB. The baseline printed beside it, measured in the same run, is the bare ``breakdown()`` call
the screen makes (category rows; the layer rows are a second, smaller call), so the ratio shows
what the app adds on top of the SQL.

Run: python perf/tui_results_1m.py [--rows 1000000] [-n 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from perf.breakdown_1m import cached_store  # noqa: E402


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _open_results(store: Path, timeout: float = 120.0) -> float:
    """Seconds from the key press to a heatmap with rows, in a headless app."""
    from textual.widgets import DataTable

    from gvs_tui.app import create_app

    app = create_app(store, animations=False)
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        started = time.perf_counter()
        await pilot.press("2")
        deadline = started + timeout
        while time.perf_counter() < deadline:
            await pilot.pause(0.01)
            screen = app.screen
            tables = list(screen.query("#heatmap").results(DataTable))
            if tables and tables[0].row_count > 0:
                elapsed = time.perf_counter() - started
                await pilot.pause()  # let the frame render
                return elapsed
        raise TimeoutError(f"the heatmap did not fill within {timeout:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("-n", type=int, default=3, help="timed openings (each in a fresh app)")
    args = parser.parse_args()
    path, info = cached_store(args.rows)
    os.environ.setdefault("GVS_HOME", str(path.parent / "home"))
    from store import open_store
    from store.results import breakdown

    before = _peak_mib()
    db = open_store(path)
    run = db.run()
    baseline = []
    for _ in range(args.n):
        t = time.perf_counter()
        breakdown(db, run, metric="refusal", by="category")
        baseline.append(time.perf_counter() - t)
    db.close()
    openings = [asyncio.run(_open_results(path)) for _ in range(args.n)]
    app_s, sql_s = statistics.median(openings), statistics.median(baseline)
    peak = _peak_mib()
    print(f"store: {path} ({path.stat().st_size / 2**20:.0f} MiB, {info.get('cells', args.rows):,} cells)")
    print("| figure | value | target |")
    print("|---|---|---|")
    print(f"| Results heatmap painted after `2` (median of {args.n}) | {app_s:.2f} s | < 1 s |")
    print(f"| bare breakdown() by category, same store | {sql_s:.2f} s | |")
    print(f"| app / bare breakdown | {app_s / sql_s:.2f}× | |")
    print(f"| peak RSS of the process (before the app: {before:.0f} MiB) | {peak:.0f} MiB | < 400 MB |")


if __name__ == "__main__":
    main()
