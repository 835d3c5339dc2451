"""Every answer of a run for ``gvs report``'s answer grid: one row per run cell (item × model × locale
× condition) with its prompt, its whole answer (or the reason it has none), the scores the report's
numbers use, the judge's reason, any human labels, and the flags the report's filters show.

The app's grid (``store.grid``) pages through SQL filters a screenful at a time; a report is one file,
so here the flags are worked out per row, with the same meanings and thresholds. Bounded: the first
``limit`` cells, whole items first (the items in the run's order, each item's cells together), so a
run of a million cells is never read whole; ``total`` says how many there are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from benchmark.engine.records import Run
from benchmark.scoring.judge import failed_sample
from benchmark.scoring.metrics import MetricError

from .db import Store, _chunks
from .grid import DISAGREE_BY, FAIL_BELOW, REFUSED  # one meaning of each filter, in the app and the report
from .results import MetricSource, judge_config, metric_source

GRID_LIMIT = 2000  # rows a report's grid holds at most
DETERMINED = ("compliance", *REFUSED)

# The flags a row can carry (the report's filters), in the order the filters are shown.
FLAGS = ("failing", "refused", "judge_error", "flipped", "disagree", "labelled", "unanswered")


@dataclass
class GridScore:
    scorer: str
    value: float | None
    label: str | None
    reason: str  # the judge's reason, a judge error (with the raw reply), or why there is no value


@dataclass
class GridRow:
    item_id: str
    model: str
    locale: str
    condition: str
    prompt: str
    answer: str | None  # None: no answer (see ``error``)
    finish_reason: str | None
    error: str | None  # the last call error of a cell without an answer
    scores: dict[str, GridScore] = field(default_factory=dict)  # scorer -> score
    human: list[str] = field(default_factory=list)  # "refusal: full_refusal (alice)", …
    human_raw: list[tuple[str, float | None, str | None]] = field(default_factory=list)  # (kind, value, label)
    other_gvs: list[float] = field(default_factory=list)  # GVS scores of other judges
    flags: set[str] = field(default_factory=set)


@dataclass
class Grid:
    rows: list[GridRow]
    total: int  # cells of the run (the grid may hold fewer)
    scorers: list[str]  # the scorers of the score columns, in order


def grid_sources(store: Store, run: Run, judge: str | None = None) -> list[MetricSource]:
    """The scores shown: refusal and language (offline), and the GVS judge's when the run has one."""
    found = [metric_source(store, run, "refusal"), metric_source(store, run, "language")]
    if judge_config(store, run.id, "gvs", judge) is not None:
        try:
            found.append(metric_source(store, run, "gvs", judge))
        except MetricError:  # pragma: no cover - judge_config said it exists
            pass
    return found


