"""Suites and what is in them: ``gvs suites``, ``show``, ``models``, ``conditions`` and ``check`` (translator QA)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypedDict

import typer

from . import common
from .common import (
    ApiBaseOpt,
    ConcurrencyOpt,
    JsonOpt,
    RetriesOpt,
    StoreOpt,
    SuiteArg,
    TimeoutOpt,
    _count,
    _print_json,
    fail,
)

if TYPE_CHECKING:
    from benchmark.localization.suites import LocalizedItem


class _SuiteRow(TypedDict):
    """A suite as ``gvs suites`` lists it (a table row, or an object of its --json)."""

    id: str
    name: str
    version: str
    items: int
    locales: list[str]
    axes: list[str]
    license: str
    path: str


class _ModelRow(TypedDict):
    """A model as ``gvs models`` lists it (a table row, or an object of its --json)."""

    model: str
    kind: str
    ready: bool
    note: str


def suites(as_json: JsonOpt = False) -> None:
    """List the available suites (shipped and imported)."""
    from benchmark.localization.suites import find_suites

    from ..safe_text import inert

    found = find_suites()
    rows: list[_SuiteRow] = [
        {
            "id": s.id,
            "name": s.name,
            "version": s.version,
            "items": len(s.items),
            "locales": s.locales,
            "axes": list(s.axes),
            "license": s.license,
            "path": str(s.path),
        }
        for s in found.values()
    ]
    if as_json:
        return _print_json(rows)
    from rich.table import Table

    table = Table("id", "name", "version", "items", "locales", "license")
    for r in rows:
        table.add_row(
            inert(r["id"]),
            inert(r["name"]),
            inert(r["version"]),
            str(r["items"]),
            inert(", ".join(r["locales"])),
            inert(r["license"]),
        )
    common.out.print(table)


def show(
    suite: SuiteArg,
    item: Annotated[str | None, typer.Argument(help="Item id (e.g. T-69); omit to list the items.")] = None,
    locale: Annotated[
        list[str] | None,
        typer.Option("-l", "--locale", help="Locale tag(s); default: all for an item, the source locale for a list."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a suite's items, or one item in every locale side by side."""
    from rich.table import Table

    from benchmark.localization.suites import get_suite

    from ..safe_text import inert

    s = get_suite(suite)
    if item is None:
        tag = (locale or [s.source_locale])[0]
        texts = s.variant(tag)
        if as_json:
            return _print_json(
                [
                    {
                        "id": t.id,
                        "tags": t.item.tags,
                        "metadata": t.item.metadata,
                        "prompt": t.prompt,
                        "focus": t.focus,
                        "status": t.status,
                    }
                    for t in texts
                ]
            )
        table = Table("id", *s.axes, "prompt", title=inert(f"{s.name} — {tag} ({len(texts)} of {len(s.items)} items)"))
        for t in texts:
            table.add_row(inert(t.id), *(inert(t.item.tags[a]) for a in s.axes), inert(t.prompt, limit=90))
        common.out.print(table)
        return
    target = s.item(item)
    tags = locale or s.locales
    by_locale: dict[str, LocalizedItem | None] = {}
    for tag in tags:
        found = [t for t in s.variant(tag) if t.id == target.id]
        by_locale[tag] = found[0] if found else None
    if as_json:
        return _print_json(
            {
                "id": target.id,
                "tags": target.tags,
                "metadata": target.metadata,
                "locales": {
                    tag: None
                    if t is None
                    else {
                        "prompt": t.prompt,
                        "focus": t.focus,
                        "status": t.status,
                        "notes": t.notes,
                        "origin": t.origin,
                        "adaptation_note": t.adaptation_note,
                        "supplied_by": t.supplied_by or tag,
                    }
                    for tag, t in by_locale.items()
                },
            }
        )
    common.out.print(inert(f"{target.id} · " + " › ".join(target.tags[a] for a in s.axes), style="bold"))
    if target.metadata:
        common.out.print(inert(", ".join(f"{k}: {v}" for k, v in target.metadata.items()), style="dim"))
    table = Table("", show_lines=True)
    for tag in by_locale:
        table.add_column(inert(tag), ratio=1, overflow="fold")

    def origin(tag: str, t) -> str:
        text = t.origin + (f": {t.adaptation_note}" if t.adaptation_note else "")
        return text + (f" (inherited from {t.supplied_by})" if t.supplied_by and t.supplied_by != tag else "")

    for field in ("prompt", "focus", "status", "notes", "origin"):
        cells = [
            "(absent in this locale)" if t is None else (origin(tag, t) if field == "origin" else getattr(t, field))
            for tag, t in by_locale.items()
        ]
        table.add_row(field, *[inert(c) for c in cells])
    common.out.print(table)


