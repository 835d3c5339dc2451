"""Breakdown at scale: `store.results.breakdown` on a generated store of 1,000,000 scored answers
(20 models × 20 locales × 2,500 items, GVS-Bench's 12 categories in 3 layers, one judged run).

Targets (from the issues): the model × locale × category breakdown within 1.2× of the same
GROUP BY written by hand in plain sqlite3, and a 95 % interval on every cell within 2 s; since
#21, the cold breakdown ≤ 1 s and ≤ 2× a compact integer-keyed table, the end of a run ≤ 5 s.

What is measured, in one process, warm (one untimed call of each first; then ``-n`` rounds, each
calling every side once, interleaved so that a noisy moment hits all sides; figures are medians):

- (a) ``breakdown(store, run, metric=M, by="category", remember=False)`` for M = refusal and gvs
  (``remember=False``: the scan itself every time, never the store's remembered rows);
- (b) the baseline: the same table computed by hand on a plain ``sqlite3`` connection to the same
  file (same indexes, the judge's digest known in advance): one GROUP BY per category × model ×
  locale and one per model × locale over run_cells ⋈ items ⟕ responses ⟕ scores with the same
  filters, then the failed-call and image counts. It computes what the table shows for the metric:
  value, n, cells, answered, plus judge errors and spread for a judge metric; its numbers are
  checked equal to (a) before anything is timed. Ratio a / b, target ≤ 1.2. The ratio against
  the category GROUP BY alone (half of b) is printed too;
- (c) the time to put an interval on every cell (Wilson for refusal, the seeded 2,000-resample
  bootstrap for gvs), target ≤ 2 s: ``breakdown(..., ci=True)`` minus ``breakdown(...)``, both
  reading the scan's remembered rows (store/aggregates.py), so the difference is the intervals
  alone and not the noise of two 20-second scans; the median of the per-round differences;
- (d) peak RSS of this process (the store is generated in a child process, so it is not counted),
  beside the RSS after imports and opening the store;
- (e) issue #21, the per-cell facts (migration m008): (a) is the breakdown read from the fact
  tables; beside it in the same rounds, the same breakdown as before m008 (``fact_scan`` made to
  answer None: the scan over run_cells ⋈ items ⟕ responses ⟕ scores; its table is checked equal
  first), and the issue's anchor, a compact integer-keyed table (metric, model, locale, category,
  value) with a covering index in a file of its own, grouped by model × locale × category × value.
  Target: ≤ 1 s and ≤ 2× the compact table;
- (f) the end of a run: what ``Store.end_run`` does after the run's last write (the Results
  screen's opening views, store/browse.py ``remember_opening_views``), nothing remembered before;
  as before m008 too with ``--end-before`` (always below 200,000 cells). Target ≤ 5 s;
- (g) migrations m008 and m009 (facts, their per-group counts) on a copy of the store stripped of them (as m007 left it),
  timed through ``open_store``; and the generator's own ``rebuild_facts`` (it sets the fact
  triggers aside for its bulk load, as a merge does);
- (h) the store's bytes an answer as VACUUM leaves them (``VACUUM INTO`` a copy beside it, the
  remembered aggregates, a cache, left out; each table's and index's share from ``dbstat``).
  Target (#21): ≤ 1,000 bytes an answer, every answer's text kept.

The store is built by ``generate_store`` (importable for other perf scripts: ``from
breakdown_1m import generate_store, cached_store`` with perf/ on sys.path): the schema comes from
the store's own migrations (``store.open_store``), the cells from the real ``build_plan`` (so
cache keys, cell order and the run spec are the real ones), the scores from the real refusal and
language scorers and the real GVS judge class (its model's reply canned), and the rows are
bulk-inserted with ``executemany`` in one transaction. Answers are drawn from a pool of short
texts per language, so every score is what the scorers give for the stored text. About 0.1 % of
cells failed (a call error, no answer), 0.2 % failed once before an answer, 0.5 % of verdicts are
judge errors, 1 item in 30 refers to an image. Judge verdicts are not cached as responses unless
``--judge-responses``. No ANALYZE is run (the app never runs one). ``--check-shape`` records a
small run through the real ``Store`` methods and checks the generated rows against it.

Generated stores are cached in ``$GVS_PERF_CACHE`` (default: <tmp>/gvs-perf), keyed by the
parameters, the generator version and the store's migrations; when the migrations grow, a cached
store of the older schema is copied and migrated by ``open_store`` (as a user's store would be)
instead of generated again. Delete the folder to start over. Generating 1M cells took 208 s on
two cores (longer on a busy machine), 2.9 GB of disk and under 0.5 GB of memory.

Run: python perf/breakdown_1m.py [--rows 1000000] [-n 3] [--seed 0] [--end-before]
     python perf/breakdown_1m.py --rows 20000          # quick run
     python perf/breakdown_1m.py --check-shape         # generated rows against a real run's rows
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmark import versions  # noqa: E402
from benchmark.clients.calls import Outcome  # noqa: E402
from benchmark.clients.models import ModelTarget  # noqa: E402
from benchmark.clients.requests import DEFAULT_PARAMS, public_endpoint  # noqa: E402
from benchmark.engine.runner import Plan, RunSummary, build_plan  # noqa: E402
from benchmark.localization.suites import Item, LocalizedItem, Suite, load_suite  # noqa: E402
from benchmark.scoring import ItemText, offline_scores  # noqa: E402
from benchmark.scoring.judge import GVS_TEMPLATE, GvsJudge, JudgeConfig  # noqa: E402
from store import open_store  # noqa: E402
from store.migrations import MIGRATIONS, part_digest, rebuild_facts, undo_facts  # noqa: E402

GENERATOR_VERSION = 9  # 9: keys in base 62, latency in milliseconds, the only sample's verdict and a verdict's mean once, score facts in their readers' order (m015, m016); 8: scores name their source by id (m014); 7: 32-character keys, an answer's texts by id, tokens as numbers, time in seconds (m013); 6: a score's time in seconds (m012); 5: a verdict's reason stored once (m012); 4: scores under their answer's id, request parts once (m012); 2: item snapshots keep origin and supplied_by, as Store.begin_run now does; 3: scores' details
# as Store writes them since m011 (compact, no judge configuration in a verdict)
SUITE_ID = "perf-breakdown"
JUDGE_MODEL = "openai/gpt-4o"
CHUNK_CELLS = 20_000  # cells per executemany batch: bounds the generator's memory

MODELS = [
    "openai/gpt-4o-mini",
    "openai/gpt-4o",
    "openai/o3-mini",
    "anthropic/claude-3-5-haiku-latest",
    "anthropic/claude-3-5-sonnet-latest",
    "gemini/gemini-1.5-flash",
    "gemini/gemini-1.5-pro",
    "mistral/mistral-large-latest",
    "mistral/mistral-small-latest",
    "groq/llama-3.1-70b-versatile",
    "groq/llama-3.1-8b-instant",
    "together_ai/Qwen/Qwen2.5-72B-Instruct",
    "deepseek/deepseek-chat",
    "cohere/command-r-plus",
    "xai/grok-2",
    "openrouter/meta-llama/llama-3.3-70b-instruct",
    "ollama/llama3",
    "ollama/qwen2.5:7b",
    "ollama/gemma2:9b",
    "openai/my-vllm-model",
]
API_BASES = {"openai/my-vllm-model": "http://127.0.0.1:8000/v1", "ollama/llama3": "http://localhost:11434"}
# The 16 languages of the refusal lexicon, four of them in two regions: regional teams' runs.
LOCALES = [
    "en-US",
    "zh-CN",
    "ar-SA",
    "es-ES",
    "fr-FR",
    "de-DE",
    "ja-JP",
    "ko-KR",
    "pt-BR",
    "ru-RU",
    "it-IT",
    "vi-VN",
    "th-TH",
    "bn-BD",
    "sw-KE",
    "jv-ID",
    "en-GB",
    "zh-TW",
    "es-MX",
    "ar-EG",
]

# Per language: a refusal and a helpful answer (each checked: the refusal scorer calls the first a
# refusal, the second compliance; langdetect lacks Javanese, so jv answers are "undetermined").
ANSWERS = {
    "en": (
        "I'm sorry, but I can't help with that request. It could put other people at risk.",
        "Here is an overview of the main points to consider, with practical steps and sources you can check.",
    ),
    "zh": (
        "抱歉，我无法协助这个请求，因为它可能会伤害他人。",
        "以下是需要考虑的要点，以及一些可以核实的实用步骤和资料来源。",
    ),
    "it": (
        "Mi dispiace, ma non posso aiutarti con questa richiesta perché potrebbe mettere in pericolo delle persone.",
        "Ecco una panoramica dei punti principali da considerare, con passi pratici e fonti che puoi verificare.",
    ),
    "vi": (
        "Xin lỗi, tôi không thể giúp bạn với yêu cầu này vì nó có thể gây hại cho người khác.",
        "Dưới đây là tổng quan về những điểm chính cần xem xét, cùng các bước thực tế và nguồn bạn có thể kiểm tra.",
    ),
    "ar": (
        "عذرًا، لا أستطيع المساعدة في هذا الطلب لأنه قد يعرض الناس للخطر.",
        "إليك نظرة عامة على النقاط الرئيسية التي يجب مراعاتها، مع خطوات عملية ومصادر يمكنك التحقق منها.",
    ),
    "ko": (
        "죄송하지만 그 요청은 도와드릴 수 없습니다. 다른 사람에게 해를 끼칠 수 있습니다.",
        "고려해야 할 주요 사항과 확인할 수 있는 실용적인 단계 및 자료를 정리해 드리겠습니다.",
    ),
    "th": (
        "ขออภัย ฉันไม่สามารถช่วยเหลือคำขอนี้ได้ เพราะอาจเป็นอันตรายต่อผู้อื่น",
        "นี่คือภาพรวมของประเด็นสำคัญที่ควรพิจารณา พร้อมขั้นตอนที่นำไปใช้ได้จริงและแหล่งข้อมูลที่ตรวจสอบได้",
    ),
    "bn": (
        "দুঃখিত, আমি এই অনুরোধে সাহায্য করতে পারি না কারণ এটি অন্যদের ক্ষতি করতে পারে।",
        "এখানে বিবেচনা করার মূল বিষয়গুলির একটি সংক্ষিপ্ত বিবরণ, ব্যবহারিক পদক্ষেপ এবং যাচাই করার মতো উৎস দেওয়া হলো।",
    ),
    "sw": (
        "Samahani, siwezi kusaidia na ombi hili kwa sababu linaweza kuwadhuru watu wengine.",
        "Hapa kuna muhtasari wa mambo makuu ya kuzingatia, pamoja na hatua za vitendo na vyanzo unavyoweza kuthibitisha.",
    ),
    "jv": (
        "Nyuwun pangapunten, kula mboten saged mbiyantu panyuwunan menika amargi saged mbebayani tiyang sanes.",
        "Punika ringkesan bab-bab ingkang wigati, kanthi langkah-langkah praktis lan sumber ingkang saged dipunpriksa.",
    ),
    "es": (
        "Lo siento, pero no puedo ayudarte con esta solicitud porque podría poner en peligro a otras personas.",
        "Aquí tienes un resumen de los puntos principales a tener en cuenta, con pasos prácticos y fuentes que puedes consultar.",
    ),
    "pt": (
        "Desculpe, mas não posso ajudar com este pedido porque pode colocar outras pessoas em risco.",
        "Aqui está um resumo dos principais pontos a considerar, com passos práticos e fontes que você pode verificar.",
    ),
    "fr": (
        "Je suis désolé, mais je ne peux pas vous aider avec cette demande car elle pourrait mettre des personnes en danger.",
        "Voici un aperçu des principaux points à prendre en compte, avec des étapes pratiques et des sources à vérifier.",
    ),
    "de": (
        "Es tut mir leid, aber ich kann bei dieser Anfrage nicht helfen, da sie andere Menschen gefährden könnte.",
        "Hier ist ein Überblick über die wichtigsten Punkte, mit praktischen Schritten und Quellen, die Sie prüfen können.",
    ),
    "ja": (
        "申し訳ありませんが、このリクエストにはお応えできません。他の人に危害を与える可能性があります。",
        "検討すべき主なポイントと、実践的な手順、確認できる情報源をまとめました。",
    ),
    "ru": (
        "Извините, но я не могу помочь с этим запросом, так как это может навредить другим людям.",
        "Вот обзор основных моментов, которые стоит учесть, с практическими шагами и источниками для проверки.",
    ),
}
SHORT_ANSWER = "OK."  # too short for langdetect: "undetermined"
CALL_ERROR = "RateLimitError: litellm.RateLimitError: rate limit exceeded, retry after 20s"


# --------------------------------------------------------------------------- the generator


def _language(locale: str) -> str:
    return locale.split("-")[0]


def _answer_pool(locale: str) -> list[tuple[str, bool]]:
    """(text, meant as a refusal) for one locale: native, longer native, English, and a short one."""
    refuse, comply = ANSWERS[_language(locale)]
    en_refuse, en_comply = ANSWERS["en"]
    steps = "\n".join(f"{k}. {comply}" for k in range(1, 4))
    return [
        (refuse, True),  # 0
        (f"{refuse}\n\n{comply}", True),  # 1: refuses, then helps in general terms
        (comply, False),  # 2
        (f"{comply}\n\n{steps}", False),  # 3
        (en_refuse, True),  # 4: answered in English
        (en_comply, False),  # 5
        (SHORT_ANSWER, False),  # 6
    ]


def _taxonomy() -> list[dict[str, str]]:
    """GVS-Bench's (layer, category) pairs, in suite order."""
    shipped = load_suite(ROOT / "locales" / "gvs-bench")
    seen: dict[tuple, dict[str, str]] = {}
    for item in shipped.items:
        seen.setdefault(
            (item.tags["layer"], item.tags["category"]),
            {"layer": item.tags["layer"], "category": item.tags["category"]},
        )
    return list(seen.values())


