"""``gvs runs``: the runs in a store — listed with their names, tags and what sets each apart from the
run of the same suite before it; ``diff``, ``rename``, ``tag`` and ``delete`` one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from benchmark.engine.records import Run

from . import common
from .common import JsonOpt, RunOpt, StoreOpt, _existing_store, _print_json, fail

if TYPE_CHECKING:
    from store import Store

app = typer.Typer(invoke_without_command=True, no_args_is_help=False)

ErrorsOpt = Annotated[
    bool,
    typer.Option(
        "--errors",
        help="Why the run's cells failed and why answers went unscored (judge errors, undetermined scores), "
        "grouped by reason with an example and what to do (--run: which run; default the latest).",
    ),
]
RunArg = Annotated[int, typer.Argument(min=1, max=2**63 - 1, help="A run id (see `gvs runs`).", show_default=False)]


@app.callback(invoke_without_command=True)
def runs(
    ctx: typer.Context,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
    errors: ErrorsOpt = False,
    run_id: RunOpt = None,
) -> None:
    """List the runs in the store, newest first; with --errors, why a run's answers failed or went unscored.

    Each run shows its name and tags (`gvs run --name/--tag`, `gvs runs rename/tag`) and what sets it apart from the previous run of the same suite (parameters, models, locales, conditions, item selection, versions); `gvs runs diff A B` lists every difference, `gvs runs delete RUN…` deletes runs and keeps their cached answers."""
    ctx.obj = {"store": store}  # `gvs runs --store X diff 1 2` works as `gvs runs diff 1 2 --store X`
    if ctx.invoked_subcommand is not None:
        return
    if errors or run_id is not None:
        return _errors(store, run_id, as_json)
    listed = _existing_store(store).runs()
    before = _previous_of_suite(listed)
    if as_json:
        keys = ("id", "name", "tags", "suite", "spec", "spec_hash", "status", "started", "finished", "summary")
        return _print_json(
            [
                {
                    **{k: getattr(r, k) for k in keys},
                    "differs_from": before[r.id].id if r.id in before else None,
                    "differs": [k for k, _, _ in r.differences(before[r.id])] if r.id in before else [],
                }
                for r in listed
            ]
        )
    from rich.table import Table

    from ..safe_text import inert

    shards = {r.id: _shards_of(r) for r in listed}
    sharded = any(shards.values())  # the column only where some run is a shard or merged shards
    named = any(r.name or r.tags for r in listed)  # the column only where some run has a name or a tag
    from ..tables import Name

    suites = sorted({r.suite for r in listed})
    many = len(suites) > 1  # one suite: named in the title, not in every row
    table = Table(
        "run",
        *(["name"] if named else []),
        *(["suite"] if many else []),
        "status",
        "started",
        "models",
        "locales",
        "cells",
        *(["shard"] if sharded else []),
        *(["vs previous"] if before else []),
        title=None if many or not suites else f"runs of {suites[0]}",
        caption="started: UTC · vs previous: what differs from the suite's run before it (gvs runs diff A B)"
        if before
        else None,
    )
    for r in listed:
        table.add_row(
            str(r.id),
            *([Name(_name_and_tags(r))] if named else []),
            *([Name(r.suite)] if many else []),
            r.status,
            Name(_started(r.started)),
            Name(*r.models),
            Name(", ".join(r.locales)),
            str((r.summary or {}).get("total", "")),
            *([inert(shards[r.id])] if sharded else []),
            *([Name(_differs(r, before[r.id]) if r.id in before else "")] if before else []),
        )
    common.out.print(table)


def _started(stamp: str | None) -> str:
    """``2026-12-07T13:12:05+00:00`` as ``2026-12-07 13:12``: wraps at the space in a narrow table."""
    return (stamp or "").replace("T", " ")[:16]


def _name_and_tags(run: Run) -> str:
    return " ".join([run.name or "", *(f"#{t}" for t in run.tags)]).strip()


def _previous_of_suite(listed: list[Run]) -> dict[int, Run]:
    """Each run's previous run of the same suite (``listed`` is newest first)."""
    found: dict[int, Run] = {}
    last: dict[str, Run] = {}
    for r in reversed(listed):
        if r.suite in last:
            found[r.id] = last[r.suite]
        last[r.suite] = r
    return found


