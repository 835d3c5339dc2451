"""Breakdowns computed in SQL: a metric per taxonomy group × (model, locale) for one run."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from benchmark.scorers import offline_versions

from .db import Store

METRICS = {
    # metric -> (scorer, what the rate means)
    "refusal": ("refusal", "share of answers that refuse, fully or partly"),
    "language": ("language", "share of answers in the prompt's language (undetermined left out)"),
}


@dataclass
class Cell:
    model: str
    locale: str
    value: float | None  # mean of the scorer's value (a rate for binary scorers)
    n: int  # scored answers behind the value
    cells: int  # planned cells in the group
    answered: int  # cells with a stored answer


@dataclass
class Row:
    group: str
    parent: str | None  # e.g. the layer of a category
    cells: list[Cell] = field(default_factory=list)


@dataclass
class Breakdown:
    run: dict
    metric: str
    by: str
    columns: list[tuple[str, str]]
    rows: list[Row]
    overall: Row
    errors: int
    image_absent: int  # answered cells whose item refers to an image that was not sent

    def to_json(self) -> dict:
        """Stable, documented shape (see README, "JSON output")."""

        def cells(row: Row) -> list[dict]:
            return [
                {
                    "model": c.model,
                    "locale": c.locale,
                    "value": None if c.value is None else round(c.value, 6),
                    "n": c.n,
                    "cells": c.cells,
                    "answered": c.answered,
                }
                for c in row.cells
            ]

        return {
            "schema": "gvs.results/1",
            "run": {k: self.run.get(k) for k in ("id", "suite", "status", "started", "finished")},
            "metric": self.metric,
            "by": self.by,
            "columns": [{"model": m, "locale": loc} for m, loc in self.columns],
            "rows": [{"group": r.group, "parent": r.parent, "cells": cells(r)} for r in self.rows],
            "overall": cells(self.overall),
            "errors": self.errors,
            "image_absent": self.image_absent,
        }


def breakdown(store: Store, run: dict, *, metric: str = "refusal", by: str = "category", axes: list[str] | None = None) -> Breakdown:
    """``metric`` per value of tag ``by`` (and overall) for every (model, locale) of ``run``."""
    scorer = METRICS[metric][0]
    version = offline_versions()[scorer]
    axes = axes or json.loads(store.db["suites"].get((run["suite"], json.loads(run["spec"])["suite_version"]))["axes"])
    parent_axis = axes[axes.index(by) - 1] if by in axes and axes.index(by) > 0 else None
    spec = json.loads(run["spec"])
    columns = [(m, loc) for m in spec["models"] for loc in spec["locales"]]
    group_expr = "json_extract(i.tags, '$.' || :by)"
    parent_expr = "json_extract(i.tags, '$.' || :parent)" if parent_axis else "null"
    sql = f"""
        select {group_expr} as grp, {parent_expr} as parent, rc.model, rc.locale,
               avg(s.value) as value, count(s.value) as n, count(*) as cells,
               count(r.cache_key) as answered, min(rc.rowid) as first_seen
        from run_cells rc
        join items i on i.content_hash = rc.item_hash
        left join responses r on r.cache_key = rc.cache_key
        left join scores s on s.cache_key = rc.cache_key and s.scorer = :scorer and s.version = :version
        where rc.run_id = :run
        group by grp, rc.model, rc.locale
        order by first_seen
    """
    params = {"by": by, "parent": parent_axis, "scorer": scorer, "version": version, "run": run["id"]}
    rows: dict[str, Row] = {}
    for grp, parent, model, locale, value, n, cells, answered, _ in store.db.execute(sql, params):
        row = rows.setdefault(str(grp), Row(str(grp), parent))
        row.cells.append(Cell(model, locale, value, n, cells, answered))
    overall = Row("overall", None)
    for model, locale, value, n, cells, answered in store.db.execute(
        """select rc.model, rc.locale, avg(s.value), count(s.value), count(*), count(r.cache_key)
           from run_cells rc
           left join responses r on r.cache_key = rc.cache_key
           left join scores s on s.cache_key = rc.cache_key and s.scorer = :scorer and s.version = :version
           where rc.run_id = :run group by rc.model, rc.locale""",
        params,
    ):
        overall.cells.append(Cell(model, locale, value, n, cells, answered))
    for row in [*rows.values(), overall]:
        order = {c: i for i, c in enumerate(columns)}
        row.cells.sort(key=lambda c: order.get((c.model, c.locale), len(order)))
    errors = store.db.execute(
        """select count(*) from (select distinct ce.model, ce.locale, ce.item_id from call_errors ce
           join run_cells rc on rc.run_id = ce.run_id and rc.model = ce.model and rc.locale = ce.locale
                and rc.item_id = ce.item_id
           left join responses r on r.cache_key = rc.cache_key
           where ce.run_id = ? and r.cache_key is null)""",
        [run["id"]],
    ).fetchone()[0]
    image_absent = store.db.execute(
        """select count(*) from run_cells rc join responses r on r.cache_key = rc.cache_key
           where rc.run_id = ? and rc.image_absent = 1""",
        [run["id"]],
    ).fetchone()[0]
    return Breakdown(run, metric, by, columns, list(rows.values()), overall, errors, image_absent)
