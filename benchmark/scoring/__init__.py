"""Scorers: plugins of one small interface that turn a response into a Score.

A scorer has a ``name``, a ``version`` and ``score(item, locale, response) -> Score`` (a value, a
label and details). Offline scorers (refusal, response language) answer at once; judge scorers
(the GVS 0–10 judge, the Schwartz value profile) ask a judge model and their ``score`` is a
coroutine. Scorers are registered under the entry-point group ``gvs.scorers``, so a team can add
its own from another package without touching gvs: the entry point names a class whose instances
are scorers (judge scorers take ``config`` and ``complete`` keyword arguments).

A score is keyed by the response, the scorer's name and version and, for judges, a digest of the
judge's configuration: changing a scorer means bumping its version, and old scores stay as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from benchmark.errors import GvsError

ENTRY_POINT_GROUP = "gvs.scorers"
# Built in, and found even when gvs runs from a source tree without installed metadata.
BUILTIN = {
    "refusal": "benchmark.scoring.refusal:RefusalScorer",
    "language": "benchmark.scoring.language:LanguageScorer",
    "gvs": "benchmark.scoring.judge:GvsJudge",
    "values": "benchmark.scoring.judge:ValueJudge",
}
OFFLINE = ("refusal", "language")


@dataclass(frozen=True)
class Score:
    scorer: str
    version: str
    value: float | None  # the number averaged in breakdowns (a rate for binary scorers, 0–10 for gvs)
    label: str
    details: dict = field(default_factory=dict)
    config: str = ""  # digest of the judge configuration; "" for offline scorers


@dataclass(frozen=True)
class ItemText:
    """What a scorer knows of the item: its text in the answer's locale and in the source language."""

    id: str
    prompt: str
    focus: str = ""
    source_prompt: str | None = None
    source_focus: str | None = None


class Scorer(Protocol):
    name: str
    version: str
    description: str
    needs_judge: bool

    def score(self, item: ItemText, locale: str, response: str) -> Any: ...  # Score, or an awaitable of one


class ScorerError(GvsError):
    pass


def registry() -> dict[str, str]:
    """Scorer name -> ``module:attribute``, built-ins first, then installed plugins."""
    from importlib.metadata import entry_points

    found = dict(BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep.value)
    return found


def scorer_class(name: str):
    import importlib

    known = registry()
    if name not in known:
        raise ScorerError(f"unknown scorer {name!r} (known: {', '.join(sorted(known))})")
    module, _, attr = known[name].partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ScorerError(f"scorer {name!r} ({known[name]}) cannot be loaded: {exc}") from None


def create(name: str, **options) -> Scorer:
    """An instance of scorer ``name``; judge scorers need ``config`` and ``complete``."""
    cls = scorer_class(name)
    if getattr(cls, "needs_judge", False):
        if options.get("config") is None:
            raise ScorerError(f"scorer {name!r} needs a judge model: pass --judge MODEL")
        return cls(**options)
    return cls()


def offline_versions() -> dict[str, str]:
    return {name: scorer_class(name).version for name in OFFLINE}


_offline: list | None = None


def offline_scores(text: str, locale: str, item: ItemText | None = None) -> list[Score]:
    """Refusal and response-language scores of one response to a prompt in ``locale``."""
    global _offline
    if _offline is None:
        _offline = [create(name) for name in OFFLINE]
    subject = item or ItemText(id="", prompt="")
    return [s.score(subject, locale, text) for s in _offline]
