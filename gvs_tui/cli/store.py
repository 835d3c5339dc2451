"""``gvs store``: work on store files (merge the stores of a sharded run, compact one)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import common
from .common import JsonOpt, StoreOpt, _count, _existing_store, _print_json

app = typer.Typer(
    help="Work on store files: merge the stores of a sharded run (or any stores) into one; compact one.",
    no_args_is_help=True,
)


@app.command("compact")
def store_compact(ctx: typer.Context, store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """Rewrite the store without its free space (SQLite's VACUUM): what an upgrade that rebuilt its tables, deleted runs or replaced answers left.

    Every row stays. Needs free disk about the store's size, and waits for a run writing to it (or fails, the store unchanged)."""
    from ..safe_text import inert

    db = _existing_store(store or (ctx.obj or {}).get("store"))
    try:
        before, after = db.compact()
    finally:
        db.close()
    if as_json:
        _print_json({"store": str(db.path), "bytes_before": before, "bytes_after": after})
    else:
        common.out.print(inert(f"compacted {db.path}: {before / 2**20:,.1f} MiB → {after / 2**20:,.1f} MiB"))


@app.command("merge")
def store_merge(
    inputs: Annotated[
        list[Path], typer.Argument(help="Store files to merge; read only, never modified.", show_default=False)
    ],
    output: Annotated[
        Path,
        typer.Option(
            "-o", "--output", help="The merged store: created, or merged into when it exists.", dir_okay=False
        ),
    ],
    as_json: JsonOpt = False,
) -> None:
    """Merge stores into one: responses, scores, call errors, runs and their cells; the shards of a run (`gvs run --shard`) become that one run.

    Merging again changes nothing. A response or score held with another value is a conflict: the first one wins (the output's, then the inputs in order) and the conflicts are reported."""
    from store.merge import merge_stores

    from ..safe_text import inert

    report = merge_stores(inputs, output)
    if as_json:
        _print_json(report.to_json())
    else:
        verb = "created" if report.created else "merged into"
        common.out.print(inert(f"{verb} {report.output} from {_count(len(report.inputs), 'store')}"))
        for name, t in report.tables.items():
            common.out.print(
                inert(
                    f"  {name}: {t.added} added, {t.skipped} already there"
                    + (f", {t.conflicts} conflicting" if t.conflicts else "")
                )
            )
        for r in report.runs:
            where = ", ".join(f"{Path(path).name}#{run}" for path, run in r.sources)
            shards = f" ← shards {', '.join(r.shards)}" if r.shards else ""
            common.out.print(
                inert(
                    f"  run {r.id} ({r.suite}){shards} from {where}: {r.status}, {r.answered} of {r.cells} cells answered"
                )
            )
    for r in report.runs:
        if r.missing:
            common.err.print(
                inert(
                    f"note: run {r.id} lacks shard {', '.join(r.missing)}: merge its store too, or run the unsharded command on the merged store to fill the gaps",
                    style="yellow",
                )
            )
    for name, t in report.tables.items():
        if t.conflicts:
            common.err.print(
                inert(
                    f"warning: {t.conflicts} conflicting {name} (the first kept): {', '.join(t.conflict_keys)}"
                    + (" …" if t.conflicts > len(t.conflict_keys) else ""),
                    style="yellow",
                )
            )
