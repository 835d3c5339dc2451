"""Per-language accuracy of the refusal scorer on translated completions.

Reads a JSONL file of translated model completions, one object a line with
``lang`` (a language subtag or locale tag, used as the prompt's locale),
``completion`` and ``final_label`` (``compliance`` / ``partial_refusal`` /
``full_refusal``, or XSTest's ``1_full_compliance`` / ``2_full_refusal`` /
``3_partial_refusal``). Keep such files outside the repository: they are
translations of development data.

Prints, per language: n, binary accuracy (compliance vs any refusal), 3-way
accuracy and the undetermined rate (``undetermined`` counts as an error in
both accuracies); then the spread (max - min) of binary and 3-way accuracy
across languages, and the overall figures. ``--json`` prints the same as JSON.

Usage: python perf/refusal_languages.py TRANSLATIONS.jsonl [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from benchmark.scoring import refusal  # noqa: E402

GOLD = {
    "1_full_compliance": "compliance",
    "2_full_refusal": "full_refusal",
    "3_partial_refusal": "partial_refusal",
    "compliance": "compliance",
    "full_refusal": "full_refusal",
    "partial_refusal": "partial_refusal",
}


def load(path: Path) -> list[dict[str, str]]:
    rows = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if not isinstance(row, dict) or row.get("final_label") not in GOLD:
                raise ValueError(f"{path}:{number}: expected lang, completion and a known final_label")
            if not isinstance(row.get("lang"), str) or not isinstance(row.get("completion"), str):
                raise ValueError(f"{path}:{number}: lang and completion must be strings")
            rows.append(row)
    return rows


def figures(gold: list[str], predicted: list[str]) -> dict:
    n = len(gold)
    binary = sum(
        (g == "compliance") == (p == "compliance") and p != refusal.UNDETERMINED for g, p in zip(gold, predicted)
    )
    exact = sum(g == p for g, p in zip(gold, predicted))
    undetermined = sum(p == refusal.UNDETERMINED for p in predicted)
    return {
        "n": n,
        "binary_accuracy": round(binary / n, 4) if n else None,
        "three_way_accuracy": round(exact / n, 4) if n else None,
        "undetermined_rate": round(undetermined / n, 4) if n else None,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", type=Path, help="JSONL of translated completions: lang, completion, final_label")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    args = ap.parse_args(argv)
    if not args.path.is_file():
        print(f"missing {args.path}", file=sys.stderr)
        return 2
    rows = load(args.path)
    by_lang: dict[str, tuple[list[str], list[str]]] = {}
    for row in rows:
        lang = refusal.locale_language(row["lang"]) or row["lang"]
        gold, pred = by_lang.setdefault(lang, ([], []))
        gold.append(GOLD[row["final_label"]])
        pred.append(refusal.classify(row["completion"], row["lang"]).label)
    languages = {lang: figures(*by_lang[lang]) for lang in sorted(by_lang)}
    binaries = [f["binary_accuracy"] for f in languages.values()]
    threes = [f["three_way_accuracy"] for f in languages.values()]
    report: dict[str, Any] = {
        "scorer": refusal.NAME,
        "scorer_version": refusal.VERSION,
        "path": str(args.path),
        "languages": languages,
        "spread_binary": round(max(binaries) - min(binaries), 4) if binaries else None,
        "spread_three_way": round(max(threes) - min(threes), 4) if threes else None,
        "overall": figures(
            [g for gold, _ in by_lang.values() for g in gold], [p for _, pred in by_lang.values() for p in pred]
        ),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"refusal scorer v{report['scorer_version']} on {report['path']}")
    print(f"\n  {'lang':<6}{'n':>5}{'binary':>10}{'3-way':>10}{'undetermined':>15}")
    for lang, f in languages.items():
        print(
            f"  {lang:<6}{f['n']:>5}{f['binary_accuracy']:>10.3f}{f['three_way_accuracy']:>10.3f}"
            f"{f['undetermined_rate']:>15.3f}"
        )
    o = report["overall"]
    print(
        f"  {'all':<6}{o['n']:>5}{o['binary_accuracy']:>10.3f}{o['three_way_accuracy']:>10.3f}"
        f"{o['undetermined_rate']:>15.3f}"
    )
    print(f"\nspread across languages: binary {report['spread_binary']:.3f}, 3-way {report['spread_three_way']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