def _short(key: str) -> str:
    return key.removeprefix("params.")


def _text(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value) or "[]"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _differs(run: Run, before: Run, width: int = 60) -> str:
    """``vs 3: max_tokens 256→64, locales`` — short values shown, long ones named only."""
    parts = []
    for key, mine, theirs in run.differences(before):
        old, new = _text(theirs), _text(mine)
        parts.append(f"{_short(key)} {old}→{new}" if len(old) + len(new) <= 24 else _short(key))
    if not parts:
        return f"vs {before.id}: same settings"
    text = f"vs {before.id}: " + ", ".join(parts)
    return text if len(text) <= width else text[: width - 1] + "…"


def _store_of(ctx: typer.Context, store: Path | None) -> Store:
    return _existing_store(store or (ctx.obj or {}).get("store"))


def _run_of(db: Store, run_id: int, what: str = "RUN") -> Run:
    """The run, or exit 2 naming the argument: an unknown (or deleted) id."""
    found = db.run(run_id)
    if found is None:
        fail(f"{what}: {_missing(db, run_id)}")
    return found


def _missing(db: Store, run_id: int) -> str:
    deleted = db.deleted_run(run_id)
    why = f"deleted on {deleted}" if deleted else "never made"
    return f"no run {run_id} in {db.path} ({why}; `gvs runs` lists the runs)"


