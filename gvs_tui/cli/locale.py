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
            help="Model (LiteLLM string) that drafts every prompt and focus by machine translation; items are marked machine, for review.",
        ),
    ] = None,
    api_base: ApiBaseOpt = None,
    concurrency: ConcurrencyOpt = 8,
    timeout: TimeoutOpt = 120.0,
    retries: RetriesOpt = 3,
    store: StoreOpt = None,
) -> None:
    """Scaffold a new locale variant file: every copied item is a draft to translate.

    With --translate-with MODEL every item is drafted by machine translation (calls cached in the
    store: the same command again asks nothing). Exits 1 when some items could not be drafted: the
    file is written, those items keep the copied text as drafts (delete the file and run the command
    again to retry only them)."""
    from benchmark.localization.locales import display_name
    from benchmark.localization.suites import add_variant, get_suite

    from ..safe_text import inert, one_line

    s = get_suite(suite)
    if translate_with is None:
        if api_base is not None:
            fail("--api-base goes with --translate-with MODEL")
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

    options = DraftOptions(
        translate_with, api_base=api_base, concurrency=concurrency, timeout=timeout, retries=retries, from_tag=from_tag
    )
    say = lambda text: common.err.print(inert(text))  # noqa: E731
    outcome = draft_locale(suite, tag, options, lambda: open_store(store), say=say)
    for error in outcome.errors:
        common.err.print(one_line(error, 200, style="red"))
    path, failed = outcome.path, outcome.failed
    common.out.print(
        inert(
            f"wrote {path} ({display_name(path.stem)}): {_count(outcome.drafted, 'item')} drafted by {outcome.model}, status machine, to review"
        )
    )
    if failed:
        shown = ", ".join(failed[:20]) + (f" and {len(failed) - 20} more" if len(failed) > 20 else "")
        common.err.print(
            inert(
                f"{_count(len(failed), 'item')} not drafted (kept as draft, with the copied text): {shown}; "
                f"delete {path} and run the command again to retry only those",
                style="red",
            )
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
