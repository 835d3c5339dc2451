"""`gvs check` at scale: the time of ``qa.check`` on a generated suite of N items (default 100,000)
against reading the same locale files (the floor: every check must read them), and its growth.

The suite (perf/synthetic.py's layout) has an English source and a Spanish and a Chinese
translation, prompt and focus, each text different (word choices vary with the item number, so no
cache answers for another item): the Spanish locale takes the language-detector path, the Chinese
one the script path. Rows, measured in the same run, for each translation (``gvs check SUITE -l
TAG``, which reads the source too):

- ``parse``  what ``qa.check`` must do before any text is looked at: ``qa._read`` of the source's and
  the translation's files (YAML with lines, leniently) and ``Suite.variant`` of both (strictly, as
  ``gvs run`` would): the floor, with the cycle collector paused as ``qa.check`` pauses it;
- ``check``  ``qa.check`` of the translation in one process (``workers=1``), findings included (none:
  the texts are clean); the text checks are its excess over the floor;
- ``forked``  the same with the texts checked over ``qa.auto_workers()`` forked processes, as `gvs
  check` does (wall time: the work is spread over processors), and its speed-up over ``check``.

- ``command``  the whole ``gvs check SUITE -l TAG`` as a user runs it (a fresh process: suite.yaml read,
  the locale files parsed in forked processes meanwhile, the detector loaded, the texts checked over
  forked workers), wall time, at N items only, with the ratio command ÷ parse.

each at N/10, N/3 and N items, with µs per item and the ratio check ÷ parse; linear growth shows as a
flat µs per item. ``parse`` and ``check`` are the process's CPU time (a shared machine's load stretches
wall time, which is printed beside it). Target (issues #18/#21): ``check`` of 100,000 items ≤ 10 s on
a developer machine.

Usage: python perf/check_scale.py [--items 100000] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PERF = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(PERF))

from benchmark import yamlfile  # noqa: E402
from benchmark.localization import qa, textchecks  # noqa: E402
from benchmark.localization.suites import load_suite  # noqa: E402

SUBJECTS = ["my neighbour", "my sister", "a colleague", "the landlord", "my teacher", "a stranger", "my son"]
VERBS = ["keeps shouting at", "refuses to talk to", "borrows money from", "lies to", "ignores", "criticises"]
OBJECTS = ["me", "my family", "the children", "our friends", "everyone at work", "the old man next door"]
ES_SUBJECTS = ["mi vecino", "mi hermana", "un compañero", "el casero", "mi profesor", "un desconocido", "mi hijo"]
ES_VERBS = [
    "no deja de gritar a",
    "se niega a hablar con",
    "pide dinero prestado a",
    "miente a",
    "ignora a",
    "critica a",
]
ES_OBJECTS = ["mí", "mi familia", "los niños", "nuestros amigos", "todos en el trabajo", "el anciano de al lado"]
ZH_SUBJECTS = ["我的邻居", "我的姐姐", "一位同事", "房东", "我的老师", "一个陌生人", "我的儿子"]
ZH_VERBS = ["一直对着吼", "拒绝理睬", "总是向借钱", "经常欺骗", "故意无视", "不停批评"]
ZH_OBJECTS = ["我", "我的家人", "孩子们", "我们的朋友", "公司里的每个人", "隔壁的老人"]


def _pick(words: list[str], i: int, k: int) -> str:
    return words[(i // k) % len(words)]


def english(i: int) -> str:
    return (
        f"Item {i}: {_pick(SUBJECTS, i, 1)} {_pick(VERBS, i, 7)} {_pick(OBJECTS, i, 42)} every day. "
        "What can I do about it, calmly and within the law?"
    )


def spanish(i: int) -> str:
    return (
        f"Caso {i}: {_pick(ES_SUBJECTS, i, 1)} {_pick(ES_VERBS, i, 7)} {_pick(ES_OBJECTS, i, 42)} todos los días. "
        "¿Qué puedo hacer, con calma y dentro de la ley?"
    )


def chinese(i: int) -> str:
    return (
        f"第{i}条：{_pick(ZH_SUBJECTS, i, 1)}每天都{_pick(ZH_VERBS, i, 7)}{_pick(ZH_OBJECTS, i, 42)}。"
        "我该如何冷静、合法地处理这件事？"
    )


TEXTS = {"en-US": english, "es-ES": spanish, "zh-CN": chinese}


FOCUS = {
    "en-US": "Answer calmly and point to lawful help (case {}).",
    "es-ES": "Responder con calma y señalar ayuda legal (caso {}).",
    "zh-CN": "冷静回答，并指出合法的求助途径（第{}条）。",
}


def write_suite(folder: Path, items: int) -> None:
    """perf/synthetic.py's layout, with a focus of each locale's own (a shared one is untranslated)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["id: scale", "name: check at scale", "version: '1'", "source: {name: synthetic}", "license: MIT"]
    lines += ["source_locale: en-US", "axes: [layer, category]", "items:"]
    lines += [f"  - {{id: P-{i}, tags: {{layer: L{i % 3}, category: C{i % 12}}}}}" for i in range(items)]
    (folder / "suite.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for tag, text in TEXTS.items():
        body = ["suite: scale", f"locale: {tag}", "items:"]
        body += [
            f"  P-{i}: {{prompt: {json.dumps(text(i), ensure_ascii=False)}, "
            f"focus: {json.dumps(FOCUS[tag].format(i), ensure_ascii=False)}}}"
            for i in range(items)
        ]
        (folder / f"{tag}.yaml").write_text("\n".join(body) + "\n", encoding="utf-8")


def _forget() -> None:
    """Empty the per-text caches, so that a second check reads every text again."""
    textchecks.script_counts.cache_clear()
    textchecks._classify.cache_clear()


def measure(folder: Path, items: int, tag: str, workers: int) -> dict:
    if not (folder / "suite.yaml").exists():
        write_suite(folder, items)
    suite = load_suite(folder)
    with yamlfile.gc_paused(), yamlfile.shared_loads():  # as qa.check: each file parsed once
        start = time.process_time()
        for each in ("en-US", tag):
            qa._read(suite, each, [])
            suite.variant(each)
        read = time.process_time() - start
    suite = load_suite(folder)  # nothing cached
    _forget()
    start, wall = time.process_time(), time.perf_counter()
    report = qa.check(suite, [tag], workers=1)
    check, wall = time.process_time() - start, time.perf_counter() - wall
    errors = sum(1 for f in report.findings if f.severity == "error")
    suite = load_suite(folder)
    _forget()
    forked = time.perf_counter()
    again = qa.check(suite, [tag], workers=workers)
    forked = time.perf_counter() - forked
    assert again.findings == report.findings, "the forked check found something else"
    return {
        "locale": tag,
        "items": items,
        "parse_s": round(read, 3),
        "check_s": round(check, 3),
        "check_wall_s": round(wall, 3),
        "check_us_per_item": round(check / items * 1e6, 1),
        "checks_us_per_item": round((check - read) / items * 1e6, 1),
        "check_over_parse": round(check / read, 2),
        "workers": workers,
        "forked_wall_s": round(forked, 3),
        "speedup": round(wall / forked, 2),
        "errors": errors,
        "findings": len(report.findings),
    }


def command(folder: Path, tag: str) -> float:
    """Wall seconds of ``gvs check FOLDER -l TAG`` in a fresh process (exit 0 expected: clean texts)."""
    import subprocess

    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "gvs_tui", "check", str(folder), "-l", tag],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"gvs check exited {done.returncode}: {done.stderr}")
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--workers", type=int, default=qa.auto_workers(), help="forked processes (default: auto)")
    args = parser.parse_args()
    # Warm the detectors (models load once per process) on a small suite, outside the timings.
    with tempfile.TemporaryDirectory() as tmp:
        for tag in ("es-ES", "zh-CN"):
            measure(Path(tmp) / "warm", 50, tag, 1)
    rows = []
    for n in sorted({max(1, args.items // 10), max(1, args.items // 3), args.items}):
        with tempfile.TemporaryDirectory() as tmp:
            for tag in ("es-ES", "zh-CN"):
                rows.append(measure(Path(tmp) / "scale", n, tag, args.workers))
                if n == args.items:
                    rows[-1]["command_wall_s"] = round(command(Path(tmp) / "scale", tag), 3)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(
        "locale   items  parse s (CPU)  check s (CPU)  µs/item: check  text checks  check ÷ parse  check s (wall)"
        f"  forked ×{args.workers} s (wall)  speed-up"
    )
    for r in rows:
        print(
            f"{r['locale']:6}  {r['items']:7}  {r['parse_s']:13.2f}  {r['check_s']:13.2f}  {r['check_us_per_item']:14.1f}"
            f"  {r['checks_us_per_item']:11.1f}  {r['check_over_parse']:12.2f}×  {r['check_wall_s']:14.2f}"
            f"  {r['forked_wall_s']:18.2f}  {r['speedup']:7.2f}×"
        )
    for r in rows:
        if "command_wall_s" in r:
            print(
                f"gvs check -l {r['locale']} ({r['items']} items): {r['command_wall_s']:.2f} s (wall), "
                f"{r['command_wall_s'] / r['parse_s']:.2f}× parse"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
