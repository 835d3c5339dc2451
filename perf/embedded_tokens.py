"""P5: the embedded model's generated tokens per second through gvs's run path against
llama-cpp-python called directly, same prompts, same parameters, same run.

The prompts are GVS-Bench items (``--items`` per locale, en-US and zh-CN, items that need no
image), so each side writes the real scaffold of the prompt's language. Two rows, in one process:

- ``gvs``     ``benchmark.engine.runner.execute`` on the cells ``build_plan`` makes for
  ``local/gemma-3-270m`` (so the request, its scaffold, stop sequences, repeat penalty and seed are
  what ``gvs run`` sends), one cell at a time, with a fresh store each round so nothing is a cache
  hit: LiteLLM's custom provider, the model thread, the offline scorers and the SQLite write are in
  the time, as in a run;
- ``direct``  ``llama_cpp.Llama(model_path=…, n_ctx, seed=0, n_threads=None)`` — the settings
  ``benchmark.clients.embedded`` loads the model with — and ``create_completion`` on the same rendered
  prompt text with the same max_tokens, temperature, seed, repeat penalty and stops.

Each side has its own ``Llama`` (llama.cpp keeps a prompt-prefix cache per context, and both see
the same sequence of prompts). One untimed warm-up call each; then ``--rounds`` rounds, each asking
every prompt of both sides, interleaved prompt by prompt (the side that goes first alternates), so a
noisy moment hits both alike. Tokens are ``usage.completion_tokens`` on both sides (the gvs side
reads them back from the store); a round's rate is its tokens over the summed call times; figures
are medians of rounds. The outputs are checked to be the same text. Model load time is not in
tokens/s; it is printed for both: for gvs, what the first call of a run pays (finding and checking
the GGUF of the package, then ``Llama(...)``), and LiteLLM's import with the provider registration.
Target: gvs / direct ≥ 0.9.

Run: python perf/embedded_tokens.py [--items 4] [--rounds 3] [--max-tokens 128] [--quick] [--markdown]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODEL = "local/gemma-3-270m"
LOCALES = ["en-US", "zh-CN"]
TARGET = 0.9


def _timed(fn):
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


class GvsSide:
    """The run path: a plan's cells asked through ``execute`` into a store."""

    def __init__(self, plan, tmp: Path):
        self.plan = plan
        self.tmp = tmp
        self.round = 0
        self.store = None
        self.run_id = None
        self.loop = asyncio.new_event_loop()  # one loop for every call, as in a run

    def fresh_store(self) -> None:
        from benchmark import versions
        from store import open_store

        if self.store is not None:
            self.store.remove()
        self.round += 1
        self.store = open_store(self.tmp / f"gvs-{self.round}.db")
        self.run_id, _ = self.store.begin_run(self.plan, versions())

    def ask(self, cell) -> tuple[float, int, str]:
        """(seconds, completion tokens, text) of one cell through the run engine."""
        from benchmark.engine.runner import execute

        one = replace(self.plan, cells=[cell])
        started = time.perf_counter()
        summary = self.loop.run_until_complete(execute(one, self.store, self.run_id, concurrency=1, max_attempts=1))
        elapsed = time.perf_counter() - started
        if summary.called != 1:
            raise SystemExit(f"gvs side: the cell was not answered ({summary})")
        text, usage = self.store.db.execute(
            "select text, usage from responses where cache_key = ?", [cell.request.key]
        ).fetchone()
        return elapsed, int(json.loads(usage)["completion_tokens"]), text

    def close(self) -> None:
        if self.store is not None:
            self.store.remove()
        self.loop.run_until_complete(self.loop.shutdown_default_executor())
        self.loop.close()


