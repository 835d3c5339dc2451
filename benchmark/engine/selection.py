"""Which items a run asks: all of them, or those named (``--items``), those with a tag or metadata
value (``--where AXIS=VALUE``), and of those a sample stratified over a taxonomy axis (``--sample N``,
``--sample-by``, ``--sample-seed``).

A sample is drawn per stratum (each value of the axis, in suite order): every stratum gets one item
while N allows, then the rest go to the strata in proportion to their size (D'Hondt: the next item
goes to the stratum with the most items per item already drawn, ties to the first), and each
stratum's items are drawn by a shuffle seeded with the seed, the suite and the stratum — so the same
options always pick the same items (a rerun resumes the same run and hits the cache) and another
seed picks others. With fewer than N items to choose from, every one is taken. The items keep suite
order. The plan records the options in its spec (``selection``), so ``gvs runs --json`` shows them
and ``gvs score`` rebuilds the same plan.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, fields

from benchmark.engine.runner import Plan
from benchmark.errors import GvsError
from benchmark.localization.suites import Item, Suite

DEFAULT_SAMPLE_SEED = 0


@dataclass(frozen=True)
class Selection:
    """The item options of a run; empty: every item of the suite."""

    items: tuple[str, ...] = ()  # only these item ids
    where: tuple[tuple[str, str], ...] = ()  # (axis or metadata key, value): one axis any value, all axes
    sample: int | None = None  # a stratified sample of this many items
    sample_by: str | None = None  # the axis the sample is stratified over (default: the suite's finest)
    sample_seed: int = DEFAULT_SAMPLE_SEED

    def __bool__(self) -> bool:
        return bool(self.items or self.where or self.sample is not None)

    def spec(self, suite: Suite) -> dict:
        """What the run records (only what is set; ``sample_by`` resolved to the axis used)."""
        out: dict = {}
        if self.items:
            out["items"] = list(self.items)
        if self.where:
            out["where"] = [f"{axis}={value}" for axis, value in self.where]
        if self.sample is not None:
            out["sample"] = self.sample
            out["sample_by"] = self.sample_by or suite.axes[-1]
            out["sample_seed"] = self.sample_seed
        return out

    @classmethod
    def from_spec(cls, spec: dict | None) -> Selection:
        """The selection a run's spec recorded (``selection``); empty when it has none."""
        spec = spec or {}
        return cls(
            items=tuple(spec.get("items", ())),
            where=tuple(parse_where(spec.get("where", ()))),
            sample=spec.get("sample"),
            sample_by=spec.get("sample_by"),
            sample_seed=int(spec.get("sample_seed", DEFAULT_SAMPLE_SEED)),
        )

    def choose(self, suite: Suite) -> list[Item]:
        """The chosen items in suite order; a GvsError naming the option for an unknown item id,
        axis or value, a sample below 1, or options that leave no item."""
        chosen = list(suite.items)
        if self.items:
            known = {item.id for item in suite.items}
            unknown = [i for i in self.items if i not in known]
            if unknown:
                raise GvsError(f"--items: suite {suite.id!r} has no item {', '.join(repr(i) for i in unknown)}")
            wanted = set(self.items)
            chosen = [item for item in chosen if item.id in wanted]
        if self.where:
            by_axis: dict[str, set[str]] = {}
            for axis, value in self.where:
                values = _values(suite, axis, "--where")
                if value not in values:
                    raise GvsError(f"--where {axis}={value}: {axis} has no value {value!r} (values: {_listed(values)})")
                by_axis.setdefault(axis, set()).add(value)
            chosen = [item for item in chosen if all(_value(item, a) in v for a, v in by_axis.items())]
            if not chosen:
                where = " ".join(f"--where {a}={v}" for a, v in self.where)
                also = " with --items" if self.items else ""
                raise GvsError(f"{where}{also}: no item of suite {suite.id!r} matches")
        if self.sample is not None:
            if self.sample < 1:
                raise GvsError(f"--sample must be at least 1, not {self.sample}")
            axis = self.sample_by or suite.axes[-1]
            if axis not in suite.axes:
                raise GvsError(f"--sample-by: suite {suite.id!r} has no axis {axis!r} (axes: {', '.join(suite.axes)})")
            chosen = stratified(chosen, axis, self.sample, f"{self.sample_seed}:{suite.id}")
        return chosen


