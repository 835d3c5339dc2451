"""P3 (#21): the store's read paths other than the breakdown, timed on one store — to set a schema
against another on the same data (the 1M store before and after a migration).

Each read is the function the CLI, the app or a report calls, on run 1 of the store (cold: nothing
remembered; the file warm in the page cache after a first round): the export of every cell × score,
the items behind a breakdown (item values), the errors of a run, the grid's first page (all answers
and filtered to failing ones), one breakdown cell's items, scorer health, the judges and offline
scorers of the run, and the latest judge. Prints one JSON object of median seconds (``-n`` rounds).

Run: python perf/read_paths_1m.py STORE [-n 3]
The store is written to (its remembered results are dropped before each round): time a copy. An
older schema is timed with the gvs of its own schema (e.g. a git worktree: PYTHONPATH=that worktree).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path and not any(Path(p, "store").is_dir() for p in sys.path if p):
    sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("store")
    parser.add_argument("-n", type=int, default=3)
    args = parser.parse_args()

    from store import browse, grid, results
    from store.db import Store

    store = Store(Path(args.store))
    run = store.run(1)
    refusal = results.metric_source(store, run, "refusal")
    gvs = results.metric_source(store, run, "gvs")
    model = json.loads(store.db.execute("select spec from runs where id = 1").fetchone()[0])["models"][0]
    sources = store.db.execute("select distinct scorer, version, config from scores").fetchall()
    reads = {
        "export every cell × score": lambda: sum(1 for _ in results.export_rows(store, run)),
        "item values, refusal": lambda: results.item_values(store, run, refusal, None),
        "item values, gvs by category": lambda: results.item_values(store, run, gvs, "category"),
        "errors of the run": lambda: results.run_errors(store, run),
        "grid, first page": lambda: grid.grid_page(store, run, grid.GridQuery()),
        "grid, failing answers": lambda: grid.grid_page(store, run, grid.GridQuery(frozenset({"failing"}))),
        "one breakdown cell's items": lambda: browse.cell_items(
            store, run, metric="gvs", by=None, group=None, model=model, locale="en-US"
        ),
        "scorer health, judge": lambda: store.scorer_health(1, "gvs", gvs.version, gvs.config),
        "every scorer's health (the end of a run)": lambda: (
            [store.scorer_health(1, scorer, version, config) for scorer, version, config in sources]
            if not hasattr(store, "scorers_health")  # the gvs of an older schema: one at a time
            else store.scorers_health(1, sources)
        ),
        "judges used": lambda: results.judges_used(store, 1),
        "offline scorers": lambda: results.offline_scorers(store, 1),
        "latest judge": lambda: results.judge_config(store, 1, "gvs"),
    }

    def forget() -> None:  # cold: nothing remembered (store/aggregates.py)
        with store.writing():
            store.db.execute("delete from aggregate_cache")

    figures = {}
    for name, read in reads.items():
        forget()
        read()  # the pages it reads, in the page cache
        times = []
        for _ in range(args.n):
            forget()
            started = time.perf_counter()
            read()
            times.append(time.perf_counter() - started)
        figures[name] = round(statistics.median(times), 3)
        print(f"{name}: {figures[name]:.3f} s", file=sys.stderr, flush=True)
    store.close()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
