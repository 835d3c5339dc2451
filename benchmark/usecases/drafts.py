"""The machine-draft use case: a locale variant whose items are drafted by a translation model
(``gvs locale add SUITE TAG --translate-with MODEL``), all at once or a few at a time.

- Only the items the locale file does not hold yet are drafted (``items`` and ``limit`` pick some of
  them): the first command writes ``<TAG>.yaml``, a later one adds the items it still lacks, in suite
  order, and never changes an item the file holds (a draft, a machine draft, a reviewed or approved
  item: human work stays as it is; every other byte of the file too).
- Every reply is checked (``textchecks``): a refusal, a degenerate, truncated, wrong-language or
  wrong-script reply is stored as ``needs-work`` with the reasons in ``review_comment`` and the
  source text copied, never as a ``machine`` draft.
- Calls go through the store's cache, like a run's, so the same draft asks nothing twice; an item
  whose call failed gets no entry, and the same command again drafts it.

    from benchmark.usecases.drafts import DraftOptions, draft_locale
    from store import open_store

    outcome = draft_locale("my-suite", "zh-TW", DraftOptions("openai/gpt-4o-mini", limit=5), lambda: open_store("gvs.db"))
    print(outcome.path, outcome.machine, outcome.needs_work, outcome.remaining)
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.errors import GvsError
from benchmark.usecases.run import RunStore


@dataclass
class DraftOptions:
    model: str  # the translation model (LiteLLM string)
    api_base: str | None = None
    concurrency: int = 8
    timeout: float = 120.0
    retries: int = 3
    from_tag: str | None = None  # the variant to translate from (default: the source locale)
    items: list[str] | None = None  # only these item ids (default: every item of the suite)
    limit: int | None = None  # at most this many of the items not drafted yet, in suite order


@dataclass
class DraftOutcome:
    path: Path
    model: str  # the translation model, as resolved
    source: str  # the locale translated from
    count: int  # items the file holds now
    created: bool = False  # this command wrote the file for the first time
    machine: list[str] = field(default_factory=list)  # item ids drafted, status machine
    needs_work: dict[str, list[str]] = field(default_factory=dict)  # item id -> reason codes (status needs-work)
    skipped: dict[str, str] = field(default_factory=dict)  # item id -> its status: in the file already, left alone
    failed: list[str] = field(default_factory=list)  # item ids whose call failed (no entry: the next run retries)
    errors: list[str] = field(default_factory=list)  # "ITEM FIELD: reason" for each failed call
    remaining: list[str] = field(default_factory=list)  # items of the source the file still lacks

    @property
    def drafted(self) -> int:
        """Items written by this command (machine and needs-work)."""
        return len(self.machine) + len(self.needs_work)

    def reasons(self) -> dict[str, list[str]]:
        """Reason code -> the needs-work items it applies to, most frequent reason first."""
        by_code: dict[str, list[str]] = {}
        for item_id, codes in self.needs_work.items():
            for code in codes:
                by_code.setdefault(code, []).append(item_id)
        return dict(sorted(by_code.items(), key=lambda kv: (-len(kv[1]), kv[0])))

    def skipped_statuses(self) -> Counter:
        return Counter(self.skipped.values())


def draft_locale(
    suite_id: str,
    tag: str,
    options: DraftOptions,
    open_store: Callable[[], RunStore],
    say: Callable[[str], None] = lambda text: None,
) -> DraftOutcome:
    """Draft into ``<tag>.yaml`` (created if missing) the items it does not hold yet (of
    ``options.items`` if given; the first ``options.limit`` of them if given) with ``options.model``.

    The model is resolved (a missing key is an error) before anything else; the store is opened only
    when some item is left to draft, once the suite, the tag, the source and the existing file have
    passed every check, and the model must answer a ping before any item is sent. Raises GvsError;
    nothing is written on an error."""
    from benchmark.clients.models import resolve
    from benchmark.engine.runner import make_complete, ping
    from benchmark.localization import locales, translate
    from benchmark.localization.suites import add_variant, get_suite, shipped_dir

    suite = get_suite(suite_id)
    (target,) = resolve([options.model], options.api_base)
    try:
        into = locales.normalize(tag)  # the normalized form keeps the request (and its cache key) stable
        source_tag = locales.normalize(options.from_tag or suite.source_locale)
    except locales.LocaleError as exc:
        raise GvsError(str(exc)) from None
    if Path(suite.path).resolve().is_relative_to(shipped_dir().resolve()):
        raise GvsError(
            f"suite {suite.id!r} is shipped with gvs: copy its folder elsewhere (or import it) and add the variant there"
        )
    if into == source_tag:
        raise GvsError(f"{into} cannot be drafted from itself: pass --from another variant")
    if into == locales.normalize(suite.source_locale):
        raise GvsError(f"{into} is the source locale of suite {suite.id!r}: its texts are the originals")
    texts = suite.variant(source_tag)
    path = Path(suite.path) / f"{into}.yaml"
    exists = into in suite.locale_files or path.exists()
    held = _held(suite, into) if exists else {}
    # Items not in this locale by declaration (suite.yaml's `locales`, the file's `absent`): never drafted.
    gaps = (
        suite.absent(into)
        if exists
        else {
            t.id: f"declared for {', '.join(t.item.locales)} only (suite.yaml)"
            for t in texts
            if not t.item.declared_for((into,))
        }
    )
    requested = _select(suite, texts, options.items, source_tag, into, gaps)
    texts = [t for t in texts if t.id not in gaps]
    pending = [t for t in requested if t.id not in held]
    if options.limit is not None:
        pending = pending[: max(0, options.limit)]
    outcome = DraftOutcome(
        path, target.name, source_tag, len(held), skipped={t.id: held[t.id] for t in requested if t.id in held}
    )
    if not pending:  # nothing to ask: no store, no ping
        outcome.remaining = [t.id for t in texts if t.id not in held]
        return outcome

    db = open_store()
    attempts = options.retries + 1

    async def work() -> tuple:
        reached = await ping(db, target, timeout=options.timeout, max_attempts=attempts)
        if not reached.ok:
            return reached, None
        say(f"translating {len(pending)} of {len(texts)} items from {source_tag} into {into} with {target.name}…")
        complete = make_complete(db, concurrency=options.concurrency, timeout=options.timeout, max_attempts=attempts)
        return reached, await translate.translate(pending, source_tag, into, target.name, complete, target.api_base)

    reached, results = asyncio.run(work())
    if results is None:
        if db.fresh:  # created for this command: leave nothing behind
            db.remove()
        raise GvsError(f"model {target.name} cannot be reached: {reached.error}")
    outcome.errors = [f"{r.item} {r.field}: {r.error}" for r in results if r.error is not None]
    made = translate.machine_entries(pending, results, target.name, source_tag)
    entries = made.entries
    if entries and not exists:
        written_path, _, _ = add_variant(suite, into, source_tag, draft=lambda _from, _texts: entries)
        outcome.path, outcome.created = written_path, True
    elif entries:
        from benchmark.localization.review import add_entries

        entries = add_entries(suite, into, path, entries)
    outcome.machine = [i for i in made.machine if i in entries]
    outcome.needs_work = {i: codes for i, codes in made.needs_work.items() if i in entries}
    outcome.failed = made.failed
    outcome.skipped.update({i: "added meanwhile" for i in made.entries if i not in entries})  # left alone
    outcome.count = len(held) + len(entries)
    outcome.remaining = [t.id for t in texts if t.id not in held and t.id not in entries]
    return outcome


def _held(suite: Any, tag: str) -> dict[str, str]:
    """The items ``tag``'s file holds, by id, with their review status; GvsError if the file does not
    load or inherits another locale (machine drafts go into a file of their own)."""
    texts = suite.variant(tag)  # the whole file must load before anything is asked
    parent = suite.parent(tag)
    if parent:
        raise GvsError(
            f"{suite.locale_files[tag]} inherits {parent}: machine drafts go into a variant of their own "
            "(one without 'inherits'); add them to a new variant or edit this one by hand"
        )
    return {t.id: t.status for t in texts}


def _select(suite: Any, texts: list, items: list[str] | None, source_tag: str, into: str, gaps: dict[str, str]) -> list:
    """The texts of the ``items`` asked for (every text without ``items``), in suite order, less the
    ``gaps`` (items not in ``into`` by declaration); GvsError naming an id the suite does not declare,
    one that is not in ``into`` by declaration, or one the source variant has no text for."""
    if items is None:
        return [t for t in texts if t.id not in gaps]
    wanted = list(dict.fromkeys(i.strip() for i in items if i.strip()))
    if not wanted:
        raise GvsError("--items: no item id given")
    for item_id in wanted:
        suite.item(item_id)  # declared in suite.yaml
        if item_id in gaps:
            raise GvsError(f"item {item_id} is not in {into}: {gaps[item_id]}")
    have = {t.id for t in texts}
    missing = [i for i in wanted if i not in have]
    if missing:
        raise GvsError(f"{source_tag} has no text for {', '.join(missing)}: nothing to translate from")
    chosen = set(wanted)
    return [t for t in texts if t.id in chosen]
