"""Scorers: each turns a response into a Score with a name, a version, a value and a label.

The offline scorers (refusal, response language) need no model and run as each answer is
stored; a score is keyed by the response and the scorer's name and version, so changing a
scorer means bumping its version and the old scores are left as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import locales


@dataclass(frozen=True)
class Score:
    scorer: str
    version: str
    value: float | None  # the number averaged in breakdowns (a rate for binary scorers)
    label: str
    details: dict = field(default_factory=dict)


def offline_versions() -> dict[str, str]:
    from . import language, refusal

    return {refusal.NAME: refusal.VERSION, language.NAME: language.VERSION}


def offline_scores(text: str, locale: str) -> list[Score]:
    """Refusal and response-language scores of one response to a prompt in ``locale``."""
    from . import language, refusal

    verdict = refusal.classify(text)
    lang = language.classify(text, locales.language(locale))
    value = {"match": 1.0, "mismatch": 0.0}.get(lang.label)
    return [
        Score(refusal.NAME, refusal.VERSION, 1.0 if verdict.refused else 0.0, verdict.label, {"cues": list(verdict.cues)}),
        Score(
            language.NAME,
            language.VERSION,
            value,
            lang.label,
            {"detected": lang.detected, "expected": lang.expected, "probability": lang.probability},
        ),
    ]
