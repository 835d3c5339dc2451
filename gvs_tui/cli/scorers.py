"""``gvs scorers``: list the scorers, or apply one to a JSONL file of prompts and responses."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from . import common
from .common import JsonOpt, JudgeApiBaseOpt, JudgeOpt, StoreOpt, _print_json, fail, open_store_for

app = typer.Typer(
    help="List scorers, or apply one to a JSONL file of prompts and responses.", invoke_without_command=True
)


@app.callback()
def scorers_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List the scorers: built-in and installed plugins (entry-point group gvs.scorers)."""
    if ctx.invoked_subcommand is not None:
        return
    from benchmark.scoring import BUILTIN, registry, scorer_class

    rows = []
    for name, target in registry().items():
        cls = scorer_class(name)
        rows.append(
            {
                "name": name,
                "version": cls.version,
                "needs_judge": bool(cls.needs_judge),
                "builtin": name in BUILTIN,
                "target": target,
                "description": cls.description,
            }
        )
    if as_json:
        return _print_json(rows)
    from rich.table import Table

    from ..safe_text import inert

    table = Table("name", "version", "kind", "description")
    for r in rows:
        kind = ("judge" if r["needs_judge"] else "offline") + ("" if r["builtin"] else " (plugin)")
        table.add_row(inert(r["name"]), inert(r["version"]), kind, inert(r["description"]))
    common.out.print(table)


@app.command("apply")
def scorers_apply(
    name: Annotated[str, typer.Argument(help="Scorer name (see `gvs scorers`).")],
    source: Annotated[
        Path,
        typer.Argument(
            help='JSONL input: one {"prompt": …, "response": …} per line (optional "focus", "locale", "id").',
            dir_okay=False,
        ),
    ],
    locale: Annotated[str, typer.Option("-l", "--locale", help="Locale of lines that do not name one.")] = "en-US",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here (default: standard output).", dir_okay=False)
    ] = None,
    judge: JudgeOpt = None,
    judge_api_base: JudgeApiBaseOpt = None,
    store: StoreOpt = None,
) -> None:
    """Score standalone lines and write each back with `label` and `value` (and `details`) added."""
    from benchmark.usecases.apply import ApplyOptions, apply_scorer, needs_judge, read_lines

    judged = needs_judge(name)
    if output is not None and not output.parent.is_dir():
        fail(f"-o {output}: no folder {output.parent}")
    lines = read_lines(source, default_locale=locale)
    if judged and judge is None:
        fail(f"scorer {name!r} needs a judge model: pass --judge MODEL")
    options = ApplyOptions(name, judge=judge, judge_api_base=judge_api_base)
    scored = apply_scorer(options, lines, open_store_for(store) if judged else None)
    rendered = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in scored)
    if output is None:
        sys.stdout.write(rendered)
        return
    from benchmark.outfile import write_text

    write_text(output, rendered)
    common.err.print(f"scored {len(scored)} lines with {name} -> {output}", markup=False)
