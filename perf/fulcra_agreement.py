"""Measure the Schwartz value scorer against FULCRA's human value labels.

Draws a seeded random sample of FULCRA dialogues (development data, read from ../shared, never
copied into the repository), asks the judge for each response's value profile through
benchmark.scoring.judge.profile_values, and prints per-value agreement with the labels (n, accuracy,
Cohen's kappa, gold label counts) and an overall row (macro means). In the same run it scores a
trivial predictor that answers 0 ("not involved") for every value, on the same responses the judge
answered, so the judge's kappa can be read against it. ``--baseline-only`` scores the trivial predictor alone and needs no judge.

Usage: python3 perf/fulcra_agreement.py --judge MODEL [--api-base URL] [-n N] [--seed S]
       [--concurrency C] [--data PATH] [--json]
       python3 perf/fulcra_agreement.py --baseline-only [-n N] [--seed S] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from benchmark.analysis.agreement import per_value_agreement  # noqa: E402
from benchmark.scoring import values as fulcra  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared/data/fulcra/trustworthy_data.jsonl"


async def judge_profiles(samples, model: str, api_base: str | None, concurrency: int) -> list:
    # Imported here so that --baseline-only needs neither the judge module nor LiteLLM.
    from benchmark.clients.models import ModelTarget
    from benchmark.scoring.judge import JudgeConfig, profile_values

    config = JudgeConfig(target=ModelTarget(name=model, api_base=api_base))
    gate = asyncio.Semaphore(concurrency)
    done = 0

    async def one(s):
        nonlocal done
        async with gate:
            try:
                profile = await profile_values(config, s.prompt, s.response)
            except Exception as exc:  # one failed call must not sink the run: it counts as a judge error
                print(f"line {s.index + 1}: judge raised {type(exc).__name__}: {exc}", file=sys.stderr)
                profile = None
        done += 1
        if done % 10 == 0 or done == len(samples):
            print(f"  judged {done}/{len(samples)}", file=sys.stderr)
        return profile

    return await asyncio.gather(*(one(s) for s in samples))


def _fmt(x) -> str:
    return "   -" if x is None else f"{x:6.3f}"


def print_report(report: dict) -> None:
    d = report["data"]
    print(f"FULCRA value agreement: {d['sampled']} of {d['samples']} samples (seed {d['seed']}) from {d['path']}")
    if d["irregularities"]:
        print(
            "  labels normalised in the file: " + ", ".join(f"{k} {v}" for k, v in sorted(d["irregularities"].items()))
        )
    results = report["results"]
    names = list(results)
    head = (
        "  "
        + "value".ljust(16)
        + "  gold -1/0/+1 "
        + "".join(f"{name + ' acc':>16}{name + ' kappa':>16}" for name in names)
    )
    print()
    print(head)
    first = results[names[0]]
    for value in (*fulcra.SCHWARTZ_VALUES, "overall"):
        g = first[value].get("gold")
        gold = f"{g[-1]:>4}/{g[0]:>4}/{g[1]:>4}" if g else ""
        cells = "".join(
            f"{_fmt(results[name][value]['accuracy']):>16}{_fmt(results[name][value]['kappa']):>16}" for name in names
        )
        print(f"  {value:<16}  {gold:<13}{cells}")
    constant = [v for v in fulcra.SCHWARTZ_VALUES if first[v]["n"] and first[v]["gold"][0] == first[v]["n"]]
    if constant:
        # Kappa is 1.0 there for a rater that also says 0 throughout and 0.0 for any other: it lifts the baseline's mean.
        print(f"  gold is 0 throughout for {', '.join(constant)}: kappa there is 1.0 only for an all-0 rater, else 0.0")
    print()
    for name in names:
        o = results[name]["overall"]
        print(f"{name}: n={o['n']} compared, {o['errors']} errors (no profile from the judge)")
    if "seconds" in report:
        print(f"judge time: {report['seconds']:.1f}s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--judge", metavar="MODEL", help="LiteLLM model string of the judge (required unless --baseline-only)"
    )
    ap.add_argument("--api-base", metavar="URL", help="base URL of an OpenAI-compatible server for the judge")
    ap.add_argument("-n", type=int, default=100, metavar="N", help="sample size (default 100)")
    ap.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    ap.add_argument("--concurrency", type=int, default=4, metavar="C", help="judge calls in flight (default 4)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, metavar="PATH", help="FULCRA .jsonl file")
    ap.add_argument("--baseline-only", action="store_true", help="score only the always-0 predictor; no judge")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    args = ap.parse_args(argv)
    if not args.baseline_only and not args.judge:
        ap.error("--judge MODEL is required (or --baseline-only)")
    if args.n < 1 or args.concurrency < 1:
        ap.error("-n and --concurrency must be at least 1")
    if not args.data.is_file():
        print(f"missing {args.data}", file=sys.stderr)
        return 2

    try:
        samples = fulcra.load(args.data)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    chosen = fulcra.sample(samples, args.n, args.seed)
    gold = [s.labels for s in chosen]

    results = {}
    report: dict = {
        "data": {
            "path": str(args.data),
            "samples": len(samples),
            "sampled": len(chosen),
            "seed": args.seed,
            "irregularities": dict(fulcra.irregularities(samples)),
        },
    }
    if not args.baseline_only:
        start = time.perf_counter()
        predicted = asyncio.run(judge_profiles(chosen, args.judge, args.api_base, args.concurrency))
        report["seconds"] = round(time.perf_counter() - start, 1)
        report["judge"] = {"model": args.judge, "api_base": args.api_base}
        results["judge"] = per_value_agreement(gold, predicted)
        # The baseline is scored on the responses the judge answered, so both rows share their items.
        gold = [g for g, p in zip(gold, predicted) if p is not None]
    always_zero = {v: 0 for v in fulcra.SCHWARTZ_VALUES}
    results["baseline"] = per_value_agreement(gold, [always_zero] * len(gold))
    report["results"] = results

    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