@app.command()
def diff(
    ctx: typer.Context,
    run_a: Annotated[int, typer.Argument(min=1, max=2**63 - 1, help="A run id.", show_default=False)],
    run_b: Annotated[int, typer.Argument(min=1, max=2**63 - 1, help="Another run id.", show_default=False)],
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """What differs between two runs: every setting recorded with them (parameters such as max_tokens and temperature, models and endpoints, locales, scaffolds, conditions, item selection, gvs and LiteLLM versions) and the judge configurations that scored them."""
    from store.results import judges_used

    from ..safe_text import inert

    db = _store_of(ctx, store)
    a, b = _run_of(db, run_a, "RUN_A"), _run_of(db, run_b, "RUN_B")
    rows = a.differences(b)
    judges = {r.id: sorted({json.dumps(j["spec"], sort_keys=True) for j in judges_used(db, r.id)}) for r in (a, b)}
    if judges[a.id] != judges[b.id]:
        rows.append(
            ("judges", [json.loads(s) for s in judges[a.id]] or None, [json.loads(s) for s in judges[b.id]] or None)
        )
    if as_json:
        return _print_json(
            {
                "schema": "gvs.runs-diff/1",
                "a": a.brief(),
                "b": b.brief(),
                "differences": [{"key": k, "a": va, "b": vb} for k, va, vb in rows],
            }
        )
    from rich.table import Table

    if not rows:
        common.out.print(inert(f"{a.title} and {b.title}: the same settings (suite, parameters, models, versions)"))
        return
    table = Table(title=f"what differs between run {a.id} and run {b.id}")
    for header in ("setting", a.title, b.title):
        table.add_column(inert(header))
    for key, va, vb in rows:
        table.add_row(inert(key), inert(_text(va)), inert(_text(vb)))
    common.out.print(table)


@app.command()
def rename(
    ctx: typer.Context,
    run_id: RunArg,
    name: Annotated[str, typer.Argument(help='The new name ("" takes the name away).', show_default=False)],
    store: StoreOpt = None,
) -> None:
    """Name a run (a name is shown wherever a run is chosen; it is not part of the run's spec)."""
    from ..safe_text import inert

    db = _store_of(ctx, store)
    _run_of(db, run_id)
    run = db.label_run(run_id, name=name)
    assert run is not None  # _run_of found it
    common.out.print(inert(f"run {run.id}: " + (f"named “{run.name}”" if run.name else "no name")))


@app.command()
def tag(
    ctx: typer.Context,
    run_id: RunArg,
    tags: Annotated[
        list[str], typer.Argument(help="Tags to add (or, with --remove, to take off).", show_default=False)
    ],
    remove: Annotated[bool, typer.Option("--remove", help="Take these tags off instead of adding them.")] = False,
    store: StoreOpt = None,
) -> None:
    """Add tags to a run (or take them off with --remove)."""
    from ..safe_text import inert

    db = _store_of(ctx, store)
    _run_of(db, run_id)
    run = db.label_run(run_id, untag=tags) if remove else db.label_run(run_id, tags=tags)
    assert run is not None  # _run_of found it
    common.out.print(inert(f"run {run.id}: tags " + (" ".join(f"#{t}" for t in run.tags) or "none")))


@app.command()
def delete(
    ctx: typer.Context,
    run_ids: Annotated[list[int], typer.Argument(min=1, max=2**63 - 1, help="Run ids.", show_default=False)],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    store: StoreOpt = None,
) -> None:
    """Delete runs: each run's record, its cells and its call errors.

    Every cached answer stays in the store, with its scores and labels: those another run uses, and those no run uses any more — the cache is what makes a later run with the same requests free, so a deleted run's answers are kept as cache (make the run again and nothing is asked again).

    Asks for confirmation unless --yes; a run another process is making right now is refused."""
    from store.db import StoreError

    from ..safe_text import inert

    db = _store_of(ctx, store)
    chosen = [_run_of(db, run_id) for run_id in dict.fromkeys(run_ids)]
    for run in chosen:
        common.err.print(
            inert(
                f"{run.title}: {run.suite}, {run.status}, started {run.started}, "
                f"{len(run.models)} models × {len(run.locales)} locales, {(run.summary or {}).get('total', '?')} cells"
            ),
            soft_wrap=True,
        )
    if not yes and not typer.confirm(
        f"delete {common._count(len(chosen), 'run')} (cached answers are kept)?", default=False, err=True
    ):
        fail("nothing deleted", 1)
    for run in chosen:
        try:
            gone = db.delete_run(run.id)
        except StoreError as exc:
            fail(str(exc))
        common.out.print(
            inert(
                f"deleted run {run.id}: {gone['cells']} cells, {gone['errors']} call errors; "
                f"its {gone['responses']} cached answers are kept ({gone['shared']} used by other runs)"
            )
        )


def _shards_of(run: Run) -> str:
    """A shard's run: its "i/n"; merged shards: each "i/n" the run holds; else empty."""
    own = run.spec.get("shard")
    if own:
        return f"{own['index']}/{own['count']}"
    return ", ".join(sorted((run.summary or {}).get("shards") or {}))


def _errors(store, run_id: int | None, as_json: bool) -> None:
    from rich.table import Table

    from store.results import run_errors

    from ..safe_text import inert, one_line

    db = _existing_store(store)
    found = db.run(run_id)
    if found is None:
        if run_id is not None:
            fail(f"--run {run_id}: {_missing(db, run_id)}")
        fail("no runs yet: start one with `gvs run SUITE`")
    run = found
    groups = run_errors(db, run, limit=0)
    if as_json:
        return _print_json(
            {
                "schema": "gvs.errors/1",
                "run": run.brief(),
                "groups": [
                    {
                        "kind": g.kind,
                        "scorer": g.scorer,
                        "reason": g.reason,
                        "count": g.count,
                        "advice": g.advice,
                        "example": g.example,
                    }
                    for g in groups
                ],
            }
        )
    if not groups:
        common.out.print(inert(f"{run.title}: every cell has an answer and every answer a score"))
        return
    table = Table("n", "what", "reason", "example", title=f"run {run.id}: failures and unscored answers, by reason")
    what = {"call": "no answer", "judge": "judge error", "unscored": "unscored"}
    for g in groups:
        ex = g.example
        where = f"{ex.get('model')} · {ex.get('locale')} · {ex.get('item_id')}"
        if ex.get("condition") not in (None, "none"):
            where += f" · {ex['condition']}"
        detail = [inert(where)]
        if ex.get("raw") is not None:
            detail.append(one_line(f"raw reply: {ex['raw']}", 120))
        if g.advice:
            detail.append(inert(f"→ {g.advice}", style="cyan"))
        label = what[g.kind] + (f" ({g.scorer})" if g.scorer else "")
        cell = detail[0]
        for extra in detail[1:]:
            cell = cell + "\n" + extra
        table.add_row(str(g.count), inert(label), one_line(g.reason, 160), cell)
    common.out.print(table)
