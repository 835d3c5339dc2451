"""The apply-a-scorer use case: score standalone JSONL lines (``{"prompt": …, "response": …}``, with
optional ``focus``, ``locale`` and ``id``) with one scorer, and write each line back with its
``label``, ``value`` and ``details`` — to check a scorer against labels of your own.

    from benchmark.usecases.apply import ApplyOptions, apply_scorer, read_lines
    lines = read_lines(Path("mine.jsonl"), default_locale="en-US")
    scored = apply_scorer(ApplyOptions("refusal"), lines)
"""

from __future__ import annotations

import asyncio
import inspect
import json
from dataclasses import dataclass
from pathlib import Path

from benchmark.errors import GvsError, InputFileError
from benchmark.usecases.run import RunStore, judge_setup, ping_judge
from benchmark.usecases.score import ScoreOptions


@dataclass
class ApplyOptions:
    scorer: str
    judge: str | None = None  # for judge scorers
    judge_api_base: str | None = None
    concurrency: int = 8
    timeout: float = 120.0
    retries: int = 3


@dataclass
class Line:
    data: dict  # the line's object, written back with the score added
    locale: str


def read_lines(source: Path, default_locale: str = "en-US") -> list[Line]:
    """The lines of a JSONL file; an InputFileError naming the file and line for anything else."""
    from benchmark.localization import locales as loc
    from benchmark.yamlfile import decode

    tag = loc.normalize(default_locale)
    try:
        raw_bytes = source.read_bytes()
    except OSError as exc:
        raise GvsError(f"{source}: cannot read ({exc.strerror or exc})") from None
    lines = []
    # split on LF only: str.splitlines also splits at U+2028 and others that JSON text may hold raw
    for number, raw in enumerate(decode(source, raw_bytes).split("\n"), 1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InputFileError(source, number, f"not JSON ({exc.msg})") from None
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("response"), str)
            or not isinstance(data.get("prompt", ""), str)
        ):
            raise InputFileError(source, number, 'expected an object with "prompt" and "response" text')
        try:
            line_locale = loc.normalize(data["locale"]) if data.get("locale") else tag
        except loc.LocaleError as exc:
            raise InputFileError(source, number, str(exc)) from None
        lines.append(Line(data, line_locale))
    if not lines:
        raise GvsError(f'{source}: no lines to score (expected one {{"prompt": …, "response": …}} object per line)')
    return lines


def needs_judge(scorer: str) -> bool:
    """Whether ``scorer`` asks a judge model (a GvsError for an unknown scorer)."""
    from benchmark.scoring import ScorerError, scorer_class

    try:
        return bool(scorer_class(scorer).needs_judge)
    except ScorerError as exc:
        raise GvsError(str(exc)) from None


def apply_scorer(options: ApplyOptions, lines: list[Line], store: RunStore | None = None) -> list[dict]:
    """Each line's object with ``label``, ``value`` and ``details`` added. A judge scorer needs
    ``options.judge`` and a store (its calls are cached there); the judge must answer a ping first."""
    from benchmark.engine.runner import make_complete
    from benchmark.scoring import ItemText, create

    if needs_judge(options.scorer):
        if options.judge is None:
            raise GvsError(f"scorer {options.scorer!r} needs a judge model: pass --judge MODEL")
        if store is None:
            raise GvsError(f"scorer {options.scorer!r} caches its judge calls: it needs a store")
        judging = ScoreOptions(options.judge, options.judge_api_base, judge_scorers=[options.scorer])
        setup = judge_setup(judging)
        assert setup is not None and store is not None
        ping_judge(setup, store, timeout=options.timeout, retries=options.retries)
    else:
        setup = None

    async def score_all() -> list:
        if setup is not None and store is not None:
            complete = make_complete(
                store, concurrency=options.concurrency, timeout=options.timeout, max_attempts=options.retries + 1
            )
            scorer = create(options.scorer, config=setup.config, complete=complete)
        else:
            scorer = create(options.scorer)
        results = []
        for line in lines:
            data = line.data
            item = ItemText(str(data.get("id", "")), data.get("prompt", ""), str(data.get("focus", "")))
            result = scorer.score(item, line.locale, data["response"])
            results.append(await result if inspect.isawaitable(result) else result)
        return results

    scores = asyncio.run(score_all())
    return [
        {**line.data, "label": s.label, "value": s.value, "details": s.details}
        for line, s in zip(lines, scores, strict=True)
    ]