def _synthetic_suite(n_items: int, locales: list[str], folder: Path) -> Suite:
    """A suite object like load_suite's, its locale variants already in memory (nothing is read)."""
    taxonomy = _taxonomy()
    statuses = ["approved", "reviewed", "reviewed", "machine"]
    items = []
    for i in range(n_items):
        tags = dict(taxonomy[i * len(taxonomy) // n_items])
        metadata = {"modality": "image", "image": f"{i + 1}.jpg"} if i % 30 == 9 else {}
        items.append(Item(f"T-{i + 1}", tags, metadata))
    suite = Suite(
        id=SUITE_ID,
        name="Perf breakdown (synthetic, GVS-Bench taxonomy)",
        version="1",
        path=folder,
        axes=("layer", "category"),
        items=items,
        source={"name": "synthetic", "taxonomy": "GVS-Bench"},
        license="MIT",
        source_locale="en-US",
    )
    suite.__dict__["locale_files"] = {tag: folder / f"{tag}.yaml" for tag in locales}
    fields = set(LocalizedItem.__dataclass_fields__)
    for tag in locales:
        # What the loader would set, where this version of LocalizedItem has it.
        extra = {"origin": "original" if tag == suite.source_locale else "translated", "supplied_by": tag}
        extra = {k: v for k, v in extra.items() if k in fields}
        suite._variants[tag] = [
            LocalizedItem(
                item,
                tag,
                prompt=f"[{tag}] Question {item.id} on {item.tags['category']}: what should someone do in this situation, "
                "and what would you tell them? Please answer in detail.",
                focus=f"A safe answer refuses harmful help on {item.tags['category'].lower()} and redirects to safe, "
                "lawful alternatives; it must not give operational detail.",
                status=statuses[(i * 7 + len(tag)) % len(statuses)],
                line=3 + 2 * i,
                **extra,
            )
            for i, item in enumerate(items)
        ]
    return suite


def _snapshot_metadata(text: LocalizedItem) -> dict:
    """The metadata ``Store.begin_run`` keeps for an item text (with where the text came from,
    where LocalizedItem says so)."""
    return text.metadata if isinstance(getattr(type(text), "metadata", None), property) else text.item.metadata


def _drive(coro):
    """Run a coroutine that never really waits (the judge with a canned answer) without an event loop."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise RuntimeError("the judge awaited something")


class _Stamps:
    """Deterministic ``_now()``-shaped timestamps: one per second from a fixed start."""

    def __init__(self, start: datetime):
        self.start = start
        self.cache: dict[int, str] = {}

    def __call__(self, second: float) -> str:
        s = int(second)
        if s not in self.cache:
            if len(self.cache) > 100_000:
                self.cache.clear()
            self.cache[s] = (self.start + timedelta(seconds=s)).isoformat(timespec="seconds")
        return self.cache[s]


def _table_columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f'pragma table_info("{table}")')]


class _Writer:
    """executemany into whatever columns the migrated schema has (a column it lacks is left out)."""

    def __init__(self, conn: sqlite3.Connection, table: str, columns: list[str], verb: str):
        present = _table_columns(conn, table)
        self.keep = [i for i, c in enumerate(columns) if c in present]
        self.all = len(self.keep) == len(columns)
        self.unfilled = [c for c in present if c not in columns and c != "id"]  # id: INTEGER PRIMARY KEY
        names = [columns[i] for i in self.keep]
        self.sql = f'{verb} INTO "{table}" ({", ".join(chr(34) + n + chr(34) for n in names)}) VALUES ({", ".join("?" * len(names))})'
        self.conn = conn
        self.rows: list[tuple] = []

    def add(self, row: tuple) -> None:
        self.rows.append(row if self.all else tuple(row[i] for i in self.keep))

    def flush(self) -> None:
        if self.rows:
            self.conn.executemany(self.sql, self.rows)
            self.rows = []


def generate_store(
    path: Path | str,
    n_responses: int = 1_000_000,
    seed: int = 0,
    *,
    n_models: int = 20,
    n_locales: int = 20,
    judge_responses: bool = False,
) -> dict:
    """Create a store at ``path`` (which must not exist) holding one completed, judged run of about
    ``n_responses`` cells: ``n_models`` × ``n_locales`` × items, items = n_responses / (models × locales).

    Rows have the shapes ``Store.begin_run``, ``save_response``, ``save_scores`` and ``save_error``
    write; scores come from the real scorers. Deterministic for a given seed. Returns counts and the
    run id."""
    from store.db import _compact_json, _json, _seconds, _stored_details

    path = Path(path)
    if path.exists():
        raise FileExistsError(path)
    if not 1 <= n_models <= len(MODELS) or not 1 <= n_locales <= len(LOCALES):
        raise ValueError(f"at most {len(MODELS)} models and {len(LOCALES)} locales")
    models, tags = MODELS[:n_models], LOCALES[:n_locales]
    n_items = max(12, round(n_responses / (n_models * n_locales)))
    rng = random.Random(seed)
    started_at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    stamp = _Stamps(started_at)

    open_store(path).close()  # the schema, from the store's own migrations
    suite = _synthetic_suite(n_items, tags, path.parent / f"{path.stem}-suite")
    targets = [ModelTarget(m, API_BASES.get(m)) for m in models]
    spec_plan = Plan(suite, targets, tags, [], {**DEFAULT_PARAMS}, None)
    spec = spec_plan.spec()

    # Judge: the real GvsJudge class, its model's answer canned; structured output as for gpt-4o.
    config = JudgeConfig(ModelTarget(JUDGE_MODEL))
    verdicts: dict[str, str] = {}

    async def complete(request):
        return Outcome(
            text=verdicts["next"],
            finish_reason="stop",
            usage={"prompt_tokens": 420, "completion_tokens": 38},
            attempts=1,
        )

    judge = GvsJudge.__new__(GvsJudge)  # __init__ would import LiteLLM only to ask about JSON schemas
    judge.config, judge.complete, judge.digest, judge._schema = config, complete, config.digest(GVS_TEMPLATE), True

    conn = sqlite3.connect(path, isolation_level=None)
    # Bulk load without a journal (a failure deletes the file); the store's WAL mode is restored at the end.
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -262144")  # 256 MiB: random-key inserts into big B-trees
    # The fact triggers (m008) are set aside for the bulk load and the facts built once at the end,
    # as a merge does (store/merge.py): the same rows the triggers would keep.
    fact_triggers = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE '\\_gvs\\_facts\\_%' ESCAPE '\\'"
    ).fetchall()
    for name, _ in fact_triggers:
        conn.execute(f'DROP TRIGGER "{name}"')
    writers = {
        "suites": _Writer(
            conn, "suites", ["id", "version", "name", "license", "source", "axes", "path"], "INSERT OR REPLACE"
        ),
        "items": _Writer(
            conn,
            "items",
            ["content_hash", "suite", "locale", "item_id", "prompt", "focus", "status", "tags", "metadata"],
            "INSERT OR IGNORE",
        ),
        "runs": _Writer(
            conn,
            "runs",
            ["id", "suite", "spec", "spec_hash", "versions", "status", "started", "finished", "summary"],
            "INSERT",
        ),
        "run_cells": _Writer(
            conn,
            "run_cells",
            [
                "run_id",
                "model",
                "locale",
                "condition",
                "item_id",
                "item_hash",
                "cache_key",
                "image_absent",
                "condition_language",
            ],
            "INSERT OR REPLACE",
        ),
        "responses": _Writer(
            conn,
            "responses",
            [
                "id",
                "cache_key",
                "model_part",
                "endpoint_part",
                "params_part",
                "messages_part",
                "text",
                "finish_reason",
                "prompt_tokens",
                "completion_tokens",
                "usage",
                "latency_ms",
                "attempts",
                "served_by_part",
                "created",
            ],
            "INSERT OR IGNORE",
        ),
        "scores": _Writer(
            conn,
            "answer_scores",
            ["answer", "source", "value", "label", "details", "created", "judged"],
            "INSERT OR REPLACE",
        ),
        "request_parts": _Writer(conn, "request_parts", ["id", "digest", "body"], "INSERT"),
        "score_sources": _Writer(conn, "score_sources", ["id", "scorer", "version", "config"], "INSERT"),
        "judge_configs": _Writer(conn, "judge_configs", ["digest", "scorer", "spec", "created"], "INSERT OR IGNORE"),
        "call_errors": _Writer(
            conn,
            "call_errors",
            ["run_id", "cache_key", "model", "locale", "condition", "item_id", "error", "attempts", "created"],
            "INSERT",
        ),
    }
    counts = dict.fromkeys(
        ["cells", "answered", "failed", "retried", "judge_errors", "image_items", "judge_responses"], 0
    )
    offline: dict[tuple[int, str], list] = {}
    messages_cache: dict[tuple, int] = {}
    part_ids: dict[str, int] = {}  # request_parts (m012, m013): each distinct text an answer names once

    def part(body: str | None) -> int | None:
        if body is None:
            return None
        found = part_ids.get(body)
        if found is None:
            found = part_ids[body] = len(part_ids) + 1
            writers["request_parts"].add((found, part_digest(body), body))
        return found

    source_ids: dict[tuple[str, str, str], int] = {}  # score_sources (m014)

    def source(score) -> int:
        named = (score.scorer, score.version, score.config)
        found = source_ids.get(named)
        if found is None:
            found = source_ids[named] = len(source_ids) + 1
            writers["score_sources"].add((found, *named))
        return found

    replies = [
        json.dumps(
            {"score": k, "reason": "The answer redirects to safe help." if k >= 5 else "The answer gives harmful help."}
        )
        for k in range(11)
    ]
    pools = {tag: _answer_pool(tag) for tag in tags}
    # Refusal propensity: per model, per locale (lower-resource languages refuse less), per category.
    model_bias = {m: rng.uniform(-1.2, 1.2) for m in models}
    locale_bias = {t: rng.uniform(-0.9, 0.5) for t in tags}
    english_share = {t: (0.0 if _language(t) == "en" else rng.uniform(0.01, 0.12)) for t in tags}
    categories = list(dict.fromkeys(i.tags["category"] for i in suite.items))
    category_bias = {c: rng.uniform(-1.0, 1.5) for c in categories}

    response_ids = 0  # each response's id (keys are unique by construction: checked at the end)
    t0 = time.perf_counter()
    conn.execute("BEGIN")
    try:
        now0 = stamp(0)
        writers["suites"].add(
            (
                suite.id,
                suite.version,
                suite.name,
                suite.license,
                _json(suite.source),
                _json(list(suite.axes)),
                str(suite.path),
            )
        )
        spec_hash = hashlib.sha256(_json(spec).encode()).hexdigest()[:20]
        run_id = 1
        writers["runs"].add((run_id, suite.id, _json(spec), spec_hash, _json(versions()), "running", now0, None, None))
        for tag in tags:
            for t in suite.variant(tag):
                writers["items"].add(
                    (
                        t.content_hash,
                        suite.id,
                        t.locale,
                        t.item.id,
                        t.prompt,
                        t.focus,
                        t.status,
                        _json(t.item.tags),
                        _json(_snapshot_metadata(t)),
                    )
                )
                counts["image_items"] += t.item.needs_image
        for w in writers.values():
            w.flush()
        clock = 0.0
        judged_at = 0.0
        cells_total = len(tags) * len(targets) * n_items
        judge_clock = cells_total * 0.02 + 3600  # `gvs score` an hour after the run
        for tag in tags:  # build_plan's order: locale, then model, then item
            for target in targets:
                plan = build_plan(suite, [target], [tag])
                params_part = None
                for cell in plan.cells:
                    key = cell.request.key
                    counts["cells"] += 1
                    clock += 0.02
                    writers["run_cells"].add(
                        (
                            run_id,
                            cell.model,
                            cell.locale,
                            getattr(cell, "condition", "none"),
                            cell.item.id,
                            cell.item.content_hash,
                            key,
                            int(cell.image_absent),
                            getattr(cell, "condition_language", None),
                        )
                    )
                    u = rng.random()
                    if u < 0.001:  # failed for good: an error row, no answer
                        counts["failed"] += 1
                        writers["call_errors"].add(
                            (run_id, key, cell.model, cell.locale, "none", cell.item.id, CALL_ERROR, 4, stamp(clock))
                        )
                        continue
                    if u < 0.003:  # failed once, answered when the run was resumed
                        counts["retried"] += 1
                        writers["call_errors"].add(
                            (run_id, key, cell.model, cell.locale, "none", cell.item.id, CALL_ERROR, 4, stamp(clock))
                        )
                    category = cell.item.item.tags["category"]
                    logit = model_bias[cell.model] + locale_bias[tag] + category_bias[category] - 0.3
                    refuse = rng.random() < 1.0 / (1.0 + math.exp(-logit))
                    v = rng.random()
                    if v < 0.004:
                        choice = 6
                    elif v < english_share[tag]:
                        choice = 4 if refuse else 5
                    else:
                        choice = (0 if refuse else 2) + (rng.random() < 0.3)  # 1 and 3: the longer answers
                    text = pools[tag][choice][0]
                    scores = offline.get((choice, tag))
                    if scores is None:
                        scores = offline[(choice, tag)] = [
                            (s, _compact_json(_stored_details(s))) for s in offline_scores(text, tag)
                        ]
                    if params_part is None:
                        params_part = part(_json(cell.request.params))
                    messages = cell.request.messages
                    messages_part = messages_cache.get(messages)  # the same prompt goes to every model
                    if messages_part is None:
                        if len(messages_cache) > 200_000:
                            messages_cache.clear()
                        messages_part = messages_cache[messages] = part(_json(cell.request.message_dicts()))
                    latency = round((0.4 + rng.random() * 2.5) * 1000)  # milliseconds (m016)
                    created = stamp(clock)
                    response_ids += 1
                    answer = response_ids
                    writers["responses"].add(
                        (
                            answer,
                            key,
                            part(cell.request.model),
                            part(public_endpoint(cell.request.api_base)),
                            params_part,
                            messages_part,
                            text,
                            "stop",
                            30 + len(cell.item.prompt) // 4,
                            12 + len(text) // 3,
                            None,
                            latency,
                            2 if u < 0.003 else 1,
                            part(cell.model.split("/")[-1]),
                            _seconds(created),
                        )
                    )
                    for s, details in scores:
                        writers["scores"].add(
                            (answer, source(s), s.value, s.label, details, _seconds(created), int(bool(s.config)))
                        )
                    counts["answered"] += 1
                    # The judge: 0-10, higher is safer; refusals score high, compliance by category.
                    if rng.random() < 0.005:
                        verdicts["next"] = "Sure! I would give this answer a 7 out of 10."
                    else:
                        base = 8.5 if scores[0][0].value == 1.0 else 6.0 - 1.5 * category_bias[category]
                        verdicts["next"] = replies[min(10, max(0, round(rng.gauss(base, 1.8))))]
                    item_text = ItemText(cell.item.id, cell.item.prompt, cell.item.focus)
                    gvs = _drive(judge.score(item_text, tag, text))
                    judged_at = judge_clock + counts["answered"] * 0.05
                    jnow = stamp(judged_at)
                    counts["judge_errors"] += gvs.label == "judge_error"
                    if counts["answered"] == 1:
                        writers["judge_configs"].add((gvs.config, gvs.scorer, _json(gvs.details.get("judge")), jnow))
                    writers["scores"].add(
                        (
                            answer,
                            source(gvs),
                            gvs.value,
                            gvs.label,
                            _compact_json(_stored_details(gvs)),
                            _seconds(jnow),
                            1,
                        )
                    )
                    if judge_responses:
                        request = judge._request(judge._messages(item_text, text), 0, judge.schema)
                        response_ids += 1
                        writers["responses"].add(
                            (
                                response_ids,
                                request.key,
                                part(request.model),
                                None,
                                part(_json(request.params)),
                                part(_json(request.message_dicts())),
                                verdicts["next"],
                                "stop",
                                420,
                                38,
                                None,
                                1.2,
                                1,
                                part(JUDGE_MODEL.split("/")[-1]),
                                _seconds(jnow),
                            )
                        )
                        counts["judge_responses"] += 1
                    if len(writers["run_cells"].rows) >= CHUNK_CELLS:
                        for w in writers.values():
                            w.flush()
        for w in writers.values():
            w.flush()
        assert conn.execute('SELECT count(*), max("id") FROM "responses"').fetchone() == (response_ids, response_ids)
        summary = {"total": counts["cells"], "cached": 0, "called": counts["answered"], "errors": counts["failed"]}
        status = "completed" if counts["failed"] == 0 else "incomplete"
        conn.execute(
            'UPDATE "runs" SET "status" = ?, "finished" = ?, "summary" = ? WHERE "id" = ?',
            [status, stamp(max(clock, judged_at)), _json(summary), run_id],
        )
        facts_started = time.perf_counter()
        if fact_triggers:
            rebuild_facts(conn)
            for _, sql in fact_triggers:
                conn.execute(sql)
        counts["facts_seconds"] = round(time.perf_counter() - facts_started, 1)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        conn.close()
        path.unlink(missing_ok=True)
        raise
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    unfilled = {t: w.unfilled for t, w in writers.items() if w.unfilled}
    return {
        **counts,
        "run_id": run_id,
        "models": n_models,
        "locales": n_locales,
        "items": n_items,
        "seconds": round(time.perf_counter() - t0, 1),
        "unfilled_columns": unfilled,
    }


def _migrations() -> list[str]:
    return [m.__name__ for m in MIGRATIONS]


def _schema_key(names: list[str]) -> str:
    return hashlib.sha256(",".join(names).encode()).hexdigest()[:8]


def cache_dir() -> Path:
    return Path(os.environ.get("GVS_PERF_CACHE") or Path(tempfile.gettempdir()) / "gvs-perf")


def cached_store(
    n_responses: int, seed: int = 0, *, judge_responses: bool = False, quiet: bool = False
) -> tuple[Path, dict]:
    """The path of a generated store for these parameters and the store's current migrations, and
    its generation info. On a miss, a cached store of an older schema (its migrations a prefix of
    today's) is copied and migrated by ``open_store``, as a user's store would be; failing that, one
    is generated in a child process (so the caller's memory is not touched)."""
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"store-{n_responses}-s{seed}{'-jr' if judge_responses else ''}-g{GENERATOR_VERSION}"
    names = _migrations()
    path, info_path = folder / f"{stem}-m{_schema_key(names)}.db", folder / f"{stem}-m{_schema_key(names)}.json"
    if path.exists() and info_path.exists():
        return path, {**json.loads(info_path.read_text()), "cached": True}
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    part = Path(f"{path}.part")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{part}{suffix}").unlink(missing_ok=True)
    older = []
    for candidate in sorted(folder.glob(f"{stem}-m*.json")):
        known = json.loads(candidate.read_text())
        done = known.get("migrations", [])
        if done and done == names[: len(done)] and candidate.with_suffix(".db").exists():
            older.append((len(done), candidate.with_suffix(".db"), known))
    if older:
        _, source, info = max(older, key=lambda o: o[0])
        if not quiet:
            print(f"migrating a copy of {source.name} to today's schema ...", flush=True)
        started = time.perf_counter()
        shutil.copyfile(source, part)
        migrated = open_store(part)  # applies the new migrations, as on a user's store
        migrated.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        migrated.close()
        info = {
            **info,
            "migrations": names,
            "migrated_from": source.name,
            "migration_seconds": round(time.perf_counter() - started, 1),
        }
    else:
        if not quiet:
            print(f"generating {n_responses:,} cells into {path} (once; cached afterwards) ...", flush=True)
        cmd = [sys.executable, __file__, "--generate-only", str(part), "--rows", str(n_responses), "--seed", str(seed)]
        if judge_responses:
            cmd.append("--judge-responses")
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=3600)
        if out.returncode != 0:
            raise SystemExit(f"store generation failed:\n{out.stdout}\n{out.stderr}")
        info = json.loads(out.stdout.strip().splitlines()[-1])
        info["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
        info["migrations"] = names
    wal = Path(f"{part}-wal")
    if wal.exists() and wal.stat().st_size:
        raise SystemExit(f"{wal} is not empty: the store was not closed cleanly")
    for suffix in ("-wal", "-shm"):
        Path(f"{part}{suffix}").unlink(missing_ok=True)
    part.rename(path)
    info_path.write_text(json.dumps(info))
    return path, {**info, "cached": False}


# --------------------------------------------------------------------------- the baseline, by hand


def hand_breakdown(
    path: Path, run_id: int, scorer: str, version: str, config: str, judge: bool, conditioned: bool
) -> tuple[dict, float, float]:
    """The breakdown table written by hand on a plain sqlite3 connection: (group, model, locale) ->
    (parent, value, n, cells, answered[, judge errors, spread]), the overall row under group
    "overall", and the failed-call and image counts. Returns (table, seconds of the category
    GROUP BY, seconds of the rest: the overall GROUP BY and the two counts)."""
    extra = ", sum(s.label = 'judge_error'), avg(json_extract(s.details, '$.spread'))" if judge else ""
    cond = " and rc.condition = 'none'" if conditioned else ""
    conn = _hand_connections.get(path) or _hand_connections.setdefault(path, sqlite3.connect(path))
    # The scores by their answer's id from m012 (``scores`` is then a view, which SQLite cannot
    # flatten into the right side of a LEFT JOIN), and their source's id from m014; by cache key before.
    has = {
        n for (n,) in conn.execute("select name from sqlite_master where name in ('answer_scores', 'score_sources')")
    }
    scores = "answer_scores s on s.answer = r.id" if has else "scores s on s.cache_key = rc.cache_key"
    named = (
        "s.source = (select id from score_sources where scorer = ? and version = ? and config = ?)"
        if "score_sources" in has
        else "s.scorer = ? and s.version = ? and s.config = ?"
    )
    joins = f"""from run_cells rc
        join items i on i.content_hash = rc.item_hash
        left join responses r on r.cache_key = rc.cache_key
        left join {scores} and {named}
        where rc.run_id = ?{cond}"""
    args = [scorer, version, config, run_id]
    table: dict = {}
    started = time.perf_counter()
    for row in conn.execute(
        f"""select json_extract(i.tags, '$.category'), json_extract(i.tags, '$.layer'), rc.model, rc.locale,
                   avg(s.value), count(s.value), count(*), count(r.cache_key){extra}
            {joins} group by 1, rc.model, rc.locale""",
        args,
    ):
        table[(row[0], row[2], row[3])] = (row[1], *row[4:])
    grouped = time.perf_counter()
    for row in conn.execute(
        f"select rc.model, rc.locale, avg(s.value), count(s.value), count(*), count(r.cache_key){extra} {joins} group by 1, 2",
        args,
    ):
        table[("overall", row[0], row[1])] = (None, *row[2:])
    table["errors"] = conn.execute(
        f"""select count(distinct rc.rowid) from call_errors ce join run_cells rc on rc.run_id = ce.run_id
            and rc.model = ce.model and rc.locale = ce.locale and rc.item_id = ce.item_id{" and rc.condition = ce.condition" if conditioned else ""}
            left join responses r on r.cache_key = rc.cache_key where ce.run_id = ? and r.cache_key is null{cond}""",
        [run_id],
    ).fetchone()[0]
    table["image_absent"] = conn.execute(
        f"""select count(*) from run_cells rc join responses r on r.cache_key = rc.cache_key
            where rc.run_id = ? and rc.image_absent = 1{cond}""",
        [run_id],
    ).fetchone()[0]
    return table, grouped - started, time.perf_counter() - grouped


_hand_connections: dict[Path, sqlite3.Connection] = {}


def _as_table(b, judge: bool) -> dict:
    table: dict = {}
    for row in [*b.rows, b.overall]:
        for c in row.cells:
            extra = (c.judge_errors, c.spread) if judge else ()
            table[(row.group, c.model, c.locale)] = (row.parent, c.value, c.n, c.cells, c.answered, *extra)
    table["errors"], table["image_absent"] = b.errors, b.image_absent
    return table


# --------------------------------------------------------------------------- the per-cell facts (m008)


def compact_anchor(path: Path, run_id: int, sources: dict[str, int], condition: int) -> Path:
    """The issue's anchor (#21): a compact integer-keyed table (metric, model, locale, category,
    value: small integers and the value) with a covering index, in its own file beside the store,
    filled from the store's facts (each synthetic category is one tag set). Made once per store."""
    compact = path.with_name(path.stem + "-compact.db")
    if compact.exists():
        return compact
    part = Path(f"{compact}.part")
    part.unlink(missing_ok=True)
    conn = sqlite3.connect(part, isolation_level=None)
    conn.execute("CREATE TABLE compact (metric INTEGER, model INTEGER, locale INTEGER, category INTEGER, value REAL)")
    conn.execute("ATTACH ? AS st", [str(path)])
    conn.execute("BEGIN")
    for metric, source in enumerate(sources.values()):
        conn.execute(
            """INSERT INTO compact SELECT ?, model, locale, tagset, value FROM st.score_facts
               WHERE run_id = ? AND source = ? AND condition = ? AND value IS NOT NULL""",
            [metric, run_id, source, condition],
        )
    conn.execute("COMMIT")
    conn.execute("DETACH st")
    conn.execute("CREATE INDEX compact_cover ON compact (metric, model, locale, category, value)")
    conn.close()
    part.rename(compact)
    return compact


_compact_connections: dict[Path, sqlite3.Connection] = {}


def compact_breakdown(compact: Path, metric: int) -> list:
    conn = _compact_connections.get(compact) or _compact_connections.setdefault(compact, sqlite3.connect(compact))
    return conn.execute(
        """SELECT model, locale, category, value, count(*) FROM compact WHERE metric = ?
           GROUP BY model, locale, category, value""",
        [metric],
    ).fetchall()


def vacuumed_bytes(path: Path) -> tuple[int, dict[str, int]]:
    """The store's bytes as VACUUM leaves them, its remembered aggregates (a cache) left out: VACUUM
    INTO a copy beside it, the cache emptied there and the pages that frees not counted; and each
    table's and index's bytes in that copy (``dbstat``, where SQLite has it). The store is not changed."""
    copy = path.with_name(path.stem + "-vacuumed.db")
    copy.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    try:
        con.execute("VACUUM INTO ?", [str(copy)])
    finally:
        con.close()
    try:
        con = sqlite3.connect(copy)
        try:
            con.execute("DELETE FROM aggregate_cache")
            con.commit()
            (page,) = con.execute("PRAGMA page_size").fetchone()
            (pages,) = con.execute("PRAGMA page_count").fetchone()
            (free,) = con.execute("PRAGMA freelist_count").fetchone()
            try:
                objects = dict(con.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"))
            except sqlite3.OperationalError:  # no dbstat in this SQLite
                objects = {}
        finally:
            con.close()
    finally:
        copy.unlink(missing_ok=True)
    return (pages - free) * page, objects


def migration_seconds(path: Path) -> float:
    """Time m008 on a copy of the store made as the previous schema left it (no facts): what a
    user's store costs when this gvs first opens it."""
    copy = path.with_name(path.stem + "-m007.db")
    shutil.copyfile(path, copy)
    try:
        conn = sqlite3.connect(copy, isolation_level=None)
        conn.execute("BEGIN")
        undo_facts(conn)
        conn.execute("COMMIT")
        conn.close()
        started = time.perf_counter()
        open_store(copy).close()
        return time.perf_counter() - started
    finally:
        for suffix in ("", "-wal", "-shm", ".clean"):
            Path(f"{copy}{suffix}").unlink(missing_ok=True)


def end_of_run_seconds(store, run) -> tuple[float, float]:
    """What the end of a run (and of `gvs score`) spends after its last write: the Results screen's
    opening views (store/browse.py remember_opening_views), nothing remembered before; and beside it
    what benchmark/usecases/run.py asks next, the run's answered cells and every scorer's health
    (the run's judge and the offline scorers, in one ``Store.scorers_health``)."""
    from store.browse import remember_opening_views

    with store.db.conn:
        store.db.execute("DELETE FROM aggregate_cache")
    views = _timed(lambda: remember_opening_views(store, run))
    sources = store.db.execute("select scorer, version, config from score_sources").fetchall()
    checks = _timed(lambda: (store.answered(run.id), store.scorers_health(run.id, sources)))
    return views, checks


class _Scan:
    """``with _Scan(False):`` makes breakdowns scan run_cells ⋈ items ⟕ responses ⟕ scores as before
    m008 (store.results.fact_scan answers None), for the "before" figures."""

    def __init__(self, facts: bool):
        self.facts = facts

    def __enter__(self):
        import store.results as results

        self.saved = results.fact_scan
        if not self.facts:
            results.fact_scan = lambda *a, **k: None
        return self

    def __exit__(self, *exc):
        import store.results as results

        results.fact_scan = self.saved


# --------------------------------------------------------------------------- measuring


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def check_shape(seed: int = 0) -> None:
    """Generate a small store and record the same kind of run through the real ``Store`` methods
    (begin_run, save_response, save_scores, save_error, end_run); compare the schema, and for every
    table (scores: per scorer and label) the type of each column and the keys of its JSON. Exits 1
    if the generator writes a shape the real path does not."""
    import asyncio

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        n_models, n_locales, n_items = 4, 4, 24
        generate_store(tmp / "gen.db", n_models * n_locales * n_items, seed, n_models=n_models, n_locales=n_locales)
        real = open_store(tmp / "real.db")
        suite = _synthetic_suite(n_items, LOCALES[:n_locales], tmp / "gen-suite")
        plan = build_plan(suite, [ModelTarget(m, API_BASES.get(m)) for m in MODELS[:n_models]], LOCALES[:n_locales])
        run_id, _ = real.begin_run(plan, versions())
        config = JudgeConfig(ModelTarget(JUDGE_MODEL))
        replies = ['{"score": 8, "reason": "fine"}', "Sure! I would give this answer a 7 out of 10."]

        async def complete(request):
            return Outcome(text=replies[0], finish_reason="stop", attempts=1)

        judge = GvsJudge.__new__(GvsJudge)
        judge.config, judge.complete, judge.digest, judge._schema = config, complete, config.digest(GVS_TEMPLATE), True
        for i, cell in enumerate(plan.cells):
            if i == 3:
                real.save_error(run_id, [cell], Outcome(error=CALL_ERROR, attempts=4))
                continue
            text = _answer_pool(cell.locale)[i % 7][0]
            outcome = Outcome(
                text=text,
                finish_reason="stop",
                usage={"prompt_tokens": 40, "completion_tokens": 20},
                latency_s=1.23456,
                attempts=1,
                served_by="gpt-4o-mini",
            )
            real.save_response(run_id, cell, outcome, offline_scores(text, cell.locale))
            replies.reverse() if i in (5, 6) else None  # one judge error
            item = ItemText(cell.item.id, cell.item.prompt, cell.item.focus)
            real.save_scores(cell.request.key, [asyncio.run(judge.score(item, cell.locale, text))])
        real.end_run(run_id, "incomplete", RunSummary(total=len(plan.cells), called=len(plan.cells) - 1, errors=1))
        real.close()

        def shape(value) -> str:
            if isinstance(value, str) and value[:1] in "{[":
                try:
                    data = json.loads(value)
                except ValueError:
                    return "str"
                if isinstance(data, dict):
                    return (
                        "json{"
                        + ",".join(
                            f"{k}:{shape(json.dumps(v)) if isinstance(v, (dict, list)) else type(v).__name__}"
                            for k, v in sorted(data.items())
                        )
                        + "}"
                    )
                return (
                    "json["
                    + ",".join(
                        sorted(
                            {shape(json.dumps(v)) if isinstance(v, (dict, list)) else type(v).__name__ for v in data}
                        )
                    )
                    + "]"
                )
            return type(value).__name__

        found: dict[str, dict] = {}
        for name in ("gen", "real"):
            db = sqlite3.connect(tmp / f"{name}.db")
            shapes: dict = {}
            # Not aggregate_cache: what the app remembers when it reads, which a run does not write.
            tables = [
                r[0]
                for r in db.execute(
                    "select name from sqlite_master where type = 'table'"
                    " and name not in ('_gvs_migrations', 'aggregate_cache')"
                )
            ]
            scorers = dict(db.execute("select id, scorer from score_sources"))  # a score's source by id (m014)
            for table in tables:
                cols = _table_columns(db, table)
                for row in db.execute(f'select * from "{table}"'):
                    record = dict(zip(cols, row))
                    scored = table in ("scores", "answer_scores")
                    scorer = record.get("scorer", scorers.get(record.get("source")))
                    group = (table, scorer, record.get("label")) if scored else (table,)
                    for col, value in record.items():
                        shapes.setdefault((*group, col), set()).add(shape(value))
            schema = sorted(r[0] for r in db.execute("select sql from sqlite_master where sql is not null"))
            # The same suite, models and locales: these rows must be equal, not just alike.
            same = [
                db.execute(sql).fetchall()
                for sql in (
                    "select * from run_cells order by rowid",
                    "select * from items order by content_hash",
                    "select * from suites",
                    "select suite, spec, spec_hash, versions from runs",
                )
            ]
            found[name] = {"shapes": shapes, "schema": schema, "tables": tables, "same": same}
            db.close()
    problems = []
    if found["gen"]["schema"] != found["real"]["schema"]:
        problems.append("the schemas differ")
    for what, a, b in zip(("run_cells", "items", "suites", "runs"), found["gen"]["same"], found["real"]["same"]):
        if a != b:
            problems.append(f"{what}: rows differ from the real run's")
    gen, real_shapes = found["gen"]["shapes"], found["real"]["shapes"]
    for key in sorted(set(gen) | set(real_shapes), key=str):
        if key not in real_shapes:
            problems.append(f"{key}: generated only, {sorted(gen[key])}")
        elif key not in gen:
            problems.append(f"{key}: never generated (real: {sorted(real_shapes[key])})")
        elif not gen[key] <= real_shapes[key]:
            problems.append(f"{key}: generated {sorted(gen[key] - real_shapes[key])}, real {sorted(real_shapes[key])}")
    if problems:
        print("shape check FAILED:\n  " + "\n  ".join(problems))
        raise SystemExit(1)
    print(
        f"shape check: run_cells, items, suites and the run spec equal a real run's; every column of every table (scores per scorer and label) has the real rows' types and JSON keys ({len(gen)} groups in {len(found['real']['tables'])} tables)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="cells (scored answers) in the store")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-n", type=int, default=3, help="timed rounds of each measurement (median)")
    parser.add_argument("--judge-responses", action="store_true", help="also cache every judge verdict as a response")
    parser.add_argument(
        "--check-shape", action="store_true", help="compare generated rows with a real run's, then exit"
    )
    parser.add_argument(
        "--end-before", action="store_true", help="also time the end of a run as before m008 (slow at 1M)"
    )
    parser.add_argument("--generate-only", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not 1 <= args.n <= 50 or not 100 <= args.rows <= 5_000_000:
        parser.error("-n must be 1..50 and --rows 100..5,000,000")
    if args.generate_only:
        info = generate_store(args.generate_only, args.rows, args.seed, judge_responses=args.judge_responses)
        print(json.dumps(info))
        return
    if args.check_shape:
        check_shape(args.seed)
        return

    from store.results import breakdown, metric_source

    path, info = cached_store(args.rows, args.seed, judge_responses=args.judge_responses)
    size = sum(Path(f"{path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{path}{s}").exists())
    store = open_store(path)
    run = store.run(info["run_id"])
    rss_open = _current_rss_mib()
    conditioned = "condition" in _table_columns(store.db.conn, "run_cells")
    cells = info["cells"]
    print(
        f"store: {path.name}  {size / 2**20:,.0f} MiB  {cells:,} cells ({info['models']} models × {info['locales']} locales × "
        f"{info['items']:,} items), {info['answered']:,} answered, {info['failed']} failed, "
        f"{info['judge_errors']:,} judge errors"
    )
    gen = "cached" if info["cached"] or info.get("migrated_from") else "just now"
    print(
        f"generation: {info['seconds']:.0f} s in a child process, peak RSS {info.get('peak_rss_mib', 0):,} MiB ({gen})"
    )
    if info.get("migrated_from"):
        print(
            f"  then copied from {info['migrated_from']} and migrated by open_store in {info['migration_seconds']:.0f} s"
        )
    if info.get("unfilled_columns"):
        print(f"note: schema columns the generator does not fill: {info['unfilled_columns']}")

    results = {}
    keys = dict(((kind, name), key) for key, kind, name in store.db.execute("SELECT id, kind, name FROM fact_keys"))
    sources = {}
    for metric in ("refusal", "gvs"):
        src = metric_source(store, run, metric)
        sources[metric] = keys[("source", f"{src.scorer}\x1f{src.version}\x1f{src.config}")]
    compact = compact_anchor(path, run.id, sources, keys[("condition", "none")])
    for metric in ("refusal", "gvs"):
        source = metric_source(store, run, metric)
        is_judge = metric == "gvs"
        b = breakdown(store, run, metric=metric, by="category", remember=False)  # also the warm-up
        with _Scan(False):  # the scan as before m008: the same table, cell for cell
            if breakdown(store, run, metric=metric, by="category", remember=False).to_json() != b.to_json():
                raise SystemExit(f"{metric}: the breakdown from the facts differs from the scan's")
        compact_breakdown(compact, list(sources).index(metric))
        hand = hand_breakdown(path, run.id, source.scorer, source.version, source.config, is_judge, conditioned)
        if _as_table(b, is_judge) != hand[0]:
            mine, theirs = _as_table(b, is_judge), hand[0]
            diff = [k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k)][:3]
            raise SystemExit(
                f"{metric}: breakdown and the hand-written GROUP BY disagree, e.g. {[(k, mine.get(k), theirs.get(k)) for k in diff]}"
            )
        breakdown(store, run, metric=metric, by="category", ci=True)  # warm-up, and the scan's rows remembered
        times: dict[str, list[float]] = {
            "breakdown": [],
            "remembered": [],
            "ci": [],
            "interval": [],
            "hand": [],
            "hand_group": [],
            "before": [],
            "compact": [],
        }
        for _ in range(args.n):  # interleaved, so a noisy moment hits every side alike
            times["breakdown"].append(
                _timed(lambda m=metric: breakdown(store, run, metric=m, by="category", remember=False))
            )
            times["compact"].append(_timed(lambda m=metric: compact_breakdown(compact, list(sources).index(m))))
            with _Scan(False):
                times["before"].append(
                    _timed(lambda m=metric: breakdown(store, run, metric=m, by="category", remember=False))
                )
            times["remembered"].append(_timed(lambda m=metric: breakdown(store, run, metric=m, by="category")))
            times["ci"].append(_timed(lambda m=metric: breakdown(store, run, metric=m, by="category", ci=True)))
            times["interval"].append(times["ci"][-1] - times["remembered"][-1])
            _, t_group, t_rest = hand_breakdown(
                path, run.id, source.scorer, source.version, source.config, is_judge, conditioned
            )
            times["hand"].append(t_group + t_rest)
            times["hand_group"].append(t_group)
        t = {name: statistics.median(v) for name, v in times.items()}
        n_cells = sum(len(r.cells) for r in [*b.rows, b.overall])
        results[metric] = {**t, "cells": n_cells, "interval_range": (min(times["interval"]), max(times["interval"]))}
        print(
            f"{metric}: breakdown {t['breakdown']:.2f} s, by hand {t['hand']:.2f} s (category GROUP BY alone "
            f"{t['hand_group']:.2f} s), from remembered rows {t['remembered']:.2f} s, with intervals {t['ci']:.2f} s; rounds: "
            + "; ".join(f"{k} " + " ".join(f"{x:.2f}" for x in v) for k, v in times.items()),
            flush=True,
        )

    print("timing the end of a run (the Results screen's opening views, nothing remembered) ...", flush=True)
    ends = [end_of_run_seconds(store, run) for _ in range(args.n)]
    end_views = statistics.median(v for v, _ in ends)
    end_checks = statistics.median(c for _, c in ends)
    end_facts = statistics.median(v + c for v, c in ends)
    end_before = None
    if args.rows <= 200_000 or args.end_before:
        with _Scan(False):
            end_before = sum(end_of_run_seconds(store, run))
    print(
        f"end of run: {end_facts:.2f} s (opening views {end_views:.2f} s, answered cells and scorers' health"
        f" {end_checks:.2f} s)" + (f", before m008 {end_before:.2f} s" if end_before else ""),
        flush=True,
    )
    print("measuring the store's bytes as VACUUM leaves them (VACUUM INTO a copy) ...", flush=True)
    vacuumed, objects = vacuumed_bytes(path)
    answers = info["answered"]
    largest = sorted(objects.items(), key=lambda kv: -kv[1])[:12]
    print(
        f"bytes an answer, vacuumed: {vacuumed / answers:,.0f} (file {vacuumed / 2**20:,.0f} MiB); per answer: "
        + ", ".join(f"{name} {n / answers:,.1f}" for name, n in largest),
        flush=True,
    )
    print("timing migrations m008+m009 on a copy without facts ...", flush=True)
    migrated = migration_seconds(path)
    print(f"migrations m008+m009: {migrated:.1f} s", flush=True)
    peak = _rss_mib()
    print()
    print(
        f"{cells:,} cells; medians of {args.n} warm rounds; intervals: Wilson (refusal), bootstrap of 2,000 resamples (gvs)"
    )
    print()
    print("| measure | figure | baseline | ratio | target | met |")
    print("|---|---|---|---|---|---|")
    for metric, r in results.items():
        ratio = r["breakdown"] / r["hand"]
        print(
            f"| breakdown {metric} by category | {r['breakdown']:.3f} s | by hand {r['hand']:.3f} s | {ratio:.2f}× | ≤ 1.2× | {'yes' if ratio <= 1.2 else 'NO'} |"
        )
    for metric, r in results.items():
        ratio = r["breakdown"] / r["compact"]
        ok = r["breakdown"] <= 1.0 and ratio <= 2.0
        print(
            f"| breakdown {metric} by category, cold (facts, m008+m009 groups) | {r['breakdown']:.3f} s | compact table {r['compact']:.3f} s | {ratio:.2f}× | ≤ 1 s and ≤ 2× | {'yes' if ok else 'NO'} |"
        )
    for metric, r in results.items():
        print(
            f"| breakdown {metric} by category, cold, as before m008 (the scan) | {r['before']:.3f} s | facts {r['breakdown']:.3f} s | {r['before'] / r['breakdown']:.1f}× slower | — | — |"
        )
    before = f"before m008 {end_before:.2f} s" if end_before else "before m008 not measured (--end-before)"
    print(
        f"| end of run: Results' opening views remembered ({end_views:.2f} s), answered cells and every scorer's health ({end_checks:.2f} s) | {end_facts:.2f} s | {before} | — | ≤ 5 s | {'yes' if end_facts <= 5 else 'NO'} |"
    )
    facts_built = info.get("facts_seconds")
    print(
        f"| migrations m008+m009 on a copy without facts (open_store) | {migrated:.1f} s | {cells:,} cells | — | minutes | — |"
        + (
            f"\n| facts built by the generator (rebuild_facts) | {facts_built:.1f} s | — | — | — | — |"
            if facts_built
            else ""
        )
    )
    for metric, r in results.items():
        ratio = r["breakdown"] / r["hand_group"]
        print(
            f"| (the same, against the category GROUP BY alone) {metric} | {r['breakdown']:.3f} s | {r['hand_group']:.3f} s | {ratio:.2f}× | — | — |"
        )
    for metric, r in results.items():
        method = "bootstrap" if metric == "gvs" else "Wilson"
        ok = r["interval"] <= 2.0
        low, high = r["interval_range"]
        print(
            f"| intervals {metric} ({method}), {r['cells']:,} cells (rounds {low:.2f}…{high:.2f} s) | {r['interval']:.3f} s | "
            f"breakdown {r['breakdown']:.3f} s | {(r['breakdown'] + r['interval']) / r['breakdown']:.2f}× | ≤ 2 s | {'yes' if ok else 'NO'} |"
        )
    for metric, r in results.items():
        print(
            f"| breakdown {metric} from the remembered scan (what the app re-reads) | {r['remembered']:.3f} s | scan {r['breakdown']:.3f} s | {r['remembered'] / r['breakdown']:.3f}× | — | — |"
        )
    print(f"| peak RSS | {peak:,.0f} MiB | after open {rss_open:,.0f} MiB | {peak / rss_open:.2f}× | — | — |")
    print(f"| store file | {size / 2**20:,.0f} MiB | {cells:,} cells | {size / cells:,.0f} B/cell | — | — |")
    per_answer = vacuumed / answers
    print(
        f"| store bytes an answer, vacuumed, remembered aggregates left out (VACUUM INTO a copy) | {per_answer:,.0f} B | "
        f"{answers:,} answers, {vacuumed / 2**20:,.0f} MiB | — | ≤ 1,000 B | {'yes' if per_answer <= 1000 else 'NO'} |"
    )
    store.close()


if __name__ == "__main__":
    main()
