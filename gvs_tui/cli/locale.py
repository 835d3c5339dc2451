"""``gvs locale``: add, export and import the locale variants of a suite."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import common
from .common import (
    ApiBaseOpt,
    ConcurrencyOpt,
    EditableSuiteArg,
    RetriesOpt,
    StoreOpt,
    SuiteArg,
    TimeoutOpt,
    _count,
    fail,
)

app = typer.Typer(help="Manage the locale variants of a suite.", no_args_is_help=True)


@app.command("add")
def locale_add(
    suite: EditableSuiteArg,
    tag: Annotated[str, typer.Argument(help="BCP 47 tag of the new variant, e.g. es-MX.")],
    from_tag: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Copy (or, with --translate-with, translate) this variant's texts (default: inherit the language's variant for a regional tag, else copy the source locale; with --translate-with, the source locale).",
        ),
    ] = None,
    translate_with: Annotated[
        str | None,
        typer.Option(
            "--translate-with",
            help="Model (LiteLLM string) that drafts the prompts and focuses by machine translation: items that pass the checks are marked machine, for review; a refusal or a degenerate reply is marked needs-work with the reason. Into an existing file it adds only the items the file lacks.",
        ),
    ] = None,
    items: Annotated[
        list[str] | None,
        typer.Option(
            "--items",
            metavar="ID[,ID…]",
            help="With --translate-with: draft only these items (repeat the option, or separate ids with commas).",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            min=1,
            metavar="N",
            help="With --translate-with: draft at most N of the items not drafted yet, in suite order (run again for the next N).",
        ),
    ] = None,
    api_base: ApiBaseOpt = None,
    concurrency: ConcurrencyOpt = 8,
    timeout: TimeoutOpt = 120.0,
    retries: RetriesOpt = 3,
    store: StoreOpt = None,
) -> None:
    """Scaffold a new locale variant file: every copied item is a draft to translate.

    With --translate-with MODEL the items are drafted by machine translation instead (calls cached in
    the store: the same draft is never asked twice), all of them or those of --items / --limit; run the
    command again to draft the rest: only items the file does not hold are drafted, and nothing already
    in it (reviewed or not) is changed. A reply that is a refusal, degenerate, truncated or in the wrong
    language or script is stored as needs-work with the reason, and the source text to translate.
    Exits 1 when some calls failed: those items are left out of the file (run the command again to
    retry only them)."""
    from benchmark.localization.locales import display_name
    from benchmark.localization.suites import add_variant, get_suite

    from ..safe_text import inert, one_line

    if translate_with is None:
        for given, name in ((api_base, "--api-base"), (items, "--items"), (limit, "--limit")):
            if given is not None:
                fail(f"{name} goes with --translate-with MODEL")
        s = get_suite(suite)
        path, parent, count = add_variant(s, tag, from_tag)
        what = (
            f"inherits {parent}, no items of its own yet"
            if parent
            else f"{_count(count, 'item')} to translate, all draft"
        )
        common.out.print(inert(f"wrote {path} ({what})"))
        return
    from benchmark.usecases.drafts import DraftOptions, draft_locale
    from store import open_store

    ids = None if items is None else [i.strip() for value in items for i in value.split(",") if i.strip()]
    if items is not None and not ids:
        fail("--items: no item id given")
    options = DraftOptions(
        translate_with,
        api_base=api_base,
        concurrency=concurrency,
        timeout=timeout,
        retries=retries,
        from_tag=from_tag,
        items=ids,
        limit=limit,
    )
    say = lambda text: common.err.print(inert(text))  # noqa: E731
    outcome = draft_locale(suite, tag, options, lambda: open_store(store), say=say)
    for error in outcome.errors:
        common.err.print(one_line(error, 200, style="red"))
    path, failed = outcome.path, outcome.failed

    def say_out(text: str) -> None:
        common.out.print(inert(text), soft_wrap=True)  # one line each, whatever the terminal's width

    def shown(ids: list[str], most: int = 20) -> str:
        return ", ".join(ids[:most]) + (f" and {len(ids) - most} more" if len(ids) > most else "")

    verb = "wrote" if outcome.created else "added to" if outcome.drafted else "left as it was:"
    say_out(f"{verb} {path} ({display_name(path.stem)})" if path.exists() else f"{path}: not written")
    if outcome.drafted:
        say_out(
            f"{_count(outcome.drafted, 'item')} drafted by {outcome.model} from {outcome.source}: "
            f"{len(outcome.machine)} machine (to review), {len(outcome.needs_work)} needs-work"
        )
        for code, ids in outcome.reasons().items():
            say_out(f"  needs-work, {code}: {_count(len(ids), 'item')} ({shown(ids, 10)})")
    elif not failed:
        say_out("nothing to draft")
    if outcome.skipped:
        statuses = ", ".join(f"{n} {status}" for status, n in outcome.skipped_statuses().most_common())
        say_out(f"{_count(len(outcome.skipped), 'item')} skipped: in the file already, left as they are ({statuses})")
    later = [i for i in outcome.remaining if i not in failed]
    if later and (limit is not None or items is not None):
        say_out(
            f"{_count(len(later), 'item')} of {outcome.source} not drafted yet: run the command again to draft them"
        )
    if failed:
        common.err.print(
            inert(
                f"{_count(len(failed), 'item')} not drafted, the call failed: {shown(failed)}; "
                "run the same command again to retry only those",
                style="red",
            ),
            soft_wrap=True,
        )
        raise typer.Exit(1)


@app.command("export")
def locale_export(
    suite: SuiteArg,
    tag: Annotated[str, typer.Argument(help="BCP 47 tag of the variant to export.")],
    output: Annotated[
        Path,
        typer.Option(
            "-o", "--output", help="File to write: .xlf/.xliff (XLIFF 1.2) or .po (gettext PO).", dir_okay=False
        ),
    ],
) -> None:
    """Export a variant for translators' tools (Weblate, Poedit, a TMS): one unit per item field, with status and notes."""
    from benchmark.localization import interchange
    from benchmark.localization.locales import display_name, normalize
    from benchmark.localization.suites import get_suite
    from benchmark.outfile import atomic_path

    from ..safe_text import inert

    fmt = interchange.format_of(output)
    s = get_suite(suite)
    data = interchange.export_variant(s, tag, fmt)
    try:
        with atomic_path(output) as tmp, open(tmp, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        fail(f"{output}: cannot write it ({exc.strerror or exc})")
    tag = normalize(tag)  # valid: the export read the variant
    common.out.print(inert(f"exported {s.id} {tag} ({display_name(tag)}) -> {output}"))


@app.command("import")
def locale_import(
    suite: EditableSuiteArg,
    file: Annotated[
        Path,
        typer.Argument(help="An XLIFF (.xlf/.xliff) or PO (.po) file made by `gvs locale export`.", dir_okay=False),
    ],
    locale: Annotated[
        str | None,
        typer.Option(
            "--locale", "-l", help="The variant to write (default: the file's target language; both given must agree)."
        ),
    ] = None,
) -> None:
    """Write a variant's locale file from an XLIFF or PO file: texts, statuses, notes and item keys.

    Nothing is written when the file has a unit the suite does not know, or any other problem (exit 2)."""
    from benchmark.localization import interchange
    from benchmark.localization.locales import display_name
    from benchmark.localization.suites import get_suite

    from ..safe_text import inert

    result = interchange.import_variant(get_suite(suite), file, locale)
    if not result.written:
        common.out.print(
            inert(
                f"{result.path} ({display_name(result.tag)}): 0 changed, left as it was ({_count(result.items, 'item')})"
            )
        )
    else:
        verb = "created" if result.created else "wrote"
        common.out.print(
            inert(
                f"{verb} {result.path} ({display_name(result.tag)}): {_count(result.items, 'item')}, "
                f"{len(result.changed)} changed, {len(result.removed)} left out (empty prompt)"
            )
        )
    if result.stale:
        shown = ", ".join(result.stale[:10]) + (" …" if len(result.stale) > 10 else "")
        common.err.print(
            inert(
                f"warning: {_count(len(result.stale), 'unit')} were translated from a source text that has changed since: {shown}",
                style="yellow",
            )
        )