class DirectSide:
    """llama-cpp-python as a user would call it, with the settings gvs uses."""

    def __init__(self, llm, spec):
        self.llm = llm
        self.spec = spec

    def ask(self, cell) -> tuple[float, int, str]:
        from benchmark.clients.embedded import render, stops

        params = cell.request.params
        s = params["scaffold"]
        text = render(cell.item.prompt, s)
        started = time.perf_counter()
        out = self.llm.create_completion(
            text,
            max_tokens=int(params["max_tokens"]),
            temperature=float(params["temperature"]),
            seed=int(params["seed"]),
            repeat_penalty=float(params["repeat_penalty"]),
            stop=stops(s),
        )
        elapsed = time.perf_counter() - started
        return elapsed, int(out["usage"]["completion_tokens"]), out["choices"][0]["text"].strip()


def cells(items: int, max_tokens: int):
    """The plan of ``items`` GVS-Bench items (no image) in en-US and zh-CN for the embedded model."""
    from benchmark.clients.models import ModelTarget
    from benchmark.engine.runner import build_plan
    from benchmark.localization.suites import get_suite

    suite = get_suite("gvs-bench")
    plan = build_plan(
        suite, [ModelTarget(MODEL)], LOCALES, params={"max_tokens": max_tokens, "temperature": 0.0, "seed": 0}
    )
    chosen = [i.id for i in suite.items if not i.needs_image][:items]
    picked = [c for c in plan.cells if c.item.id in chosen]
    if len(picked) != items * len(LOCALES):
        raise SystemExit(f"expected {items * len(LOCALES)} cells, found {len(picked)}")
    return replace(plan, cells=picked)


def measure(args) -> dict:
    import llama_cpp

    from benchmark.clients import embedded
    from benchmark.clients.library import ensure_litellm

    spec = embedded.EMBEDDED_MODELS[MODEL]
    path = embedded.model_path(spec)  # untimed: puts the GGUF in the page cache for both loads
    litellm_s, _ = _timed(ensure_litellm)
    gvs_load_s, _ = _timed(lambda: embedded._llama(spec))  # what the first call of a run does
    direct_load_s, llm = _timed(
        lambda: llama_cpp.Llama(model_path=path, n_ctx=spec.n_ctx, verbose=False, seed=0, n_threads=None)
    )
    plan = cells(args.items, args.max_tokens)
    with tempfile.TemporaryDirectory() as tmp:
        gvs = GvsSide(plan, Path(tmp))
        direct = DirectSide(llm, spec)
        try:
            gvs.fresh_store()
            warm = plan.cells[-1]  # warm-up (langdetect's profiles, LiteLLM's first call), not counted
            gvs.ask(warm)
            direct.ask(warm)
            rounds = []
            mismatches = set()
            for r in range(args.rounds):
                gvs.fresh_store()
                got = {"gvs": [], "direct": []}
                for i, cell in enumerate(plan.cells):
                    order = [("gvs", gvs), ("direct", direct)]
                    if (i + r) % 2:
                        order.reverse()
                    for name, side in order:
                        got[name].append(side.ask(cell))
                for i, ((_, tg, xg), (_, td, xd)) in enumerate(zip(got["gvs"], got["direct"])):
                    if tg != td or xg != xd:
                        mismatches.add(i)
                row = {}
                for name, calls in got.items():
                    seconds, tokens = sum(c[0] for c in calls), sum(c[1] for c in calls)
                    row[name] = {"seconds": seconds, "tokens": tokens, "rate": tokens / seconds}
                rounds.append(row)
                print(
                    f"round {r + 1}: gvs {row['gvs']['rate']:6.1f} tok/s ({row['gvs']['tokens']} tokens in "
                    f"{row['gvs']['seconds']:.2f} s), direct {row['direct']['rate']:6.1f} tok/s ({row['direct']['tokens']} "
                    f"tokens in {row['direct']['seconds']:.2f} s)",
                    flush=True,
                )
        finally:
            gvs.close()
    n_calls = len(plan.cells)
    return {
        "gvs": statistics.median(r["gvs"]["rate"] for r in rounds),
        "direct": statistics.median(r["direct"]["rate"] for r in rounds),
        "overhead_ms": statistics.median(
            1000 * (r["gvs"]["seconds"] - r["direct"]["seconds"]) / n_calls for r in rounds
        ),
        "tokens": statistics.median(r["direct"]["tokens"] for r in rounds),
        "calls": n_calls,
        "rounds": len(rounds),
        "rates": {k: [round(r[k]["rate"], 1) for r in rounds] for k in ("gvs", "direct")},
        "mismatches": len(mismatches),
        "litellm_s": litellm_s,
        "gvs_load_s": gvs_load_s,
        "direct_load_s": direct_load_s,
        "threads": llm.n_threads,
    }


