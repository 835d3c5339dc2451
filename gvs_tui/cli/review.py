"""``gvs review``: a translator walks a locale's unreviewed items one key at a time, or a script sets
statuses with ``--set``. Every decision is written to the locale file at once (benchmark.localization.review), so
quitting keeps what was done. The review core is imported when the command runs."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from . import common
from .common import EditableSuiteArg, _count, fail

KEYS = {"a": "approved", "r": "reviewed", "n": "needs-work"}
PROMPT = "[a]pprove  [r]eviewed  [n]eeds-work  [s]kip  [q]uit: "


def review(
    suite: EditableSuiteArg,
    locale: Annotated[str, typer.Option("-l", "--locale", help="The locale to review (BCP 47 tag).")],
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status",
            help="Walk the items with this status; repeat for several (default: draft, machine, needs-work).",
        ),
    ] = None,
    reviewer: Annotated[
        str | None,
        typer.Option("--reviewer", help="Who reviews (default: $GVS_REVIEWER, else git config user.name, else $USER)."),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="ID=STATUS", help="Set an item's status without asking; repeat for several."),
    ] = None,
    comment: Annotated[
        str | None, typer.Option("--comment", help="With --set ID=needs-work: what to fix (required there).")
    ] = None,
) -> None:
    """Review a locale's items: source and translation side by side with their QA findings; one key decides (a approve, r reviewed, n needs-work with a comment, s skip, q quit).

    Each decision is written to the locale file at once, with the reviewer and the date; --set decides without asking. Exits 2 on bad input (nothing written), 130 when interrupted (decisions made so far are kept)."""
    from benchmark.errors import GvsError

    try:
        if set_:
            _set(suite, locale, set_, status, reviewer, comment)
        else:
            _walk(suite, locale, status, reviewer, comment)
    except GvsError as exc:
        fail(str(exc))


def _set(
    suite_ref: str,
    tag: str,
    assignments: list[str],
    status: list[str] | None,
    reviewer: str | None,
    comment: str | None,
) -> None:
    from benchmark.errors import GvsError
    from benchmark.localization import review as core
    from benchmark.localization.suites import get_suite, load_suite

    if status:
        raise GvsError("--status chooses the items of the walk; with --set name the items instead")
    suite = get_suite(suite_ref)
    core.check_editable(suite)
    decisions: dict[str, str] = {}
    for raw in assignments:
        item_id, sep, value = raw.partition("=")
        item_id, value = item_id.strip(), value.strip()
        if not sep or not item_id or not value:
            raise GvsError(f"--set {raw!r}: expected ID=STATUS, e.g. --set T-5=approved")
        if item_id in decisions:
            raise GvsError(f"--set: item {item_id} is set twice")
        decisions[item_id] = value
    if comment is not None and "needs-work" not in decisions.values():
        raise GvsError("--comment goes with --set ID=needs-work")
    # Everything is checked before the first write: bad input leaves the file as it was.
    for item_id, value in decisions.items():
        tag = core.check_decision(suite, tag, item_id, value, comment if value == "needs-work" else None)
    who = None
    if any(value in core.SIGNED for value in decisions.values()):
        who = core.check_reviewer(reviewer if reviewer is not None else core.default_reviewer(suite.path))
    for item_id, value in decisions.items():
        done = core.set_status(
            suite, tag, item_id, value, reviewer=who, comment=comment if value == "needs-work" else None
        )
        common.out.print(_written(done))
        suite = load_suite(suite.path)


def _written(done) -> object:
    from ..safe_text import inert

    by = f" by {done.reviewer} on {done.reviewed_at}" if done.reviewer else ""
    copied = f" (copied from {done.copied_from} into {done.path.name})" if done.copied_from else ""
    return inert(f"{done.item_id}: {done.previous} → {done.status}{by}{copied} — {done.path.name}")


def _walk(suite_ref: str, tag: str, status: list[str] | None, reviewer: str | None, comment: str | None) -> None:
    from benchmark.errors import GvsError
    from benchmark.localization import locales, qa
    from benchmark.localization import review as core
    from benchmark.localization.suites import REVIEW_STATUSES, get_suite, load_suite

    from ..safe_text import inert

    if comment is not None:
        raise GvsError("--comment goes with --set ID=needs-work (the walk asks for a comment when you press n)")
    wanted = tuple(dict.fromkeys(status or core.UNREVIEWED))
    unknown = [s for s in wanted if s not in REVIEW_STATUSES]
    if unknown:
        raise GvsError(f"--status {unknown[0]!r}: expected one of {', '.join(REVIEW_STATUSES)}")
    suite = get_suite(suite_ref)
    core.check_editable(suite)
    try:
        tag = locales.normalize(tag)
    except locales.LocaleError as exc:
        raise GvsError(str(exc)) from None
    texts = suite.variant(tag)
    who = core.check_reviewer(reviewer if reviewer is not None else core.default_reviewer(suite.path))
    queue = [t.id for t in texts if t.status in wanted]
    absent = len(suite.items) - len(texts)
    if absent:
        common.out.print(
            inert(
                f"note: {_count(absent, 'item')} without text in {tag}: `gvs check` lists them as missing",
                style="yellow",
            )
        )
    if not queue:
        common.out.print(
            inert(f"nothing to review: none of the {len(texts)} items of {tag} is {' or '.join(wanted)}", style="green")
        )
        return
    common.out.print(
        inert(
            f"{_count(len(queue), 'item')} of {tag} to review ({', '.join(wanted)}), as {who}; each decision is written at once"
        )
    )
    counts: dict[str, int] = {}
    findings = None
    try:
        for number, item_id in enumerate(queue, 1):
            if findings is None:  # again after each write: the lines below an edit move
                findings = qa.check(suite, [tag]).findings
            _show(suite, tag, item_id, number, len(queue), [f for f in findings if f.item == item_id])
            decision = _ask()
            if decision == "q":
                break
            if decision == "s":
                counts["skipped"] = counts.get("skipped", 0) + 1
                continue
            status_value, text = decision
            done = core.set_status(suite, tag, item_id, status_value, reviewer=who, comment=text)
            common.out.print(_written(done), style="green")
            counts[status_value] = counts.get(status_value, 0) + 1
            suite, findings = load_suite(suite.path), None
    except KeyboardInterrupt:
        common.out.print(inert(f"\ninterrupted: {_summary(counts)} (written)", style="yellow"))
        raise typer.Exit(130) from None
    common.out.print(inert(_summary(counts), style="bold"))


def _summary(counts: dict[str, int]) -> str:
    order = ("approved", "reviewed", "needs-work", "skipped")
    return ", ".join(f"{counts[k]} {k}" for k in order if counts.get(k)) or "no decision"


def _show(suite, tag: str, item_id: str, number: int, total: int, findings: list) -> None:
    from rich.text import Text

    from ..safe_text import inert
    from ..tables import finding_line, source_beside_target

    texts = {t.id: t for t in suite.variant(tag)}
    text = texts[item_id]
    source = None
    if suite.source_locale != tag and suite.source_locale in suite.locale_files:
        source = {t.id: t for t in suite.variant(suite.source_locale)}.get(item_id)
    item = text.item
    common.out.print()
    common.out.rule(inert(f"{item_id}  ({number} of {total})"), align="left")
    head = inert(" › ".join(item.tags[a] for a in suite.axes))
    head.append_text(inert(f"   status: {text.status}", style="bold red" if text.status == "needs-work" else "yellow"))
    if text.supplied_by and text.supplied_by != tag:
        head.append_text(
            inert(f"   inherited from {text.supplied_by}: reviewing copies it into {tag}.yaml", style="dim")
        )
    common.out.print(head)
    common.out.print(source_beside_target(suite.source_locale, tag, source, text))
    if text.review_comment:
        common.out.print(inert(f"review comment: {text.review_comment}", style="red"))
    for f in findings:
        common.out.print(Text("QA ").append_text(finding_line(f)))
    if not findings:
        common.out.print(inert("QA: no findings", style="dim"))


def _ask():
    """The decision for the item shown: 'q', 's', or (status, comment or None). End of input is 'q'.
    On a terminal one key decides; from a pipe (scripts, tests) one line per decision."""
    import click

    while True:
        common.out.print(PROMPT, end="", markup=False)
        if sys.stdin.isatty():
            try:
                key = click.getchar()
            except EOFError:
                key = "q"
            common.out.print(key if key.isprintable() else "")
        else:
            line = sys.stdin.readline()
            key = line.strip()[:1] if line else "q"
        key = key.lower()
        if key in ("q", "s"):
            return key
        if key in KEYS and KEYS[key] != "needs-work":
            return KEYS[key], None
        if key == "n":
            common.out.print("comment — what to fix (empty to go back): ", end="", markup=False)
            text = sys.stdin.readline()
            if not text:
                return "q"
            if text.strip():
                return "needs-work", text.strip()
            continue
        if key:
            common.out.print(f"{key!r}: press a, r, n, s or q", markup=False)
