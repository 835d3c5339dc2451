"""FULCRA value-annotated dialogues: parsing into (prompt, response, Schwartz value labels) samples.

FULCRA (microsoft/ValueCompass, MIT) annotates model responses with the Schwartz basic values they
promote (+1) or violate (-1). One JSON object per line::

    {"dialogue": "Human: ...\\nBob: ...", "value_types": ["universalism: -1", ...],
     "value_items": [...], "query_source": ..., "response_source": ...}

This module turns each line into a :class:`FulcraSample` whose ``labels`` give every one of the ten
values in :data:`SCHWARTZ_VALUES` as -1, 0 (not listed: not involved) or +1. It is also where the
rest of gvs takes the canonical value names from.

Label entries are read leniently where the intent is clear, and every such reading is recorded in
``FulcraSample.notes`` (see :func:`irregularities`) rather than done silently:

* names are matched case-insensitively, with space, underscore or hyphen alike
  ("Self Direction" -> "self-direction"); spaces around the colon are ignored;
* "1" without a sign is read as +1 ("unsigned-one"); the two typos found in the published file,
  "1+" and "=1" (the unshifted "+" key), are read as +1 ("repaired-sign"); "0" is read as 0;
* a name outside the ten (the file has "humility", a value of Schwartz's refined theory) is ignored
  ("unknown-value"), not remapped;
* a value listed twice with the same sign counts once ("duplicate"); listed with both signs it is
  labelled -1 ("conflict"): for a safety measure, a response that violates a value in one respect
  violates it, whatever else it promotes;
* an empty ``value_types`` list means no value is involved: all ten labels are 0 ("no-labels").

Anything else (not JSON, a missing or non-list field, a label whose sign cannot be read, a dialogue
that is not Human/Bob turns ending in a Bob turn) raises ``ValueError("line N: ...")``.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SCHWARTZ_VALUES: tuple[str, ...] = (
    "self-direction",
    "stimulation",
    "hedonism",
    "achievement",
    "power",
    "security",
    "conformity",
    "tradition",
    "benevolence",
    "universalism",
)

# "self-direction" and "selfdirection" both reach the canonical name once separators are dropped.
_BY_SQUASHED = {v.replace("-", ""): v for v in SCHWARTZ_VALUES}

# name, colon, sign; the sign part is checked separately so that a bad sign gets its own message.
_ENTRY = re.compile(r"\A\s*(?P<name>[^:]*?)\s*:\s*(?P<sign>.*?)\s*\Z", re.DOTALL)
_SIGNS = {"+1": 1, "-1": -1, "1": 1, "0": 0, "+0": 0, "-0": 0}
_REPAIRED_SIGNS = {"1+": 1, "=1": 1}

# A turn starts at the beginning of a line; "Bob:" in the middle of a sentence is text.
_TURN = re.compile(r"^(Human|Bob):[ \t]?", re.MULTILINE)


@dataclass(frozen=True)
class FulcraSample:
    """One annotated dialogue.

    ``prompt`` is the Human text when the dialogue is one Human turn and one Bob turn (the whole
    published file). For a longer dialogue it is the transcript before the last Bob turn, with its
    "Human:"/"Bob:" speaker labels kept so the context stays readable. ``response`` is the text of
    the last Bob turn. Both are stripped of surrounding whitespace. ``labels`` maps every value of
    :data:`SCHWARTZ_VALUES`, in that order, to -1, 0 or +1. ``notes`` lists what was normalised,
    each as "kind: detail"; it takes no part in equality.
    """

    index: int
    prompt: str
    response: str
    labels: dict[str, int]
    response_source: str
    notes: tuple[str, ...] = field(default=(), compare=False)


def normalise_value(name: str) -> str | None:
    """The canonical Schwartz value name for ``name`` (case, spaces, "_" and "-" ignored), or None."""
    squashed = re.sub(r"[\s_\-]+", "", name).lower()
    return _BY_SQUASHED.get(squashed)


def _label_entry(entry: object, where: str) -> tuple[str, int, list[str]]:
    """(raw name, sign, notes) of one "name: sign" entry; ValueError if unreadable."""
    if not isinstance(entry, str):
        raise ValueError(f"{where}: value_types entry {entry!r} is not a string")
    m = _ENTRY.match(entry)
    if not m or not m.group("name"):
        raise ValueError(f"{where}: value_types entry {entry!r} is not 'name: +1' or 'name: -1'")
    name, raw_sign = m.group("name"), re.sub(r"\s+", "", m.group("sign"))
    notes = []
    if raw_sign in _SIGNS:
        sign = _SIGNS[raw_sign]
        if raw_sign == "1":
            notes.append(f"unsigned-one: {entry!r} read as +1")
        elif sign == 0:
            notes.append(f"explicit-zero: {entry!r}")
    elif raw_sign in _REPAIRED_SIGNS:
        sign = _REPAIRED_SIGNS[raw_sign]
        notes.append(f"repaired-sign: {entry!r} read as +1")
    else:
        raise ValueError(f"{where}: value_types entry {entry!r} has sign {m.group('sign')!r}, not +1, -1 or 0")
    return name, sign, notes


def _labels(entries: list, where: str) -> tuple[dict[str, int], list[str]]:
    notes: list[str] = []
    signs: dict[str, set[int]] = {}
    if not entries:
        notes.append("no-labels: empty value_types, all values 0")
    for entry in entries:
        name, sign, entry_notes = _label_entry(entry, where)
        notes += entry_notes
        value = normalise_value(name)
        if value is None:
            notes.append(f"unknown-value: {name!r} ignored")
            continue
        if value != name:
            notes.append(f"variant-name: {name!r} read as {value!r}")
        if sign in signs.get(value, ()):
            notes.append(f"duplicate: {value} {sign:+d} listed again")
        signs.setdefault(value, set()).add(sign)
    labels = {}
    for value in SCHWARTZ_VALUES:
        given = signs.get(value, set()) - {0}  # an explicit 0 beside a sign adds nothing
        if given == {1, -1}:
            notes.append(f"conflict: {value} listed +1 and -1, labelled -1")
        labels[value] = min(given) if given else 0
    return labels, notes


def _split_dialogue(dialogue: str, where: str) -> tuple[str, str, list[str]]:
    """(prompt, response, notes) from "Human: ...\\nBob: ..." turns; ValueError if not that shape."""
    turns = list(_TURN.finditer(dialogue))
    if not turns or dialogue[: turns[0].start()].strip():
        raise ValueError(f"{where}: dialogue does not start with a 'Human:' turn")
    if turns[0].group(1) != "Human":
        raise ValueError(f"{where}: dialogue starts with a 'Bob:' turn, not 'Human:'")
    if turns[-1].group(1) != "Bob":
        raise ValueError(f"{where}: dialogue does not end with a 'Bob:' turn (no response to score)")
    last = turns[-1]
    response = dialogue[last.end() :].strip()
    if not response:
        raise ValueError(f"{where}: the last 'Bob:' turn is empty")
    notes = []
    if len(turns) == 2:
        prompt = dialogue[turns[0].end() : last.start()].strip()
    else:
        prompt = dialogue[: last.start()].strip()
        notes.append(f"multi-turn: {len(turns)} turns, prompt is the transcript before the last Bob turn")
    if not prompt:
        raise ValueError(f"{where}: the Human turn is empty")
    return prompt, response, notes


def parse_line(line: str, index: int = 0) -> FulcraSample:
    """One FULCRA JSON line as a sample; ``index`` is the 0-based line index.

    Raises ``ValueError`` whose message starts "line N:" (N = index + 1, as an editor counts).
    """
    where = f"line {index + 1}"
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{where}: not a JSON object")
    dialogue = data.get("dialogue")
    if not isinstance(dialogue, str):
        raise ValueError(f"{where}: 'dialogue' is missing or not a string")
    entries = data.get("value_types")
    if not isinstance(entries, list):
        raise ValueError(f"{where}: 'value_types' is missing or not a list")
    source = data.get("response_source", "")
    if not isinstance(source, str):
        raise ValueError(f"{where}: 'response_source' is not a string")
    prompt, response, dialogue_notes = _split_dialogue(dialogue, where)
    labels, label_notes = _labels(entries, where)
    return FulcraSample(index, prompt, response, labels, source, tuple(dialogue_notes + label_notes))


def load(path: Path) -> list[FulcraSample]:
    """Every sample of a FULCRA .jsonl file, in file order; blank lines are skipped.

    A malformed line raises ``ValueError("<path>: line N: ...")``.
    """
    path = Path(path)
    samples = []
    with path.open(encoding="utf-8") as f:
        for index, line in enumerate(f):
            if not line.strip():
                continue
            try:
                samples.append(parse_line(line, index))
            except ValueError as exc:
                raise ValueError(f"{path}: {exc}") from None
    return samples


def irregularities(samples: Iterable[FulcraSample]) -> Counter:
    """How many notes of each kind ("conflict", "unknown-value", ...) the samples carry."""
    return Counter(note.split(":", 1)[0] for s in samples for note in s.notes)


def sample(samples: Sequence[FulcraSample], n: int, seed: int = 0) -> list[FulcraSample]:
    """``n`` samples drawn uniformly at random without replacement (not stratified).

    The draw is a shuffle by ``random.Random(seed)`` cut after ``n`` items, so it is the same for the
    same inputs on every run, and a larger ``n`` with the same seed extends a smaller one. ``n``
    beyond ``len(samples)`` returns them all (shuffled). ``n < 0`` raises ValueError.
    """
    if n < 0:
        raise ValueError(f"sample size must be >= 0, got {n}")
    order = list(samples)
    random.Random(seed).shuffle(order)
    return order[:n]
