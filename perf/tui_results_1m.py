"""The app's Results screen on a large store: time from pressing ``2`` (Results) to a painted
heatmap, and the process's peak memory, on the generated store of ``perf/breakdown_1m.py``
(1,000,000 scored answers by default: 20 models × 20 locales × 2,500 items, one judged run).

Targets (from the TUI issue): the heatmap paints in under a second and the process stays under
400 MB. The store is first put in the state a finished run leaves it in: the end of a run remembers
the aggregates the Results screen opens with (``store.browse.remember_opening_views``, timed here
in a child process: the end-of-run cost). The baseline printed beside the paint time, measured in
the same run, is the bare scan the screen would make without them (``breakdown(...,
remember=False)``, category rows). Last, the first opening of a store with nothing remembered
(written by an older gvs, say): it scans, then remembers.

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


def _remember(path: str, queue) -> None:
    """In a child process: what the end of a run does for the app (store/browse.py)."""
    from store import open_store
    from store.browse import remember_opening_views

    db = open_store(path)
    started = time.perf_counter()
    remember_opening_views(db, db.run())
    queue.put(time.perf_counter() - started)
    db.close()


def _forget(path: Path) -> None:
    from store import open_store

    db = open_store(path)
    with db.db.conn:
        db.db.execute("delete from aggregate_cache")
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("-n", type=int, default=3, help="timed openings (each in a fresh app)")
    args = parser.parse_args()
    path, info = cached_store(args.rows)
    os.environ.setdefault("GVS_HOME", str(path.parent / "home"))
    import multiprocessing

    # The store as a finished run leaves it: its opening views remembered (timed: the end-of-run cost).
    _forget(path)
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_remember, args=(str(path), queue))
    child.start()
    remember_s = queue.get()
    child.join()
    before = _peak_mib()
    openings = [asyncio.run(_open_results(path)) for _ in range(args.n)]
    peak = _peak_mib()
    # The baseline, in the same process after the openings: the bare scan the screen would otherwise make.
    from store import open_store
    from store.results import breakdown

    db = open_store(path)
    run = db.run()
    baseline = []
    for _ in range(args.n):
        t = time.perf_counter()
        breakdown(db, run, metric="refusal", by="category", remember=False)
        baseline.append(time.perf_counter() - t)
    db.close()
    # A store whose aggregates were never remembered (say, written by an older gvs): the first opening scans.
    _forget(path)
    cold = asyncio.run(_open_results(path))
    app_s, sql_s = statistics.median(openings), statistics.median(baseline)
    print(f"store: {path} ({path.stat().st_size / 2**20:.0f} MiB, {info.get('cells', args.rows):,} cells)")
    print("| figure | value | target |")
    print("|---|---|---|")
    print(
        f"| Results heatmap painted after `2`, aggregates remembered by the run's end (median of {args.n}) | {app_s:.2f} s | < 1 s |"
    )
    print(f"| bare breakdown() by category, no remembered rows (median of {args.n}) | {sql_s:.2f} s | |")
    print(f"| painted / bare breakdown | {app_s / sql_s:.3f}× | |")
    print(
        f"| peak RSS of the process over those openings (before the app: {before:.0f} MiB) | {peak:.0f} MiB | < 400 MB |"
    )
    print(f"| end-of-run cost: remembering the opening views (child process) | {remember_s:.1f} s | |")
    print(f"| first opening with nothing remembered (it scans, then remembers) | {cold:.2f} s | |")


if __name__ == "__main__":
    main()
