"""Reading one run for a browser: the items behind one breakdown cell, one item's answers across
every model and locale, and the runs and slicing keys there are to choose from.

Everything is paged or bounded in SQL (texts are cut to an excerpt where a list shows many), so a
store of any size is read a screenful at a time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from benchmark.engine.conditions import BASELINE
from benchmark.engine.records import Run
from benchmark.errors import GvsError
from benchmark.scoring.judge import failed_sample

from .aggregates import cached_rows
from .db import Store
from .migrations import SOURCE_OF_ARGS as _SOURCE
from .migrations import run_cell_facts
from .results import condition_filter, group_expr, has_facts, metric_source, run_axes

EXCERPT = 400  # characters of a prompt or an answer kept per row of a list


@dataclass
class RunChoice:
    id: int
    suite: str
    status: str
    models: list[str]
    locales: list[str]
    cells: int
    name: str | None = None  # gvs run --name, gvs runs rename

    @property
    def label(self) -> str:
        named = f"run {self.id}" + (f" “{self.name}”" if self.name else "")
        return f"{named} · {self.suite} · {self.status} · {len(self.models)} models × {len(self.locales)} locales"


def run_choices(store: Store, limit: int = 200) -> list[RunChoice]:
    """The latest runs, newest first (at most ``limit``)."""
    rows = store.db.execute(
        "select id, suite, status, spec, summary, name from runs order by id desc limit ?", [limit]
    ).fetchall()
    found = []
    for run_id, suite, status, spec, summary, name in rows:
        s = json.loads(spec)
        total = (json.loads(summary) if summary else {}).get("total")
        found.append(
            RunChoice(run_id, suite, status, list(s.get("models", [])), list(s.get("locales", [])), total or 0, name)
        )
    return found


def slice_keys(store: Store, run: Run) -> list[str]:
    """What a breakdown can be sliced by: the taxonomy axes, then the item metadata keys of the run."""
    axes = run_axes(store, run)
    keys = [
        k
        for (k,) in cached_rows(
            store,
            # Each item of the run once (its cells' facts, m008), not once per cell.
            f"""select distinct j.key from (select distinct f.item from cell_facts f where {run_cell_facts("?1")}) h
               join items i on i.rowid = h.item, json_each(i.metadata) j order by j.key""",
            [run.id],
        )
    ]
    return axes + [k for k in keys if k not in axes]


def judged_metrics(store: Store, run: Run) -> set[str]:
    """Which judge scorers (gvs, values) have scores on the run."""
    if has_facts(store):  # one index seek per score source (m008) instead of a join over every score
        sources = store.db.execute(
            """select k.name from fact_keys k where k.kind = 'source'
               and exists (select 1 from score_facts f where f.run_id = ? and f.source = k.id)""",
            [run.id],
        )
        return {scorer for (name,) in sources if (scorer := name.split("\x1f")[0]) in ("gvs", "values")}
    return {
        scorer
        for (scorer,) in cached_rows(
            store,
            """select distinct s.scorer from run_cells rc join scores s on s.cache_key = rc.cache_key
               where rc.run_id = ? and s.scorer in ('gvs', 'values')""",
            [run.id],
        )
    }


@dataclass
class CellItem:
    item_id: str
    prompt: str  # excerpt
    answer: str | None  # excerpt; None when the cell has no stored answer
    value: float | None
    label: str | None
    reason: str | None  # a judge's reason, for judge metrics
    error: str | None  # the last call error of an unanswered cell


@dataclass
class CellItems:
    items: list[CellItem]
    total: int
    offset: int


def cell_items(
    store: Store,
    run: Run,
    *,
    metric: str,
    by: str | None,
    group: str | None,
    model: str,
    locale: str,
    judge: str | None = None,
    limit: int = 200,
    offset: int = 0,
    condition: str | None = BASELINE,
) -> CellItems:
    """The items behind one breakdown cell (``group`` of ``by``; every item when ``group`` is None),
    in suite order, one page of at most ``limit`` (-1: all) from ``offset``, with the metric's value
    and label. Like the breakdown, only the cells of ``condition`` (the baseline by default), unless
    ``by`` is the condition."""
    source = metric_source(store, run, metric=metric, judge=judge)
    where = "rc.run_id = :run and rc.model = :model and rc.locale = :locale" + condition_filter(by, condition)
    if group is not None and by:
        where += f" and {group_expr(by)} = :group"
    params = {
        "run": run.id,
        "model": model,
        "locale": locale,
        "by": by,
        "group": group,
        "scorer": source.scorer,
        "version": source.version,
        "config": source.config,
        "path": source.path,
        "limit": limit,
        "offset": offset,
        "excerpt": EXCERPT,
        "condition": condition,
    }
    joins = f"""from run_cells rc join items i on i.content_hash = rc.item_hash
        left join responses r on r.cache_key = rc.cache_key
        left join answer_scores s on s.answer = r.id and s.source = {_SOURCE}"""
    total = store.db.execute(f"select count(*) {joins} where {where}", params).fetchone()[0]
    sql = f"""select rc.item_id, substr(i.prompt, 1, :excerpt), substr(r.text, 1, :excerpt), r.cache_key is not null,
               {source.value_expr}, s.label, json_extract(s.details, '$.reason'),
               (select ce.error from call_errors ce where ce.run_id = rc.run_id and ce.model = rc.model
                  and ce.locale = rc.locale and ce.item_id = rc.item_id order by ce.id desc limit 1)
        {joins} where {where} order by rc.rowid limit :limit offset :offset"""
    items = []
    for item_id, prompt, text, answered, value, label, reason, error in store.db.execute(sql, params):
        items.append(
            CellItem(
                item_id, prompt or "", text if answered else None, value, label, reason, None if answered else error
            )
        )
    return CellItems(items, total, offset)


@dataclass
class PairedItem:
    item_id: str
    prompt: str  # excerpt, as side A asked it
    a: float | None
    b: float | None

    @property
    def diff(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a


@dataclass
class PairedItems:
    items: list[PairedItem]  # in both sides, the largest difference first
    only_a: int  # items of the group only side A has (not asked, or another item set)
    only_b: int


def paired_items(
    store: Store,
    a: tuple[Run, str],
    b: tuple[Run, str],
    *,
    metric: str,
    by: str | None,
    group: str | None,
    model: str,
) -> PairedItems:
    """The items behind one row of a comparison: ``model``'s answers to the items of ``group`` (every
    item when None) on side A (a run and a locale) and side B, paired by item id — two locales of a
    run, or two runs — the largest difference first, unscored ones last."""
    sides = []
    for run, locale in (a, b):
        page = cell_items(store, run, metric=metric, by=by, group=group, model=model, locale=locale, limit=-1)
        sides.append({item.item_id: item for item in page.items})
    left, right = sides
    both = [i for i in left if i in right]
    items = [PairedItem(i, left[i].prompt, left[i].value, right[i].value) for i in both]
    items.sort(key=lambda p: (p.diff is None, -abs(p.diff or 0.0)))
    return PairedItems(items, len(left) - len(both), len(right) - len(both))


@dataclass
class ScoreView:
    scorer: str
    value: float | None
    label: str | None
    reason: str | None
    judge: str | None  # the judge model, for judge scorers
    values: dict | None = None  # Schwartz values, for the values scorer


@dataclass
class Answer:
    model: str
    locale: str
    prompt: str
    focus: str
    status: str
    text: str | None
    finish_reason: str | None
    error: str | None
    image_absent: bool
    scores: list[ScoreView] = field(default_factory=list)


@dataclass
class ItemAnswers:
    item_id: str
    tags: dict
    metadata: dict
    models: list[str]
    locales: list[str]
    answers: dict[tuple[str, str], Answer]  # (model, locale) -> answer


def item_answers(store: Store, run: Run, item_id: str, condition: str = BASELINE) -> ItemAnswers:
    """One item of ``run`` under ``condition`` (the baseline by default): its text and the answer of
    every model in every locale, with every score (offline scorers, and the latest score of each
    judge model), judge reasons and errors."""
    spec = run.spec
    rows = store.db.execute(
        """select rc.model, rc.locale, rc.cache_key, rc.image_absent, i.prompt, i.focus, i.status, i.tags, i.metadata,
               r.cache_key is not null, r.text, r.finish_reason,
               (select ce.error from call_errors ce where ce.run_id = rc.run_id and ce.model = rc.model
                  and ce.locale = rc.locale and ce.item_id = rc.item_id order by ce.id desc limit 1)
           from run_cells rc join items i on i.content_hash = rc.item_hash left join responses r on r.cache_key = rc.cache_key
           where rc.run_id = ? and rc.item_id = ? and rc.condition = ? order by rc.rowid""",
        [run.id, item_id, condition],
    ).fetchall()
    answers: dict[tuple[str, str], Answer] = {}
    tags: dict = {}
    metadata: dict = {}
    by_key: dict[str, list[Answer]] = {}
    for model, locale, key, image_absent, prompt, focus, status, t, m, answered, text, finish, error in rows:
        tags, metadata = json.loads(t or "{}"), json.loads(m or "{}")
        answer = Answer(
            model,
            locale,
            prompt or "",
            focus or "",
            status or "",
            text if answered else None,
            finish,
            None if answered else error,
            bool(image_absent),
        )
        answers[(model, locale)] = answer
        by_key.setdefault(key, []).append(answer)
    if by_key:
        marks = ",".join("?" * len(by_key))
        seen: set[tuple[str, str, str | None]] = set()
        for key, scorer, value, label, details, judge_spec in store.db.execute(
            f"""select s.cache_key, s.scorer, s.value, s.label, s.details, jc.spec from scores s
                left join judge_configs jc on jc.digest = s.config
                where s.cache_key in ({marks}) order by s.created desc, s.scorer""",
            list(by_key),
        ):
            d = json.loads(details or "{}")
            judge = json.loads(judge_spec).get("model") if judge_spec else None
            if (key, scorer, judge) in seen:  # an older version or configuration of the same judge
                continue
            seen.add((key, scorer, judge))
            reason = d.get("reason")
            if label == "judge_error":  # why, with the judge's own words: the drill-down is where one looks
                failed = failed_sample(d)
                raw = failed.get("raw")
                reason = str(failed.get("error") or "judge error") + (f"; raw reply: {raw[:300]}" if raw else "")
            elif label == "undetermined" and d.get("reason"):
                reason = str(d["reason"]) + (f" ({d['language']})" if d.get("language") else "")
            view = ScoreView(scorer, value, label, reason, judge, d.get("values") if scorer == "values" else None)
            for answer in by_key[key]:
                answer.scores.append(view)
        order = {"refusal": 0, "language": 1, "gvs": 2, "values": 3}
        for answer in answers.values():
            answer.scores.sort(key=lambda s: (order.get(s.scorer, 9), s.scorer, s.judge or ""))
    axes = run_axes(store, run)
    tags = {**{a: tags[a] for a in axes if a in tags}, **tags}
    models = [m for m in spec.get("models", []) if any(k[0] == m for k in answers)]
    locales = [loc for loc in spec.get("locales", []) if any(k[1] == loc for k in answers)]
    return ItemAnswers(item_id, tags, metadata, models, locales, answers)


def remember_opening_views(store: Store, run: Run) -> None:
    """Compute, and so remember (store/aggregates.py), what the app's Results screen reads first for
    ``run``: its slicing keys, its judged metrics, and the breakdown of refusal (and GVS when judged)
    by the last taxonomy axis and the one above it. The end of a run and of a scoring call this, so
    opening Results on a large run reads remembered rows instead of scanning every answer. Best
    effort: a view the breakdown cannot show (no scores yet) is skipped; the app says why when asked."""
    from .results import breakdown

    slice_keys(store, run)
    axes = run_axes(store, run)
    metrics = ["refusal"] + (["gvs"] if "gvs" in judged_metrics(store, run) else [])
    for metric in metrics:
        for by in axes[-2:]:
            try:
                breakdown(store, run, metric=metric, by=by)
            except GvsError:
                pass


def suite_snapshot(store: Store, suite_id: str, version: str) -> dict | None:
    """The suite as recorded with its runs (name, license, source, axes, path), or None when this
    version is not recorded or the store is older than the snapshot."""
    import sqlite3

    from sqlite_utils.db import NotFoundError

    try:
        return store.db.table("suites").get((suite_id, version))
    except (NotFoundError, sqlite3.Error):
        return None
