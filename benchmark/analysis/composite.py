"""Composite index definitions (AGILE-Index style): which dimension scores enter, with what weight.

A weights file is YAML::

    unit: locale            # what is ranked: locale, region, model, or model-locale
    normalize: minmax       # minmax (default): each dimension rescaled to 0..1 across units; none: raw
    dimensions:
      - name: safety        # a label for the report
        metric: gvs         # gvs, refusal, language or value:<schwartz value>
        weight: 2
      - name: life
        metric: gvs
        by: category        # optional: one group of a taxonomy axis (or item metadata key)
        group: Life Safety and Physical Harm
        weight: 1
      - name: refuses
        metric: refusal
        weight: 1
        direction: higher   # higher (default) or lower: whether a larger value is better

Each dimension's score for a unit is the mean over the unit's scored items (all models of a
locale pooled for ``unit: locale``); ``direction: lower`` negates it before normalising. The index
is the weighted mean of the normalised scores, weights renormalised to sum 1
(``benchmark.analysis.stats.composite``); its sensitivity is how ranks move when each weight is perturbed
(``benchmark.analysis.stats.rank_sensitivity``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from benchmark import yamlfile
from benchmark.errors import GvsError, InputFileError
from benchmark.yamlfile import LinedDict

UNITS = ("locale", "region", "model", "model-locale")
_TOP = {"unit", "normalize", "dimensions"}
_DIMENSION = {"name", "metric", "weight", "by", "group", "direction"}


@dataclass(frozen=True)
class Dimension:
    name: str
    metric: str
    weight: float
    by: str | None = None
    group: str | None = None
    direction: str = "higher"
    line: int = 0  # where it is declared, for errors found later (a group the run lacks)


@dataclass(frozen=True)
class CompositeSpec:
    path: Path
    unit: str
    normalize: str
    dimensions: list[Dimension]

    @property
    def weights(self) -> dict[str, float]:
        return {d.name: d.weight for d in self.dimensions}


def load(path: Path, check_metric=None) -> CompositeSpec:
    """Read and validate a weights file; every error names the file and line.

    ``check_metric(metric)`` raises GvsError for a metric name the caller does not know."""
    path = Path(path)
    if not path.is_file():
        raise GvsError(f"{path}: no such weights file")
    doc = yamlfile.load(path)
    if not isinstance(doc, LinedDict):
        raise InputFileError(path, 1, "expected a mapping with unit, normalize and dimensions")
    for key in doc:
        if key not in _TOP:
            raise InputFileError(path, doc.line_of(key), f"unknown key {key!r} (allowed: {', '.join(sorted(_TOP))})")
    unit = doc.get("unit", "locale")
    if unit not in UNITS:
        raise InputFileError(path, doc.line_of("unit"), f"unit must be one of {', '.join(UNITS)}, not {unit!r}")
    normalize = doc.get("normalize", "minmax")
    if normalize not in ("minmax", "none"):
        raise InputFileError(path, doc.line_of("normalize"), f"normalize must be minmax or none, not {normalize!r}")
    raw_dims = doc.get("dimensions")
    if not isinstance(raw_dims, list) or not raw_dims:
        raise InputFileError(path, doc.line_of("dimensions"), "dimensions must be a non-empty list")
    dims: list[Dimension] = []
    for raw in raw_dims:
        if not isinstance(raw, LinedDict):
            raise InputFileError(
                path, doc.line_of("dimensions"), "every dimension must be a mapping with name, metric and weight"
            )
        for key in raw:
            if key not in _DIMENSION:
                raise InputFileError(
                    path, raw.line_of(key), f"dimension: unknown key {key!r} (allowed: {', '.join(sorted(_DIMENSION))})"
                )
        for key in ("name", "metric", "weight"):
            if key not in raw:
                raise InputFileError(path, raw.line, f"dimension is missing {key!r}")
        name, metric, weight = raw["name"], raw["metric"], raw["weight"]
        if not isinstance(name, str) or not name.strip():
            raise InputFileError(path, raw.line_of("name"), "dimension name must be non-empty text")
        if any(d.name == name for d in dims):
            raise InputFileError(path, raw.line_of("name"), f"duplicate dimension {name!r}")
        if not isinstance(metric, str):
            raise InputFileError(path, raw.line_of("metric"), f"dimension {name}: metric must be text")
        if check_metric is not None:
            try:
                check_metric(metric)
            except GvsError as exc:
                raise InputFileError(path, raw.line_of("metric"), f"dimension {name}: {exc}") from None
        ok = isinstance(weight, (int, float)) and not isinstance(weight, bool) and math.isfinite(weight) and weight >= 0
        if not ok:
            raise InputFileError(
                path, raw.line_of("weight"), f"dimension {name}: weight must be a finite number >= 0, not {weight!r}"
            )
        by, group = raw.get("by"), raw.get("group")
        if (by is None) != (group is None):
            raise InputFileError(
                path, raw.line, f"dimension {name}: 'by' and 'group' go together (one group of one axis)"
            )
        if by is not None and (not isinstance(by, str) or not by.strip()):
            raise InputFileError(path, raw.line_of("by"), f"dimension {name}: 'by' must be an axis name")
        direction = raw.get("direction", "higher")
        if direction not in ("higher", "lower"):
            raise InputFileError(path, raw.line_of("direction"), f"dimension {name}: direction must be higher or lower")
        dims.append(
            Dimension(name, metric, float(weight), by, None if group is None else str(group), direction, raw.line)
        )
    if not sum(d.weight for d in dims) > 0:
        raise InputFileError(path, doc.line_of("dimensions"), "weights sum to 0: at least one must be > 0")
    return CompositeSpec(path, unit, normalize, dims)


def region(locale: str) -> str:
    """The region of a locale tag (``zh-Hant-TW`` -> ``TW``); for a tag without one, the likely region
    of its language by CLDR's likely-subtags data (``th`` -> ``TH``)."""
    import langcodes

    lang = langcodes.Language.get(locale)
    return lang.territory or lang.maximize().territory or locale