def parse_where(raw: Iterable[str]) -> list[tuple[str, str]]:
    """``AXIS=VALUE`` texts as pairs; a GvsError naming --where for one without ``=``."""
    pairs = []
    for text in raw:
        axis, sep, value = text.partition("=")
        if not sep or not axis.strip() or not value.strip():
            raise GvsError(f"--where takes AXIS=VALUE (e.g. category=Privacy), not {text!r}")
        pairs.append((axis.strip(), value.strip()))
    return pairs


def parse_ids(raw: Iterable[str]) -> list[str]:
    """``--items`` values, each one id or a comma-separated list, in order without repeats."""
    return list(dict.fromkeys(i.strip() for text in raw for i in text.split(",") if i.strip()))


def _value(item: Item, axis: str) -> str | None:
    if axis in item.tags:
        return item.tags[axis]
    value = item.metadata.get(axis)
    return None if value is None else str(value)


def _values(suite: Suite, axis: str, option: str) -> list[str]:
    """The values of a taxonomy axis or metadata key over the suite's items, in first-seen order."""
    if axis in suite.axes:
        return suite.taxonomy()[axis]
    values = [v for v in (_value(item, axis) for item in suite.items) if v is not None]
    if not values:
        keys = sorted({k for item in suite.items for k in item.metadata})
        more = f"; metadata keys: {', '.join(keys)}" if keys else ""
        raise GvsError(f"{option}: suite {suite.id!r} has no axis {axis!r} (axes: {', '.join(suite.axes)}{more})")
    return list(dict.fromkeys(values))


def _listed(values: list[str], most: int = 12) -> str:
    shown = ", ".join(values[:most])
    return shown + (f" … ({len(values)} in all)" if len(values) > most else "")


def stratified(items: list[Item], axis: str, n: int, seed: str) -> list[Item]:
    """``n`` of ``items`` stratified over ``axis`` (see the module's doc), in their own order."""
    if n >= len(items):
        return list(items)
    strata: dict[str, list[Item]] = {}
    for item in items:
        strata.setdefault(item.tags[axis], []).append(item)
    names = list(strata)
    counts = dict.fromkeys(names, 0)
    if n < len(names):  # not one per stratum: n strata, drawn by the seed
        for name in random.Random(f"{seed}:strata").sample(names, n):
            counts[name] = 1
    else:
        counts = dict.fromkeys(names, 1)
        for _ in range(n - len(names)):
            open_ = [s for s in names if counts[s] < len(strata[s])]
            best = max(open_, key=lambda s: (len(strata[s]) / (counts[s] + 1), -names.index(s)))
            counts[best] += 1
    picked: set[str] = set()
    for name in names:
        pool = list(strata[name])
        random.Random(f"{seed}:{axis}={name}").shuffle(pool)
        picked.update(item.id for item in pool[: counts[name]])
    return [item for item in items if item.id in picked]


@dataclass
class SelectedPlan(Plan):
    """A plan over chosen items: its spec records how they were chosen (``selection``)."""

    selection: dict | None = None

    def spec(self) -> dict:
        base = super().spec()
        return {**base, "selection": self.selection} if self.selection else base


def with_selection(plan: Plan, selection: dict) -> Plan:
    """``plan`` recording ``selection`` in its spec (the plan itself when there is none)."""
    if not selection:
        return plan
    return SelectedPlan(**{f.name: getattr(plan, f.name) for f in fields(Plan)}, selection=selection)
