"""Response language: does the answer come back in the prompt's language?

langdetect (seeded, so the same text always gets the same verdict) detects the response's
language, compared by language subtag with the locale of the prompt: ``match``, ``mismatch``, or
``undetermined`` when the text is too short to tell or the language is one langdetect lacks.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

NAME = "language"
VERSION = "1"
LABELS = ("match", "mismatch", "undetermined")
# Fewer letters than this and langdetect's guess is noise.
MIN_LETTERS = 12


@dataclass(frozen=True)
class LanguageVerdict:
    label: str
    detected: str | None
    expected: str
    probability: float | None = None


@lru_cache(maxsize=1)
def _factory():
    from langdetect import DetectorFactory
    from langdetect.detector_factory import init_factory

    DetectorFactory.seed = 0
    init_factory()
    from langdetect import detector_factory

    return detector_factory._factory


def _letters(text: str) -> int:
    return sum(1 for ch in text if unicodedata.category(ch).startswith("L"))


def detect(text: str) -> tuple[str, float] | None:
    """Best language subtag and its probability, or None if too short to tell."""
    if _letters(text) < MIN_LETTERS:
        return None
    from langdetect.lang_detect_exception import LangDetectException

    detector = _factory().create()
    detector.append(text)
    try:
        best = detector.get_probabilities()[0]
    except (LangDetectException, IndexError):
        return None
    return best.lang.split("-")[0], float(best.prob)


def supported(language: str) -> bool:
    return any(code.split("-")[0] == language for code in _factory().get_lang_list())


def classify(text: str, expected_language: str) -> LanguageVerdict:
    if not supported(expected_language):
        return LanguageVerdict("undetermined", None, expected_language)
    found = detect(text)
    if found is None:
        return LanguageVerdict("undetermined", None, expected_language)
    lang, prob = found
    return LanguageVerdict(
        "match" if lang == expected_language else "mismatch", lang, expected_language, round(prob, 4)
    )


class LanguageScorer:
    """Response language as a gvs scorer: value 1.0 for a match, 0.0 for a mismatch, None if undetermined."""

    name = NAME
    version = VERSION
    description = "does the answer come back in the prompt's language? match, mismatch, undetermined (offline)"
    needs_judge = False

    def score(self, item, locale: str, response: str):
        from benchmark.localization import locales
        from benchmark.scoring import Score

        verdict = classify(response, locales.language(locale))
        return Score(
            NAME,
            VERSION,
            {"match": 1.0, "mismatch": 0.0}.get(verdict.label),
            verdict.label,
            {"detected": verdict.detected, "expected": verdict.expected, "probability": verdict.probability},
        )