def models(as_json: JsonOpt = False) -> None:
    """List the embedded models and which providers have keys in the environment."""
    import os

    from benchmark.clients.embedded import EMBEDDED_MODELS
    from benchmark.clients.models import KNOWN_PROVIDER_KEYS

    rows: list[_ModelRow] = [
        {"model": m.name, "kind": "embedded", "ready": True, "note": m.description} for m in EMBEDDED_MODELS.values()
    ]
    for provider, env in KNOWN_PROVIDER_KEYS.items():
        rows.append(
            {
                "model": f"{provider}/…",
                "kind": "api",
                "ready": bool(os.environ.get(env)),
                "note": f"{env} {'set' if os.environ.get(env) else 'not set'}",
            }
        )
    if as_json:
        return _print_json(rows)
    from rich.table import Table

    table = Table(
        "model",
        "kind",
        "ready",
        "note",
        caption="Any LiteLLM model string works; for an OpenAI-compatible server use openai/<name> --api-base URL.",
    )
    for r in rows:
        table.add_row(r["model"], r["kind"], "yes" if r["ready"] else "no", r["note"])
    common.out.print(table)


def conditions_list(
    conditions_file: Annotated[
        list[Path] | None,
        typer.Option("--conditions", help="Also list the conditions of this YAML file.", dir_okay=False),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The run conditions: authority contexts (system prompts) and jailbreak wrappers, per language."""
    from benchmark.engine.conditions import available

    found = available(conditions_file)
    if as_json:
        return _print_json([c.spec() for c in found.values()])
    from rich.table import Table

    from ..safe_text import inert

    table = Table(
        "condition",
        "kind",
        "languages",
        "what it adds",
        title="conditions (the baseline, none, always runs too)",
        title_justify="left",
    )
    for c in found.values():
        what = (
            ("system prompt" if c.system else "")
            + (" + " if c.system and c.wrapper else "")
            + ("prompt wrapper" if c.wrapper else "")
        )
        langs = sorted({*c.system, *c.wrapper})
        table.add_row(inert(c.name), c.kind, inert(", ".join(langs)), inert(f"{what}: {c.note}" if c.note else what))
    common.out.print(table)


def check(
    suite: SuiteArg,
    locale: Annotated[
        list[str] | None,
        typer.Option("-l", "--locale", help="Locale tag; repeat for several (default: every locale of the suite)."),
    ] = None,
    as_json: JsonOpt = False,
    back_translate: Annotated[
        str | None,
        typer.Option(
            "--back-translate",
            help="Model (LiteLLM string) that translates each prompt back into the source language; scored with chrF and BLEU.",
        ),
    ] = None,
    api_base: ApiBaseOpt = None,
    min_chrf: Annotated[
        float | None,
        typer.Option(
            "--min-chrf",
            min=0.0,
            max=100.0,
            help="With --back-translate: a back-translation below this chrF is a warning.",
        ),
    ] = None,
    concurrency: ConcurrencyOpt = 8,
    timeout: TimeoutOpt = 120.0,
    retries: RetriesOpt = 3,
    store: StoreOpt = None,
) -> None:
    """Translator QA: per locale, what to fix (errors) and what to look at (warnings), each with item, field and line.

    Exits 1 when any error is found (gate CI on it), 0 otherwise, 2 on bad input."""
    import asyncio

    from benchmark import yamlfile
    from benchmark.localization import qa
    from benchmark.localization.suites import get_suite

    from ..safe_text import inert, one_line

    # The files prefetched here are read inside qa.check. The collector is paused while the suite is
    # read and checked (its millions of objects have no cycles) and what it holds is frozen after:
    # no collection walks it again, during back-translation and output or at exit.
    with yamlfile.gc_paused(freeze=True), yamlfile.shared_loads():
        if (Path(suite) / "suite.yaml").is_file():
            qa.prefetch(Path(suite), locale or [])
        s = get_suite(suite)
        tags = qa.check_tags(s, locale or [])
        if min_chrf is not None and back_translate is None:
            fail("--min-chrf needs --back-translate MODEL")
        results = None
        if back_translate is not None:
            from benchmark.clients.models import resolve
            from benchmark.engine.runner import make_complete, ping
            from store import open_store

            (target,) = resolve([back_translate], api_base)  # a missing key is an error before any work
            qa.back_translation_requests(s, tags, target.name, target.api_base)  # the source locale is readable
            db = open_store(store)
            outcome = asyncio.run(ping(db, target, timeout=timeout, max_attempts=retries + 1))
            if not outcome.ok:
                if db.fresh:  # this command created the store: leave nothing behind
                    db.remove()
                fail(f"model {target.name} cannot be reached: {outcome.error}")
            complete = make_complete(db, concurrency=concurrency, timeout=timeout, max_attempts=retries + 1)
        report = qa.check(s, tags)
    findings = list(report.findings)
    if back_translate is not None:
        results = asyncio.run(qa.back_translate(s, tags, target.name, complete, target.api_base))
        extra = qa.back_translation_findings(results, min_chrf)
        order = {tag: i for i, tag in enumerate(tags)}
        findings = sorted(
            findings + extra, key=lambda f: (order[f.locale], f.line or 0, qa.SEVERITIES.index(f.severity), f.code)
        )
    counts = {t: {"errors": 0, "warnings": 0} for t in tags}
    for f in findings:
        counts[f.locale]["errors" if f.severity == "error" else "warnings"] += 1
    errors = sum(c["errors"] for c in counts.values())
    warnings = sum(c["warnings"] for c in counts.values())
    if as_json:
        _print_json(
            {
                "schema": "gvs.check/1",
                "suite": s.id,
                "version": s.version,
                "source_locale": s.source_locale,
                "errors": errors,
                "warnings": warnings,
                "locales": [{**summary.to_dict(), **counts[summary.locale]} for summary in report.locales],
                "findings": [f.to_dict() for f in findings],
                "back_translation": None
                if results is None
                else {
                    "model": target.name,
                    "template": qa.BACK_TRANSLATION_TEMPLATE,
                    "into": s.source_locale,
                    "min_chrf": min_chrf,
                    "results": [r.to_dict() for r in results],
                },
            }
        )
    else:
        from rich.table import Table

        for summary in report.locales:
            mine = sorted(
                (f for f in findings if f.locale == summary.locale),
                key=lambda f: (qa.SEVERITIES.index(f.severity), f.line or 0, f.code),
            )
            if mine:
                table = Table(
                    "severity",
                    "line",
                    "item",
                    "field",
                    "check",
                    "message",
                    title=inert(f"{summary.locale} — {summary.path}"),
                    title_justify="left",
                )
                for f in mine:
                    style = "red" if f.severity == "error" else "yellow"
                    table.add_row(
                        inert(f.severity, style=style),
                        str(f.line or ""),
                        inert(f.item or ""),
                        inert(f.field or ""),
                        inert(f.code),
                        inert(f.message),
                    )
                common.out.print(table)
            c = counts[summary.locale]
            agreement = ", ".join(
                f"{d['agree']} of {d['checked']} {name} texts" for name, d in summary.detection.items() if d["checked"]
            )
            agreement = agreement and f"the language check reads {summary.language} in {agreement}"
            absent = f", {summary.absent} not in this locale by declaration" if summary.absent else ""
            line = (
                f"{summary.locale}: {_count(c['errors'], 'error')}, {_count(c['warnings'], 'warning')} "
                f"({summary.items} items{absent})" + (f"; {agreement}" if agreement else "")
            )
            common.out.print(inert(line, style="red" if c["errors"] else ("yellow" if c["warnings"] else "green")))
        if results is not None:
            table = Table(
                "locale",
                "item",
                "line",
                "chrF",
                "BLEU",
                "back-translation",
                title=inert(f"back-translation into {s.source_locale} by {target.name}, lowest chrF first"),
                title_justify="left",
            )
            for r in results:
                shown = one_line(r.text, 80) if r.error is None else inert(f"failed: {r.error}", limit=80, style="red")
                table.add_row(
                    inert(r.locale),
                    inert(r.item),
                    str(r.line),
                    "–" if r.chrf is None else f"{r.chrf:.1f}",
                    "–" if r.bleu is None else f"{r.bleu:.1f}",
                    shown,
                )
            common.out.print(table)
        common.out.print(
            inert(
                f"{s.id}: {_count(errors, 'error')}, {_count(warnings, 'warning')} in {_count(len(tags), 'locale')}",
                style="bold",
            )
        )
    if errors:
        raise typer.Exit(1)
