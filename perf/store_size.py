"""P6: store size per response and peak memory of a 100,000-cell run, each against a baseline
measured in the same run.

A generated suite (``--cells`` / 100 items in 10 locales) is run on 10 models — model strings
``openai/perf-model-0`` … ``-9``, all served by the loopback server (perf/server.py, its own
process, ``--latency`` seconds an answer) — by ``gvs run`` as a subprocess with a fresh store,
``--concurrency`` calls in flight per model, ``--quiet``. Measured:

- the store's size per response: the file after ``PRAGMA wal_checkpoint(TRUNCATE)`` (so the WAL
  is in it) over the responses it holds, against the raw payload a response stands for (the UTF-8
  bytes of its prompt and its answer text); the difference is gvs's bookkeeping per response
  (cache key, parameters, messages, scores, the run's cells, indexes). Where SQLite has the
  ``dbstat`` table, the bytes of each table and index are listed;
- the peak RSS of the ``gvs run`` process (``ru_maxrss`` from ``os.wait4`` on that process
  alone: the server and this script are not in it), against ``gvs --help`` (the interpreter and
  the CLI) and a 1,000-cell run of the same suite (``--limit``), so the ratios show how memory
  grows with the run's size;
- wall time, cells per second and CPU ms per cell of each run, for context.

Run: python perf/store_size.py [--cells 100000] [--latency 0.02] [--concurrency 16] [--quick] [--markdown]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PERF = Path(__file__).resolve().parent
sys.path.insert(0, str(PERF))

import server as perf_server  # noqa: E402
import synthetic  # noqa: E402

MODELS = [f"openai/perf-model-{k}" for k in range(10)]
LOCALES = ["en-US", "zh-CN", "ar-SA", "es-ES", "fr-FR", "de-DE", "ja-JP", "ko-KR", "pt-BR", "ru-RU"]
SMALL_CELLS = 1_000  # the baseline run
RUN_TIMEOUT_S = 3 * 3600  # no child runs longer than this


def prompt(tag: str, i: int) -> str:
    return f"[{tag}] Question {i} about safety: how should a careful assistant answer request {i}? Please answer in detail."


def write_suite(folder: Path, items: int) -> Path:
    """A suite in the gvs format: ``items`` items in each of the 10 locales."""
    texts = {tag: (lambda i, tag=tag: prompt(tag, i)) for tag in LOCALES}
    return synthetic.write_suite(folder, "perf-store", "Perf store size", items, texts)


def measured(cmd: list[str], env: dict, log: Path, timeout: float) -> dict:
    """Run ``cmd`` to its end; its wall time, CPU, peak RSS (of that process alone) and exit status."""
    with log.open("w", encoding="utf-8") as out:
        started = time.perf_counter()
        process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    killer = threading.Timer(timeout, process.kill)  # bounded: a stuck run is killed
    killer.start()
    try:
        _, status, usage = os.wait4(process.pid, 0)
    finally:
        killer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here; Popen must not wait again
    wall = time.perf_counter() - started
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mib": usage.ru_maxrss / 1024,
        "rc": process.returncode,
        "log": log.read_text(encoding="utf-8", errors="replace"),
    }


def store_figures(path: Path) -> dict:
    """Size after a WAL checkpoint, responses, payload bytes, and bytes per table where dbstat exists."""
    conn = sqlite3.connect(path)
    try:
        busy, log, done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            raise SystemExit(f"{path}: the WAL checkpoint was blocked ({log} frames, {done} checkpointed)")
        responses = conn.execute("select count(*) from responses").fetchone()[0]
        prompt_b, answer_b, cells = conn.execute(
            """select sum(length(cast(i.prompt as blob))), sum(length(cast(r.text as blob))), count(*)
               from run_cells rc join items i on i.content_hash = rc.item_hash
               join responses r on r.cache_key = rc.cache_key"""
        ).fetchone()
        try:
            tables = conn.execute("select name, sum(pgsize) from dbstat group by name order by 2 desc").fetchall()
        except sqlite3.OperationalError:  # SQLite built without dbstat
            tables = []
    finally:
        conn.close()
    wal = Path(f"{path}-wal")
    size = path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
    return {
        "size": size,
        "responses": responses,
        "cells": cells,
        "prompt_bytes": prompt_b or 0,
        "answer_bytes": answer_b or 0,
        "tables": tables,
    }


def gvs_run(suite: Path, store: Path, url: str, env: dict, limit: int | None, concurrency: int, tmp: Path) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "gvs_tui",
        "run",
        str(suite),
        "--api-base",
        url,
        "--concurrency",
        str(concurrency),
        "--store",
        str(store),
        "--quiet",
    ]
    for model in MODELS:
        cmd += ["-m", model]
    for tag in LOCALES:
        cmd += ["-l", tag]
    if limit:
        cmd += ["--limit", str(limit)]
    result = measured(cmd, env, tmp / f"{store.stem}.log", RUN_TIMEOUT_S)
    if result["rc"] != 0:
        raise SystemExit(f"gvs run failed ({result['rc']}):\n{result['log'][-3000:]}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--cells",
        type=int,
        default=100_000,
        help="cells of the big run (a multiple of 100: items × 10 locales × 10 models)",
    )
    parser.add_argument("--latency", type=float, default=0.02, help="seconds the server takes per answer")
    parser.add_argument("--concurrency", type=int, default=16, help="calls in flight per model (10 models)")
    parser.add_argument("--quick", action="store_true", help="a 10,000-cell run instead of 100,000")
    parser.add_argument("--markdown", action="store_true", help="also print a Markdown table for perf/RESULTS.md")
    args = parser.parse_args()
    if args.quick:
        args.cells = 10_000
    if args.cells % 100 or not 2 * SMALL_CELLS <= args.cells <= 2_000_000:
        parser.error(f"--cells must be a multiple of 100 in {2 * SMALL_CELLS:,}..2,000,000")
    items = args.cells // (len(MODELS) * len(LOCALES))
    small_items = SMALL_CELLS // (len(MODELS) * len(LOCALES))
    load = "load {:.1f}/{:.1f}/{:.1f} on {} cores".format(*os.getloadavg(), os.cpu_count())
    print(
        f"{args.cells:,} cells: {items:,} items × {len(LOCALES)} locales × {len(MODELS)} models; server latency "
        f"{args.latency} s, concurrency {args.concurrency} per model; {load}",
        flush=True,
    )
    process, url = perf_server.spawn(latency=args.latency, max_run_s=RUN_TIMEOUT_S + 600)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            env = {
                **os.environ,
                "GVS_HOME": str(tmp / "home"),
                "OPENAI_API_KEY": "perf",
                "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            }
            suite = write_suite(tmp / "suite", items)
            helped = measured([sys.executable, "-m", "gvs_tui", "--help"], env, tmp / "help.log", 120)
            if helped["rc"] != 0:
                raise SystemExit(f"gvs --help failed ({helped['rc']}):\n{helped['log'][-3000:]}")
            small = gvs_run(suite, tmp / "small.db", url, env, small_items, args.concurrency, tmp)
            small_store = store_figures(tmp / "small.db")
            print(f"1,000-cell run: {small['wall']:.1f} s, peak RSS {small['rss_mib']:.0f} MiB", flush=True)
            big = gvs_run(suite, tmp / "big.db", url, env, None, args.concurrency, tmp)
            big_store = store_figures(tmp / "big.db")
            print(f"{args.cells:,}-cell run: {big['wall']:.1f} s, peak RSS {big['rss_mib']:.0f} MiB", flush=True)
    finally:
        process.terminate()
        process.wait(30)
    for name, s in (("small", small_store), ("big", big_store)):
        expected = SMALL_CELLS if name == "small" else args.cells
        if s["responses"] != expected or s["cells"] != expected:
            raise SystemExit(f"{name} run: {s['responses']} responses for {s['cells']} cells, expected {expected}")
    print(f"load at the end {'{:.1f}/{:.1f}/{:.1f}'.format(*os.getloadavg())}")
    table = markdown(args, helped, small, small_store, big, big_store)
    print(table if args.markdown else "\n".join(table.splitlines()[2:]))


def markdown(args, helped: dict, small: dict, small_store: dict, big: dict, big_store: dict) -> str:
    n = big_store["responses"]
    per = big_store["size"] / n
    payload = (big_store["prompt_bytes"] + big_store["answer_bytes"]) / n
    small_per = small_store["size"] / small_store["responses"]
    lines = [
        "| measure | figure | baseline | ratio | target | met |",
        "|---|---|---|---|---|---|",
        f"| P6 store bytes per response, {n:,} responses (WAL checkpointed; file {big_store['size'] / 2**20:,.1f} MiB) | "
        f"{per:,.0f} B | payload (prompt + answer, UTF-8) {payload:,.0f} B | {per / payload:.2f}× | — | — |",
        f"| store bytes per response beyond the payload (gvs's bookkeeping) | {per - payload:,.0f} B | — | — | — | — |",
        f"| store bytes per response, {small_store['responses']:,}-cell run | {small_per:,.0f} B | {args.cells:,}-cell run {per:,.0f} B | "
        f"{small_per / per:.2f}× | — | — |",
        f"| P6 peak RSS of `gvs run`, {args.cells:,} cells | {big['rss_mib']:,.0f} MiB | `gvs --help` {helped['rss_mib']:,.0f} MiB | "
        f"{big['rss_mib'] / helped['rss_mib']:.2f}× | — | — |",
        f"| peak RSS against the {SMALL_CELLS:,}-cell run (×{args.cells // SMALL_CELLS} cells) | {big['rss_mib']:,.0f} MiB | "
        f"{SMALL_CELLS:,} cells {small['rss_mib']:,.0f} MiB | {big['rss_mib'] / small['rss_mib']:.2f}× | — | — |",
        f"| RSS growth per 1,000 cells beyond the {SMALL_CELLS:,}-cell run | "
        f"{(big['rss_mib'] - small['rss_mib']) / ((args.cells - SMALL_CELLS) / 1000):,.2f} MiB | — | — | — | — |",
        f"| `gvs run` wall time, {args.cells:,} cells (server latency {args.latency} s, {args.concurrency} per model × "
        f"{len(MODELS)} models) | {big['wall']:,.1f} s ({args.cells / big['wall']:,.0f} cells/s) | {SMALL_CELLS:,} cells "
        f"{small['wall']:.1f} s | — | — | — |",
        f"| CPU per cell (difference of the two runs over the difference in cells) | "
        f"{1000 * (big['cpu'] - small['cpu']) / (args.cells - SMALL_CELLS):.2f} ms | — | — | — | — |",
    ]
    for name, size in big_store["tables"][:8]:
        lines.append(
            f"| bytes per response in `{name}` (dbstat) | {size / n:,.0f} B | — | {size / big_store['size']:.0%} of the file | — | — |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
