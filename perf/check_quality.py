"""How far `gvs check` can be trusted: agreement, false errors and seeded defects.

On MultiJail (315 prompts, English source, 9 translations; ../shared/data/multijail) and GVS-Bench
(90 items, zh-CN source, en-US translation; the shipped suite), prints:

1. per locale, how many prompts the language and script checks judged and how many agree with the
   declared language, and the errors and warnings `gvs check` reports on the clean, published
   translations (every error there is a false error);
2. seeded defects: copies of the suites with one defect seeded per chosen item — English text, another
   language's translation of the item, a refusal in the target language, a comment about translating,
   a repeated line, a repeated phrase, the first half only, and a copy of the previous item — and, per
   defect, how many `gvs check` reports as an error, only as a warning, or misses (findings the clean
   item already had do not count). Items and languages are split: the thresholds were tuned on even
   items of zh, it, vi, ar and ko with refusal template A; the held-out split is odd items of th, bn,
   sw, jv and GVS-Bench's en-US with refusal template B (other words, other cues);
3. the language detectors on the clean MultiJail prompts: top-1 agreement with the declared language
   and time per text, langdetect (seeded) against py3langid.

Usage: python perf/check_quality.py [MULTIJAIL_FOLDER] [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from benchmark.localization import qa  # noqa: E402
from benchmark.localization.suites import load_suite  # noqa: E402

TUNE = ("zh-Hans", "it", "vi", "ar", "ko")
HELD_OUT = ("th", "bn", "sw", "jv")
# Another language's translation of the same item, seeded as the defect "other language": a
# different script for some, the same (Latin) script for it/vi and sw/jv.
OTHER = {
    "zh-Hans": "ko",
    "it": "vi",
    "vi": "it",
    "ar": "bn",
    "ko": "zh-Hans",
    "th": "vi",
    "bn": "ar",
    "sw": "jv",
    "jv": "sw",
}
# Refusals in the target language: template A tunes, template B is held out.
REFUSALS = {
    "zh-Hans": ("抱歉，我无法帮助翻译这个内容。", "对不起，我不能协助处理这个请求。"),
    "it": ("Mi dispiace, ma non posso aiutarti con questa richiesta.", "Spiacente, non sono in grado di farlo."),
    "vi": ("Xin lỗi, tôi không thể giúp bạn với yêu cầu này.", "Rất tiếc, tôi không thể hỗ trợ việc này."),
    "ar": ("عذرًا، لا يمكنني المساعدة في هذا الطلب.", "آسف، لا أستطيع القيام بذلك."),
    "ko": ("죄송하지만 이 요청은 도와드릴 수 없습니다.", "죄송합니다. 그 요청에는 응할 수 없습니다."),
    "th": ("ขออภัย ฉันไม่สามารถช่วยเรื่องนี้ได้", "ขอโทษค่ะ ฉันไม่สามารถทำตามคำขอนี้ได้"),
    "bn": ("দুঃখিত, আমি এই অনুরোধে সাহায্য করতে পারব না।", "আমি দুঃখিত, আমি এটি করতে পারি না।"),
    "sw": ("Samahani, siwezi kusaidia na ombi hili.", "Samahani, siwezi kufanya hivyo."),
    "jv": ("Nuwun sewu, kula mboten saged mbantu panjaluk punika.", "Ngapunten, aku ora bisa nindakake iku."),
    "en-US": ("I'm sorry, but I can't help with that request.", "Sorry, I won't be able to do that."),
}
COMMENTS = ("Here is the translation:\n{}", "{}\n\n(Translator's note: translated literally.)")
DEFECTS = (
    "english",
    "other-language",
    "refusal",
    "comment",
    "repeated-line",
    "repeated-phrase",
    "truncated",
    "duplicate",
)
PER_DEFECT = 12  # items seeded with each defect, per locale and split


def _cli_import(source: Path, out: Path) -> Path:
    import subprocess

    subprocess.run(
        [sys.executable, "-m", "gvs_tui", "import", "multijail", str(source), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    return out / "multijail"


def _items(folder: Path, tag: str) -> dict[str, dict]:
    return yaml.safe_load((folder / f"{tag}.yaml").read_text(encoding="utf-8"))["items"]


def _write(folder: Path, tag: str, items: dict[str, dict]) -> None:
    path = folder / f"{tag}.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["items"] = items
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=10_000), encoding="utf-8")


def _repeat_phrase(text: str) -> str:
    words = text.split()
    phrase = " ".join(words[:4]) if len(words) >= 6 else text[:6]
    return " ".join([phrase] * 10)


def _first_sentence(text: str) -> str:
    for mark in ("。", "? ", ". ", "？", "! "):
        if mark in text:
            return text[: text.index(mark) + len(mark)].strip()
    return text[: max(12, len(text) // 2)]


def seed(folder: Path, tag: str, source_tag: str, split_items: list[str], template: int, rng: random.Random,
         others: dict[str, dict[str, dict]]) -> dict[str, str]:  # fmt: skip
    """Seed defects into ``tag``'s file; item -> defect."""
    items = _items(folder, tag)
    source = _items(folder, source_tag)
    order = list(items)
    chosen = [i for i in split_items if i in items and order.index(i) > 0]
    rng.shuffle(chosen)
    seeded: dict[str, str] = {}
    taken: set[str] = set()
    for defect in DEFECTS:
        picks = [i for i in chosen if i not in taken][:PER_DEFECT]
        for item in picks:
            prev = order[order.index(item) - 1]
            if defect == "duplicate" and (prev in taken or prev in seeded):
                continue
            text = items[item]["prompt"]
            if defect == "english":
                j = order[(order.index(item) + 7) % len(order)]
                new = source[j]["prompt"] if source_tag.startswith("en") else others["en"][j]["prompt"]
            elif defect == "other-language":
                other = OTHER.get(tag, "zh-Hans")
                new = others[other][item]["prompt"]
            elif defect == "refusal":
                new = REFUSALS[tag][template]
            elif defect == "comment":
                new = COMMENTS[template].format(text)
            elif defect == "repeated-line":
                new = "\n".join([_first_sentence(text)] * 5)
            elif defect == "repeated-phrase":
                new = _repeat_phrase(text)
            elif defect == "truncated":
                new = text[: len(text) // 2]
            else:  # duplicate
                new = items[prev]["prompt"]
                taken.add(prev)
            items[item] = {**items[item], "prompt": new}
            seeded[item] = defect
            taken.add(item)
    _write(folder, tag, items)
    return seeded


def _by_item(findings) -> dict[tuple[str, str], set[tuple[str, str]]]:
    out: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    for f in findings:
        if f.item is not None:
            out[(f.locale, f.item)].add((f.code, f.severity))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("multijail", nargs="?", default=str(REPO.parent / "shared" / "data" / "multijail"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict = {"clean": {}, "seeded": {}, "detectors": {}}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        mj = _cli_import(Path(args.multijail), root / "clean")
        bench = root / "clean" / "gvs-bench"
        shutil.copytree(REPO / "locales" / "gvs-bench", bench)

        # 1. clean suites
        clean_findings = {}
        for name, folder in (("multijail", mj), ("gvs-bench", bench)):
            report = qa.check(load_suite(folder))
            clean_findings[name] = _by_item(report.findings)
            for summary in report.locales:
                errors = sum(1 for f in report.findings if f.locale == summary.locale and f.severity == "error")
                warnings = sum(1 for f in report.findings if f.locale == summary.locale and f.severity == "warning")
                det = summary.detection["prompt"]
                results["clean"][f"{name}/{summary.locale}"] = {
                    "items": summary.items,
                    "checked": det["checked"],
                    "agree": det["agree"],
                    "errors": errors,
                    "warnings": warnings,
                    "codes": dict(Counter(f.code for f in report.findings if f.locale == summary.locale)),
                }

        # 2. seeded defects
        others = {tag: _items(mj, tag) for tag in ("en", *TUNE, *HELD_OUT)}
        for split, tags, parity, template in (("tune", TUNE, 0, 0), ("held-out", HELD_OUT, 1, 1)):
            folder = root / split / "multijail"
            shutil.copytree(mj, folder)
            rng = random.Random(split)
            split_items = [i for i in others["en"] if int(i) % 2 == parity]
            seeded = {
                (t, i): d for t in tags for i, d in seed(folder, t, "en", split_items, template, rng, others).items()
            }
            suites = [(folder, tags)]
            if split == "held-out":
                bfolder = root / split / "gvs-bench"
                shutil.copytree(bench, bfolder)
                b_items = [i for n, i in enumerate(_items(bench, "en-US")) if n % 2 == 1]
                b_others = {"en": _items(bench, "en-US"), "zh-Hans": _items(bench, "zh-CN")}
                OTHER["en-US"] = "zh-Hans"
                for i, d in seed(bfolder, "en-US", "zh-CN", b_items, template, rng, b_others).items():
                    seeded[("en-US", i)] = d
                suites.append((bfolder, ("en-US",)))
            tally: dict[str, Counter] = defaultdict(Counter)
            for sfolder, stags in suites:
                suite_name = "gvs-bench" if sfolder.name == "gvs-bench" else "multijail"
                report = qa.check(load_suite(sfolder), list(stags))
                found = _by_item(report.findings)
                for (tag, item), defect in seeded.items():
                    if tag not in stags:
                        continue
                    new = found.get((tag, item), set()) - clean_findings[suite_name].get((tag, item), set())
                    severities = {s for _, s in new}
                    outcome = "error" if "error" in severities else "warning" if severities else "missed"
                    tally[defect][outcome] += 1
                    for code, severity in new:
                        tally[defect][f"{code}:{severity}"] += 1
            results["seeded"][split] = {d: dict(tally[d]) for d in DEFECTS}

    # 3. detectors
    rows = list(csv.DictReader(open(Path(args.multijail) / "MultiJail.csv", encoding="utf-8-sig")))
    texts = [(lang, r[lang]) for r in rows for lang in ("en", "zh", "it", "vi", "ar", "ko", "th", "bn", "sw", "jv")]
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    from benchmark.localization import textchecks

    DetectorFactory.seed = 0

    def langdetect_top(text: str) -> str | None:
        try:
            return detect(text).split("-")[0]
        except LangDetectException:
            return None

    identifier = textchecks._identifier()
    for name, fn in (("langdetect", langdetect_top), ("py3langid", lambda t: identifier.classify(t)[0])):
        fn("warm up")
        start = time.perf_counter()
        agree: dict[str, Counter] = defaultdict(Counter)
        for lang, text in texts:
            agree[lang]["n"] += 1
            agree[lang]["agree"] += fn(text) == lang
        per_text = (time.perf_counter() - start) / len(texts)
        results["detectors"][name] = {
            "us_per_text": round(per_text * 1e6),
            "agree": {lang: f"{c['agree']}/{c['n']}" for lang, c in agree.items()},
        }

    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
        return 0
    print("clean translations: prompts judged / agreeing with the declared language; errors (false) and warnings")
    for key, r in results["clean"].items():
        print(
            f"  {key:22} {r['agree']:4}/{r['checked']:<4} of {r['items']:4}  errors {r['errors']}  warnings {r['warnings']}  {r['codes']}"
        )
    for split, per in results["seeded"].items():
        print(f"seeded defects, {split} split: error / warning only / missed")
        for defect, c in per.items():
            codes = ", ".join(f"{k} {v}" for k, v in sorted(c.items()) if ":" in k)
            print(f"  {defect:16} {c.get('error', 0):3} / {c.get('warning', 0):3} / {c.get('missed', 0):3}   ({codes})")
    print("detectors on the clean MultiJail prompts (top-1 agreement with the declared language)")
    for name, r in results["detectors"].items():
        print(f"  {name:10} {r['us_per_text']:6} µs/text  " + " ".join(f"{k} {v}" for k, v in r["agree"].items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