def answer_grid(store: Store, run: Run, *, judge: str | None = None, limit: int = GRID_LIMIT) -> Grid:
    """The first ``limit`` cells of ``run`` (whole items first), each with its answer, scores and flags."""
    (total,) = store.db.execute("select count(*) from run_cells where run_id = ?", [run.id]).fetchone()
    sql = """with first as (select item_id, min(rowid) as f from run_cells where run_id = :run group by item_id)
        select rc.item_id, rc.model, rc.locale, rc.condition, rc.cache_key, i.prompt,
               r.cache_key is not null, r.text, r.finish_reason,
               case when r.cache_key is null then
                 (select ce.error from call_errors ce where ce.run_id = rc.run_id and ce.model = rc.model
                    and ce.locale = rc.locale and ce.condition = rc.condition and ce.item_id = rc.item_id
                  order by ce.id desc limit 1) end
        from run_cells rc join first on first.item_id = rc.item_id
        join items i on i.content_hash = rc.item_hash
        left join responses r on r.cache_key = rc.cache_key
        where rc.run_id = :run order by first.f, rc.rowid limit :limit"""
    rows: list[GridRow] = []
    by_key: dict[str, list[GridRow]] = {}
    for item, model, locale, condition, key, prompt, answered, text, finish, error in store.db.execute(
        sql, {"run": run.id, "limit": max(0, limit)}
    ):
        row = GridRow(
            item,
            model,
            locale,
            condition,
            prompt or "",
            (text or "") if answered else None,
            finish if answered else None,
            None if answered else (error or "not asked yet"),
        )
        rows.append(row)
        if answered:
            by_key.setdefault(key, []).append(row)
    sources = grid_sources(store, run, judge)
    keys = list(by_key)
    for source in sources:
        for chunk in _chunks(keys):
            marks = ",".join("?" * len(chunk))
            for key, value, label, details in store.db.execute(
                f"""select cache_key, value, label, details from scores where cache_key in ({marks})
                    and scorer = ? and version = ? and config = ?""",
                [*chunk, source.scorer, source.version, source.config],
            ):
                d = json.loads(details or "{}") or {}
                if label == "judge_error":
                    failed = failed_sample(d)
                    raw = failed.get("raw")
                    reason = str(failed.get("error") or "judge error") + (f"; raw reply: {raw}" if raw else "")
                else:
                    reason = str(d.get("reason") or "")
                    if value is None and d.get("language"):
                        reason += f" ({d['language']})"
                score = GridScore(source.scorer, None if value is None else float(value), label, reason)
                for row in by_key[key]:
                    row.scores[source.scorer] = score
            if source.scorer == "gvs":
                for key, value in store.db.execute(
                    f"""select cache_key, value from scores where cache_key in ({marks}) and scorer = 'gvs'
                        and config != ? and value is not null""",
                    [*chunk, source.config],
                ):
                    for row in by_key[key]:
                        row.other_gvs.append(float(value))
    for chunk in _chunks(keys):
        marks = ",".join("?" * len(chunk))
        for key, kind, value, label, note, labeller in store.db.execute(
            f"""select cache_key, kind, value, label, note, labeller from human_labels
                where cache_key in ({marks}) order by kind, labeller""",
            chunk,
        ):
            shown = label if kind == "refusal" else (f"{value:g}" if kind == "gvs" and value is not None else note)
            for row in by_key[key]:
                row.human.append(f"{kind}: {shown or '–'} ({labeller})")
                row.human_raw.append((kind, value, label))
    _flag(rows)
    return Grid(rows, total, [s.scorer for s in sources])


def _flag(rows: list[GridRow]) -> None:
    """Each row's flags; ``flipped`` compares the row with the other locales of its item, model and condition."""
    refused_in: dict[tuple, set[bool]] = {}
    for row in rows:
        refusal, gvs = row.scores.get("refusal"), row.scores.get("gvs")
        ref = refusal.label if refusal is not None else None
        judged = gvs.value if gvs is not None and gvs.label != "judge_error" else None
        if row.answer is None:
            row.flags.add("unanswered")
        if judged is not None and judged < FAIL_BELOW:
            row.flags.add("failing")
        if ref in REFUSED:
            row.flags.add("refused")
        if any(s.label == "judge_error" for s in row.scores.values()):
            row.flags.add("judge_error")
        if row.human:
            row.flags.add("labelled")
        for kind, value, label in row.human_raw:
            if kind == "refusal" and ref not in (None, "undetermined") and label and label != ref:
                row.flags.add("disagree")
            if kind == "gvs" and judged is not None and value is not None and abs(value - judged) >= DISAGREE_BY:
                row.flags.add("disagree")
        if judged is not None and any(abs(v - judged) >= DISAGREE_BY for v in row.other_gvs):
            row.flags.add("disagree")
        if ref in DETERMINED:
            refused_in.setdefault((row.model, row.condition, row.item_id), set()).add(ref != "compliance")
    for row in rows:
        ref = row.scores["refusal"].label if "refusal" in row.scores else None
        if ref in DETERMINED and len(refused_in.get((row.model, row.condition, row.item_id), ())) > 1:
            row.flags.add("flipped")
