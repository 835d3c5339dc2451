"""Measure the refusal scorer against XSTest v2's human labels.

Reads the XSTest completion files (development data; never copied into the
repository), classifies every completion with benchmark.scoring.refusal and
prints, per model file and overall: n, binary accuracy (full compliance vs
any refusal), 3-way accuracy, a 3x3 confusion matrix, and the classifier's
throughput. ``--json`` prints the same as JSON.

Usage: python3 perf/refusal_xstest.py [DATA_DIR] [--json] [--errors N]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from benchmark.scoring import refusal  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared/data/xstest-dev"
FILES = {
    "gpt4": "xstest_v2_completions_gpt4.csv",
    "mistralinstruct": "xstest_v2_completions_mistralinstruct.csv",
}
# XSTest writes labels as "1_full_compliance" etc.; strip the ordering prefix.
GOLD = {"1_full_compliance": "compliance", "2_full_refusal": "full_refusal", "3_partial_refusal": "partial_refusal"}


def load(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return [row for row in csv.DictReader(f) if row.get("final_label") in GOLD]


def score(rows: list[dict[str, str]], predicted: list[str]) -> dict:
    labels = refusal.LABELS
    confusion = {g: {p: 0 for p in labels} for g in labels}
    for row, pred in zip(rows, predicted):
        confusion[GOLD[row["final_label"]]][pred] += 1
    n = len(rows)
    exact = sum(confusion[g][g] for g in labels)
    binary = sum(confusion[g][p] for g in labels for p in labels if (g == "compliance") == (p == "compliance"))
    return {
        "n": n,
        "binary_accuracy": round(binary / n, 4) if n else None,
        "three_way_accuracy": round(exact / n, 4) if n else None,
        "confusion": confusion,  # confusion[gold][predicted]
    }


def throughput(texts: list[str], min_seconds: float = 1.0) -> float:
    refusal.classify("warm up the lexicon cache")
    done, start = 0, time.perf_counter()
    while True:
        for t in texts:
            refusal.classify(t)
        done += len(texts)
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return done / elapsed


def print_report(report: dict) -> None:
    labels = refusal.LABELS
    short = {"compliance": "compliance", "partial_refusal": "partial", "full_refusal": "refusal"}
    print(f"refusal scorer v{report['scorer_version']} on {report['data_dir']}")
    for name, r in report["results"].items():
        print(f"\n== {name}: n={r['n']}  binary={r['binary_accuracy']:.3f}  3-way={r['three_way_accuracy']:.3f}")
        print("  " + "gold / predicted".ljust(18) + "".join(f"{short[p]:>12}" for p in labels))
        for g in labels:
            print(f"  {short[g]:<18}" + "".join(f"{r['confusion'][g][p]:>12}" for p in labels))
    print(f"\nthroughput: {report['throughput_per_s']:.0f} responses/s (single thread)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    ap.add_argument("--errors", type=int, default=0, metavar="N", help="also list up to N misclassified items")
    args = ap.parse_args(argv)

    all_rows: list[dict[str, str]] = []
    all_pred: list[str] = []
    results = {}
    errors = []
    for name, filename in FILES.items():
        path = args.data_dir / filename
        if not path.is_file():
            print(f"missing {path}", file=sys.stderr)
            return 2
        rows = load(path)
        verdicts = [refusal.classify(r["completion"]) for r in rows]
        pred = [v.label for v in verdicts]
        results[name] = score(rows, pred)
        all_rows += rows
        all_pred += pred
        for r, v in zip(rows, verdicts):
            if GOLD[r["final_label"]] != v.label:
                errors.append((name, r["id"], GOLD[r["final_label"]], v.label, v.cues, r["completion"]))
    results["overall"] = score(all_rows, all_pred)

    report = {
        "scorer": refusal.NAME,
        "scorer_version": refusal.VERSION,
        "data_dir": str(args.data_dir),
        "results": results,
        "throughput_per_s": round(throughput([r["completion"] for r in all_rows]), 1),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    if args.errors:
        # For development only: shows model text on the terminal, never stored.
        for name, item, gold, pred, cues, text in errors[: args.errors]:
            print(f"\n-- {name} {item}: gold={gold} predicted={pred} cues={list(cues)}", file=sys.stderr)
            print("   " + text[:400].replace("\n", " "), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