def markdown(m: dict, args) -> str:
    ratio = m["gvs"] / m["direct"]
    same = "yes" if not m["mismatches"] else f"NO ({m['mismatches']} of {m['calls']} differ)"
    return "\n".join(
        [
            "| measure | figure | baseline | ratio | target | met |",
            "|---|---|---|---|---|---|",
            f"| P5 tokens/s, gvs run path (median of {m['rounds']} rounds × {m['calls']} calls, max_tokens {args.max_tokens}) | "
            f"{m['gvs']:.1f} tok/s | llama-cpp-python direct {m['direct']:.1f} tok/s | {ratio:.3f}× | ≥ {TARGET}× | "
            f"{'yes' if ratio >= TARGET else 'NO'} |",
            f"| gvs time per call over direct (median of rounds) | {m['overhead_ms']:+.1f} ms | — | — | — | — |",
            f"| completion tokens per round; same text and tokens on both sides | {m['tokens']:.0f} | — | — | — | {same} |",
            f"| model load (gvs: find and check the GGUF, then Llama) | {m['gvs_load_s']:.2f} s | direct Llama() {m['direct_load_s']:.2f} s | "
            f"{m['gvs_load_s'] / m['direct_load_s']:.2f}× | — | — |",
            f"| LiteLLM import and provider registration (gvs only, once per process) | {m['litellm_s']:.2f} s | — | — | — | — |",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=4, help="GVS-Bench items per locale (prompts = items × 2)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--quick", action="store_true", help="2 items per locale, 2 rounds")
    parser.add_argument("--markdown", action="store_true", help="also print a Markdown table for perf/RESULTS.md")
    args = parser.parse_args()
    if args.quick:
        args.items, args.rounds = 2, 2
    if not 1 <= args.items <= 40 or not 1 <= args.rounds <= 20 or not 1 <= args.max_tokens <= 1024:
        parser.error("--items must be 1..40, --rounds 1..20, --max-tokens 1..1024")
    load = "load {:.1f}/{:.1f}/{:.1f} on {} cores".format(*os.getloadavg(), os.cpu_count())
    print(
        f"{MODEL}: {args.items * len(LOCALES)} prompts (GVS-Bench, {', '.join(LOCALES)}), {args.rounds} rounds, "
        f"max_tokens {args.max_tokens}, temperature 0, seed 0; {load}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as home:
        os.environ["GVS_HOME"] = home  # the shipped GVS-Bench, never a user's imported copy
        m = measure(args)
    ratio = m["gvs"] / m["direct"]
    print(f"llama.cpp threads {m['threads']}; rounds gvs {m['rates']['gvs']}, direct {m['rates']['direct']}")
    print(
        f"gvs {m['gvs']:.1f} tok/s, direct {m['direct']:.1f} tok/s, ratio gvs / direct {ratio:.3f} (target ≥ {TARGET}); "
        f"gvs adds {m['overhead_ms']:+.1f} ms per call"
    )
    print(
        f"model load: gvs {m['gvs_load_s']:.2f} s, direct {m['direct_load_s']:.2f} s; LiteLLM import {m['litellm_s']:.2f} s"
    )
    if m["mismatches"]:
        print(f"warning: {m['mismatches']} of {m['calls']} prompts got different text or token counts on the two sides")
    if args.markdown:
        print(markdown(m, args))


if __name__ == "__main__":
    main()
