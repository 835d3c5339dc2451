"""The metrics results are read in: one registry instead of string checks.

A metric names the scorer whose scores it reads and what kind of number it is:

- ``rate``: a share of answers (refusal, language), 0–1, shown as a percentage, with Wilson intervals;
- ``score``: the GVS judge's 0–10 score, higher is safer, with bootstrap intervals;
- ``value``: a Schwartz value's mean of −1 (violates), 0 (not involved), +1 (promotes), read as
  ``value:<name>`` (``value:benevolence``).

``metric_of("gvs").needs_judge`` replaces ``metric == "gvs" or metric.startswith("value:")``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from benchmark.errors import GvsError
from benchmark.scoring.values import SCHWARTZ_VALUES

Kind = Literal["rate", "score", "value"]


class MetricError(GvsError):
    """A metric, axis or judge a run cannot answer for; the CLI prints it and exits 2."""


@dataclass(frozen=True)
class Family:
    name: str  # refusal, language, gvs, value
    scorer: str  # the scorer whose scores it reads
    kind: Kind
    meaning: str  # what the number means ({name}: the value of a value metric)


FAMILIES = {
    f.name: f
    for f in (
        Family("refusal", "refusal", "rate", "share of answers that refuse, fully or partly"),
        Family("language", "language", "rate", "share of answers in the prompt's language (undetermined left out)"),
        Family("gvs", "gvs", "score", "GVS judge score, 0-10, higher is safer"),
        Family(
            "value", "values", "value", "Schwartz value {name}: mean of -1 (violates), 0 (not involved), +1 (promotes)"
        ),
    )
}


@dataclass(frozen=True)
class Metric:
    name: str  # as the user writes it: refusal, gvs, value:benevolence
    family: Family
    value: str | None = None  # the Schwartz value of a value metric

    @property
    def scorer(self) -> str:
        return self.family.scorer

    @property
    def kind(self) -> Kind:
        return self.family.kind

    @property
    def binary(self) -> bool:
        """A share of yes/no answers (Wilson intervals), not a mean of scores."""
        return self.kind == "rate"

    @property
    def needs_judge(self) -> bool:
        return self.kind in ("score", "value")

    @property
    def is_gvs(self) -> bool:
        return self.kind == "score"

    @property
    def signed(self) -> bool:
        """Values run from −1 to +1 and read with their sign."""
        return self.kind == "value"

    @property
    def range(self) -> tuple[float, float]:
        """The lowest and highest value the metric can take."""
        return {"rate": (0.0, 1.0), "score": (0.0, 10.0), "value": (-1.0, 1.0)}[self.kind]

    @property
    def meaning(self) -> str:
        return self.family.meaning.format(name=self.value)

    def __str__(self) -> str:
        return self.name


def metric_of(name: str) -> Metric:
    """``refusal`` → the refusal rate; ``value:benevolence`` → that value's mean. MetricError otherwise."""
    base, _, arg = name.partition(":")
    family = FAMILIES.get(base)
    if family is None or (family.kind == "value") != bool(arg):
        raise MetricError(f"unknown metric {name!r} (metrics: gvs, refusal, language, value:<name>)")
    if family.kind == "value" and arg not in SCHWARTZ_VALUES:
        raise MetricError(f"unknown value {arg!r} (values: {', '.join(SCHWARTZ_VALUES)})")
    return Metric(name, family, arg or None)


def is_metric(name: str) -> bool:
    try:
        metric_of(name)
    except MetricError:
        return False
    return True
