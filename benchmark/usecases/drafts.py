"""The machine-draft use case: a new locale variant whose every item is drafted by a translation
model (``gvs locale add SUITE TAG --translate-with MODEL``). Calls are cached in the store, so the
same command again asks nothing; an item that could not be drafted keeps the copied text as a draft.

    from benchmark.usecases.drafts import DraftOptions, draft_locale
    from store import open_store

    outcome = draft_locale("my-suite", "zh-TW", DraftOptions("openai/gpt-4o-mini"), lambda: open_store("gvs.db"))
    print(outcome.path, outcome.drafted, outcome.failed)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

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


@dataclass
class DraftOutcome:
    path: Path
    model: str  # the translation model, as resolved
    count: int  # items in the new file
    failed: list[str] = field(default_factory=list)  # item ids not drafted (kept as copied drafts)
    errors: list[str] = field(default_factory=list)  # "ITEM FIELD: reason" for each failed call

    @property
    def drafted(self) -> int:
        return self.count - len(self.failed)


def draft_locale(
    suite_id: str,
    tag: str,
    options: DraftOptions,
    open_store: Callable[[], RunStore],
    say: Callable[[str], None] = lambda text: None,
) -> DraftOutcome:
    """Write ``<tag>.yaml`` into the suite's folder with every item drafted by ``options.model``.
    The model is resolved (a missing key is an error) before anything else; the store is opened only
    once the suite, the tag and the source have passed every check, and the model must answer a ping
    before any item is sent. Raises GvsError; nothing is written on an error."""
    from benchmark.clients.models import resolve
    from benchmark.engine.runner import make_complete, ping
    from benchmark.localization import translate
    from benchmark.localization.locales import normalize
    from benchmark.localization.suites import add_variant, get_suite

    suite = get_suite(suite_id)
    (target,) = resolve([options.model], options.api_base)
    failed: list[str] = []
    errors: list[str] = []
    attempts = options.retries + 1

    def draft(source_tag: str, texts: list) -> dict[str, dict]:
        into = normalize(tag)  # valid by now; the normalized form keeps the request (and its cache key) stable
        db = open_store()

        async def work() -> tuple:
            outcome = await ping(db, target, timeout=options.timeout, max_attempts=attempts)
            if not outcome.ok:
                return outcome, None
            say(f"translating {len(texts)} items from {source_tag} into {into} with {target.name}…")
            complete = make_complete(
                db, concurrency=options.concurrency, timeout=options.timeout, max_attempts=attempts
            )
            return outcome, await translate.translate(texts, source_tag, into, target.name, complete, target.api_base)

        outcome, results = asyncio.run(work())
        if results is None:
            if db.fresh:  # created for this command: leave nothing behind
                db.remove()
            raise GvsError(f"model {target.name} cannot be reached: {outcome.error}")
        errors.extend(f"{r.item} {r.field}: {r.error}" for r in results if r.error is not None)
        entries, bad = translate.machine_entries(texts, results, target.name, source_tag)
        failed.extend(bad)
        return entries

    path, _, count = add_variant(suite, tag, options.from_tag, draft=draft)
    return DraftOutcome(path, target.name, count, failed, errors)
