"""Error bars and comparisons for gvs results: pure computation over lists of numbers.

The store hands this module per-item values (a refusal 1/0, a language match 1/0, a judge score
0-10, a value profile entry -1/0/+1, ...) grouped into cells or keyed by item id; nothing here
reads files, talks SQL or draws anything. numpy does the heavy lifting.

Definitions chosen (these are the documented numbers):

- ``Interval``: a point estimate with a two-sided interval at ``confidence``; ``n`` is the number
  of items behind it. Empty input gives ``None`` for estimate, low and high, never an exception.
- ``wilson``: Wilson score interval of a binomial rate (z from the normal quantile of
  ``(1 + confidence) / 2``). Used for 0/1 scores because it behaves at 0 % and 100 %.
- ``bootstrap_mean``: percentile bootstrap of the mean, resampling items with replacement.
  Percentiles use linear interpolation between order statistics (numpy's default "linear"
  method, written out here so the batched and single-cell paths share one formula).
  Randomness: resample ``r`` takes item ``floor(u * n)`` at draw ``j``, where ``u`` is the
  ``j * resamples + r``-th double of ``numpy.random.default_rng(seed)``; each resample sum is
  accumulated draw by draw in draw order. Fixing the arithmetic order is what lets
  ``bootstrap_many`` reproduce ``bootstrap_mean`` bit for bit. (Where every partial sum is exact,
  as with integer scores, the sums are taken from counts of the same draws instead: the same
  numbers, since exact sums do not depend on order.)
- ``bootstrap_many``: the same for many cells at once. Every cell uses the generator of ``seed``
  itself (not one derived from its position or key), so a cell's interval depends only on its
  values and the seed: it equals ``bootstrap_mean(values, seed=seed)`` exactly and does not move
  when other cells are added, removed or reordered. The price: cells of equal size share their
  resampling pattern (common random numbers). Each interval is still a valid bootstrap interval;
  just do not treat two cells' intervals as independent random draws. Statistics that combine
  resamples across groups (``fragmentation``) use independent streams instead.
- ``paired_gap``: items present under both conditions are paired; the difference is ``a - b``
  per item; ``mean_a``/``mean_b`` are over the paired items only. The interval is a bootstrap of
  the mean difference (items resampled as pairs, stream ``default_rng(seed)``). The p-value is a
  two-sided sign-flip permutation test on the mean difference: exact over all 2**n sign
  patterns when that is at most ``permutations``, else Monte Carlo from ``default_rng([seed, 1])``
  with p = (hits + 1) / (permutations + 1). Cohen's d_z is ``mean(d) / sd(d)`` with the sample
  sd (ddof = 1); None when fewer than 2 pairs or when all differences are equal (sd = 0, where
  d_z is 0/0 or infinite).
- ``holm``: Holm-Bonferroni step-down adjustment; ``None`` entries are not tests and do not count
  towards the family size.
- ``consistency``: an item is consistent when every locale gave it the same label.
- ``fragmentation``: the population standard deviation (ddof = 0) of the group means, e.g. the
  spread of one model's category means; 0 means every group has the same mean. Its interval
  resamples items within each group independently. Sampling noise alone makes resampled spreads
  positive, so the interval usually sits above 0 even when the true spread is 0; an estimate near or
  below the interval's low end says the spread is within noise.
- ``interaction``: root mean square of the residuals of a two-way additive fit (grand mean +
  locale effect + category effect) to the table of cell means, each cell weighted equally. In
  the same units as the scores: 0 means locale and category effects simply add up.
- ``agreement``: Fleiss' kappa over items labelled by every rater.
- ``composite`` / ``rank_sensitivity``: a weighted index (higher ranks first, rank 1 = highest).

Seeds are non-negative integers; the same inputs and seed always give the same output.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import re
import statistics
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TypeVar, cast

import numpy as np

K = TypeVar("K", bound=Hashable)

# Sizes of the work arrays, in float64 elements. About 1 MiB keeps the accumulator of a chunk of
# cells in a core's cache, which is what makes the batched bootstrap fast.
_CHUNK_ELEMENTS = 1 << 17
_DRAW_BLOCK_ELEMENTS = 1 << 18
_PERMUTATION_BLOCK_ELEMENTS = 1 << 20


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided interval; all three are None when ``n == 0``.

    ``method`` names how it was computed: "wilson", "bootstrap" or "paired-bootstrap".
    """

    estimate: float | None
    low: float | None
    high: float | None
    n: int
    method: str


def _empty(method: str) -> Interval:
    return Interval(None, None, None, 0, method)


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")


def _check_count(name: str, value: int, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _as_values(values: Sequence[float] | np.ndarray, what: str = "values") -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{what} must be a flat sequence of numbers, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{what} contain a NaN or infinite number")
    return array


def _mean(array: np.ndarray) -> float:
    # fsum is correctly rounded, so the estimate does not depend on summation order.
    return math.fsum(array.tolist()) / len(array)


# --------------------------------------------------------------------------- rates


def wilson(successes: int, n: int, confidence: float = 0.95) -> Interval:
    """Rate ``successes / n`` with its Wilson score interval; ``n == 0`` gives None fields.

    ValueError unless ``0 <= successes <= n`` are integers and ``0 < confidence < 1``.
    """
    _check_confidence(confidence)
    _check_count("n", n, minimum=0)
    _check_count("successes", successes, minimum=0)
    if successes > n:
        raise ValueError(f"successes ({successes}) exceed n ({n})")
    if n == 0:
        return _empty("wilson")
    z = statistics.NormalDist().inv_cdf((1.0 + confidence) / 2.0)
    p = successes / n
    z2n = z * z / n
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = z * math.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n)) / (1.0 + z2n)
    # At 0 % and 100 % the bound is exactly 0 or 1; pin it so rounding cannot stray outside.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Interval(p, low, high, int(n), "wilson")


# --------------------------------------------------------------------------- bootstrap


def _resample_means(columns: np.ndarray, resamples: int, entropy) -> np.ndarray:
    """Bootstrap means of each column of ``columns`` (shape (n, cells)); returns (resamples, cells).

    All columns share one resampling pattern drawn from ``default_rng(entropy)``. Sums are
    accumulated draw by draw with element-wise adds, so every column's numbers come out the same
    whatever else is in the batch (no BLAS or pairwise-summation order to vary with shape).
    """
    n, cells = columns.shape
    rng = np.random.default_rng(entropy)
    total = np.zeros((resamples, cells))
    drawn = np.empty((resamples, cells))
    block = max(1, _DRAW_BLOCK_ELEMENTS // resamples)
    for start in range(0, n, block):
        # Row j of u serves draw j of every resample; generating in row blocks gives the same
        # doubles as one big call, so the block size does not change the result.
        u = rng.random((min(block, n - start), resamples))
        picks = (u * n).astype(np.intp)
        np.minimum(picks, n - 1, out=picks)  # guard: u * n may round up to n
        for row in picks:
            np.take(columns, row, axis=0, out=drawn)
            total += drawn
    total /= n
    return total


def _percentile_bounds(samples: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper percentile of each column of ``samples`` (resamples, cells)."""
    ordered = np.sort(samples, axis=0)
    last = ordered.shape[0] - 1
    bounds = []
    for q in ((1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0):
        h = q * last
        lo = math.floor(h)
        hi = min(lo + 1, last)
        frac = h - lo
        bounds.append(ordered[lo] + frac * (ordered[hi] - ordered[lo]))
    return bounds[0], bounds[1]


# A cell whose values are all multiples of 1/_EXACT_UNIT (integers: GVS scores, 0/1 labels, -1/0/1
# value verdicts; halves and quarters: means of 2 or 4 judge samples) with |sum| < 2**53 units has
# every partial sum of a resample exactly representable, so its resample sums do not depend on the
# order of the additions. They are then computed from how often each resample drew each item,
# counted once for all cells of a size, by one matrix product: the draw-by-draw sums bit for bit.
_EXACT_UNIT = 1024.0
# Largest draws matrix (items x resamples) counted at once; larger cells are summed draw by draw.
_COUNTS_ELEMENTS = 1 << 23


def _sums_exactly(array: np.ndarray) -> bool:
    """Whether every partial sum of ``len(array)`` draws from ``array`` is an exact float64."""
    scaled = array * _EXACT_UNIT  # exact: a power of two
    return bool(np.all(scaled == np.floor(scaled))) and float(np.abs(scaled).max()) * len(array) < 2.0**53


def _uniforms(n: int, resamples: int, entropy) -> np.ndarray:
    """Rows 0..n-1 of the draws' uniforms: row j of ``default_rng(entropy).random((n, resamples))``
    serves draw j of every resample; a smaller size uses the first rows of the same stream."""
    return np.random.default_rng(entropy).random((n, resamples))


def _counted_means(columns: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """``_resample_means`` for columns (n, cells) whose sums are exact: the same draws (item
    ``floor(u * n)`` at draw j of resample r, u = ``uniforms[j, r]``) counted per resample and
    item, then summed by one matrix product, draw counts @ values."""
    n, resamples = columns.shape[0], uniforms.shape[1]
    sums = np.empty((resamples, columns.shape[1]))
    step = max(1, _DRAW_BLOCK_ELEMENTS // n)  # resamples counted at once
    for r0 in range(0, resamples, step):
        r1 = min(resamples, r0 + step)
        flat = (uniforms[:n, r0:r1] * n).astype(np.intp)
        np.minimum(flat, n - 1, out=flat)  # guard: u * n may round up to n
        flat += np.arange(r1 - r0, dtype=np.intp) * n  # index (resample, item)
        counts = np.bincount(flat.ravel(), minlength=(r1 - r0) * n).reshape(r1 - r0, n)
        np.matmul(counts.astype(np.float64), columns, out=sums[r0:r1])
    sums /= n
    return sums


def bootstrap_many(
    groups: Mapping[K, Sequence[float] | np.ndarray],
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> dict[K, Interval]:
    """Percentile bootstrap interval of the mean for every cell of ``groups``, vectorised.

    Each cell's result equals ``bootstrap_mean(values, confidence=..., resamples=..., seed=seed)``
    exactly: every cell uses the generator of ``seed`` itself (see the module docstring for why
    and what that implies). Cells of equal size are stacked and resampled together in chunks;
    cells whose sums are exact (integer scores and the like, see ``_EXACT_UNIT``) share one count
    of the draws per size instead, which gives the very same numbers much faster.
    Returns a dict in the order of ``groups``.
    """
    _check_confidence(confidence)
    _check_count("resamples", resamples)
    arrays = {key: _as_values(values, f"values of {key!r}") for key, values in groups.items()}
    results: dict[K, Interval] = {}
    by_size: dict[int, list[K]] = {}
    for key, array in arrays.items():
        by_size.setdefault(len(array), []).append(key)
    chunk = max(1, _CHUNK_ELEMENTS // resamples)
    counted_chunk = max(1, _COUNTS_ELEMENTS // 4 // resamples)  # cells per counting of the draws
    uniforms: np.ndarray | None = None
    for n, keys in by_size.items():
        if n == 0:
            for key in keys:
                results[key] = _empty("bootstrap")
            continue
        exact = [key for key in keys if n * resamples <= _COUNTS_ELEMENTS and _sums_exactly(arrays[key])]
        if exact and (uniforms is None or len(uniforms) < n):
            largest = max(m for m in by_size if m * resamples <= _COUNTS_ELEMENTS)
            uniforms = _uniforms(largest, resamples, seed)  # shared by every smaller size
        for start in range(0, len(exact), counted_chunk):
            part = exact[start : start + counted_chunk]
            # uniforms was drawn above, for this size or a larger one, as exact is not empty
            means = _counted_means(np.stack([arrays[k] for k in part], axis=1), cast(np.ndarray, uniforms))
            for sub in range(0, len(part), chunk):
                low, high = _percentile_bounds(means[:, sub : sub + chunk], confidence)
                for i, key in enumerate(part[sub : sub + chunk]):
                    results[key] = Interval(_mean(arrays[key]), float(low[i]), float(high[i]), n, "bootstrap")
        if exact:
            done = set(exact)
            keys = [key for key in keys if key not in done]
        for start in range(0, len(keys), chunk):
            part = keys[start : start + chunk]
            columns = np.ascontiguousarray(np.stack([arrays[k] for k in part], axis=1))
            low, high = _percentile_bounds(_resample_means(columns, resamples, seed), confidence)
            for i, key in enumerate(part):
                results[key] = Interval(_mean(arrays[key]), float(low[i]), float(high[i]), n, "bootstrap")
    return {key: results[key] for key in groups}


def bootstrap_mean(
    values: Sequence[float] | np.ndarray, *, confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> Interval:
    """Mean of ``values`` with a percentile bootstrap interval (items resampled with replacement).

    ``n == 0`` gives None fields; ``n == 1`` gives low == high == the value.
    ValueError for a NaN or infinite value, ``resamples < 1`` or confidence outside (0, 1).
    """
    return bootstrap_many({0: values}, confidence=confidence, resamples=resamples, seed=seed)[0]


def cell_interval(
    values: Sequence[float] | np.ndarray,
    *,
    binary: bool,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Interval:
    """Interval for one cell: Wilson for 0/1 scores (``binary=True``), bootstrap otherwise.

    ValueError when ``binary`` is set and a value is neither 0 nor 1.
    """
    if not binary:
        return bootstrap_mean(values, confidence=confidence, resamples=resamples, seed=seed)
    array = _as_values(values)
    if not np.isin(array, (0.0, 1.0)).all():
        raise ValueError("binary values must all be 0 or 1")
    return wilson(int(array.sum()), len(array), confidence)


# --------------------------------------------------------------------------- paired comparison


def _natural_key(item: str) -> tuple:
    # Digit runs compare as numbers (T-2 before T-10); re.split with a group alternates
    # text/number, so equal positions always hold equal types. The raw string breaks ties.
    parts = re.split(r"([0-9]+)", str(item))
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), str(item)


@dataclass(frozen=True)
class PairedGap:
    """Paired comparison of condition ``a`` against ``b`` (e.g. two locales) over shared items.

    ``n``: items present in both; ``left_out``: items present in only one. ``mean_a``/``mean_b``:
    means over the ``n`` paired items. ``diff``: mean of ``a - b`` per item with a paired
    bootstrap interval. ``p_value``: two-sided sign-flip permutation test. ``p_adjusted``: set by
    ``with_holm``. ``effect_size``: Cohen's d_z = mean(diff) / sd(diff), sample sd (ddof = 1);
    None with fewer than 2 pairs or when every difference is the same (sd = 0).
    """

    a: str
    b: str
    n: int
    left_out: int
    mean_a: float | None
    mean_b: float | None
    diff: Interval
    p_value: float | None
    p_adjusted: float | None
    effect_size: float | None


def _sign_flip_p(diffs: np.ndarray, permutations: int, seed: int) -> float:
    """Two-sided p-value of the sign-flip test with statistic |sum of differences|.

    Zero differences are dropped first: flipping their sign changes nothing, and without them
    exact enumeration reaches further. Exact (every sign pattern) when 2**n <= permutations for
    the n non-zero differences; otherwise Monte Carlo with the +1 correction,
    (hits + 1) / (permutations + 1), which never returns 0. No non-zero difference: p = 1.
    """
    diffs = diffs[diffs != 0]
    n = len(diffs)
    if n == 0:
        return 1.0
    total = float(diffs.sum())
    observed = abs(total)
    # Flipped sums equal to the observed one must count as "as extreme" despite rounding noise.
    tolerance = 1e-9 * float(np.abs(diffs).sum())
    hits = 0
    block = max(1, _PERMUTATION_BLOCK_ELEMENTS // n)
    if n < 63 and 2**n <= permutations:
        patterns = 2**n
        bits = np.arange(n, dtype=np.int64)
        for start in range(0, patterns, block):
            codes = np.arange(start, min(start + block, patterns), dtype=np.int64)
            keep = ((codes[:, None] >> bits) & 1).astype(np.float64)  # 1 keeps the sign, 0 flips
            flipped = 2.0 * (keep @ diffs) - total
            hits += int(np.count_nonzero(np.abs(flipped) >= observed - tolerance))
        return hits / patterns
    # A stream separate from the bootstrap's default_rng(seed).
    rng = np.random.default_rng([seed, 1])
    for start in range(0, permutations, block):
        kept = rng.integers(0, 2, size=(min(block, permutations - start), n), dtype=np.uint8)
        flipped = 2.0 * (kept.astype(np.float64) @ diffs) - total
        hits += int(np.count_nonzero(np.abs(flipped) >= observed - tolerance))
    return (hits + 1) / (permutations + 1)


def paired_gap(
    a: Mapping[str, float],
    b: Mapping[str, float],
    *,
    label_a: str = "A",
    label_b: str = "B",
    confidence: float = 0.95,
    resamples: int = 2000,
    permutations: int = 10000,
    seed: int = 0,
) -> PairedGap:
    """Compare ``a`` and ``b`` (item id -> value) over the items present in both.

    Paired items are taken in natural item order, so the result does not depend on the order of
    the mappings. With no shared item every statistic is None.
    ValueError for a NaN or infinite value (naming the item), or bad counts/confidence.
    """
    _check_confidence(confidence)
    _check_count("resamples", resamples)
    _check_count("permutations", permutations)
    shared = sorted(a.keys() & b.keys(), key=_natural_key)
    left_out = len(a.keys() ^ b.keys())
    for side, mapping in ((label_a, a), (label_b, b)):
        for item in shared:
            if not math.isfinite(mapping[item]):
                raise ValueError(f"{side}: item {item!r} has a non-finite value {mapping[item]!r}")
    n = len(shared)
    if n == 0:
        return PairedGap(label_a, label_b, 0, left_out, None, None, _empty("paired-bootstrap"), None, None, None)
    values_a = np.array([a[i] for i in shared], dtype=np.float64)
    values_b = np.array([b[i] for i in shared], dtype=np.float64)
    diffs = values_a - values_b
    interval = bootstrap_mean(diffs, confidence=confidence, resamples=resamples, seed=seed)
    effect = None
    if n >= 2 and np.ptp(diffs) > 0:
        effect = _mean(diffs) / statistics.stdev(diffs.tolist())
    return PairedGap(
        a=label_a,
        b=label_b,
        n=n,
        left_out=left_out,
        mean_a=_mean(values_a),
        mean_b=_mean(values_b),
        diff=dataclasses.replace(interval, method="paired-bootstrap"),
        p_value=_sign_flip_p(diffs, permutations, seed),
        p_adjusted=None,
        effect_size=effect,
    )


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-Bonferroni adjusted p-values, in the input order.

    The k-th smallest of m p-values (k from 0) is multiplied by m - k, made monotone
    non-decreasing along the sorted order and capped at 1. None entries stay None and are not
    counted in m. ValueError for a p-value outside [0, 1] or NaN.
    """
    present = [(i, p) for i, p in enumerate(p_values) if p is not None]
    for i, p in present:
        if not 0.0 <= p <= 1.0:  # also rejects NaN
            raise ValueError(f"p-value at position {i} is not in [0, 1]: {p!r}")
    m = len(present)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (i, p) in enumerate(sorted(present, key=lambda pair: pair[1])):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def with_holm(gaps: Sequence[PairedGap]) -> list[PairedGap]:
    """Copies of ``gaps`` with ``p_adjusted`` set by ``holm`` over the whole list (one family)."""
    adjusted = holm([gap.p_value for gap in gaps])
    return [dataclasses.replace(gap, p_adjusted=p) for gap, p in zip(gaps, adjusted)]


# --------------------------------------------------------------------------- labels


@dataclass(frozen=True)
class Flip:
    """An item whose label differs across locales; ``labels``: locale -> label."""

    item: str
    labels: dict[str, str]


@dataclass(frozen=True)
class Consistency:
    """Cross-locale label consistency over the ``n`` items labelled in every locale.

    ``share = consistent / n`` (None when ``n == 0``). ``flips`` lists the inconsistent items,
    most distinct labels first, then by natural item order (T-2 before T-10).
    """

    n: int
    consistent: int
    share: float | None
    flips: list[Flip]


def _common_items(labels: Mapping[str, Mapping[str, str]]) -> list[str]:
    if not labels:
        return []
    sets = [set(per_item) for per_item in labels.values()]
    return sorted(set.intersection(*sets), key=_natural_key)


def consistency(labels: Mapping[str, Mapping[str, str]]) -> Consistency:
    """How often locales agree on an item's label; ``labels``: locale -> (item -> label).

    Items missing from any locale are ignored. Flip labels keep the locale order of ``labels``.
    """
    items = _common_items(labels)
    flips = []
    for item in items:
        per_locale = {locale: per_item[item] for locale, per_item in labels.items()}
        if len(set(per_locale.values())) > 1:
            flips.append(Flip(item, per_locale))
    # items are already in natural order and sort is stable, so this only moves by distinctness.
    flips.sort(key=lambda flip: -len(set(flip.labels.values())))
    n = len(items)
    consistent = n - len(flips)
    return Consistency(n, consistent, consistent / n if n else None, flips)


def agreement(labels: Mapping[str, Mapping[str, str]]) -> float | None:
    """Fleiss' kappa among raters (outer keys, e.g. models) over items labelled by every rater.

    kappa = (P - Pe) / (1 - Pe), P the mean per-item share of agreeing rater pairs, Pe the sum of
    squared overall label shares. Computed with exact fractions. None when it is undefined:
    fewer than 2 raters, no item labelled by all of them, or Pe = 1 (every rating is one and the
    same label, so chance agreement is already perfect and kappa is 0/0).
    """
    if len(labels) < 2:
        return None
    items = _common_items(labels)
    if not items:
        return None
    raters = len(labels)
    totals: dict[str, int] = {}
    pair_share = Fraction(0)
    for item in items:
        counts: dict[str, int] = {}
        for per_item in labels.values():
            label = per_item[item]
            counts[label] = counts.get(label, 0) + 1
            totals[label] = totals.get(label, 0) + 1
        pair_share += Fraction(sum(c * c for c in counts.values()) - raters, raters * (raters - 1))
    observed = pair_share / len(items)
    ratings = raters * len(items)
    expected = sum(Fraction(c, ratings) ** 2 for c in totals.values())
    if expected == 1:
        return None
    return float((observed - expected) / (1 - expected))


# --------------------------------------------------------------------------- spread


@dataclass(frozen=True)
class Fragmentation:
    """Spread of group means (e.g. one model's category means).

    ``value``: population standard deviation (ddof = 0) of the means of the non-empty groups;
    None with fewer than 2 of them. ``interval``: bootstrap interval of that spread (items
    resampled within each group; ``interval.n`` counts the items). ``groups``: non-empty groups
    used.
    """

    value: float | None
    interval: Interval
    groups: int


def fragmentation(
    groups: Mapping[str, Sequence[float]],
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Fragmentation:
    """How far apart the group means are; see ``Fragmentation``. Empty groups are skipped.

    Each group gets its own random stream, spawned from ``seed`` in natural group-name order, so
    groups are resampled independently and the result does not depend on mapping order.
    """
    _check_confidence(confidence)
    _check_count("resamples", resamples)
    arrays = {name: _as_values(values, f"values of {name!r}") for name, values in groups.items()}
    names = sorted((name for name, array in arrays.items() if len(array)), key=_natural_key)
    if len(names) < 2:
        return Fragmentation(None, _empty("bootstrap"), len(names))
    value = statistics.pstdev([_mean(arrays[name]) for name in names])
    streams = np.random.SeedSequence(seed).spawn(len(names))
    resampled = np.stack(
        [_resample_means(arrays[name][:, None], resamples, stream)[:, 0] for name, stream in zip(names, streams)]
    )
    low, high = _percentile_bounds(resampled.std(axis=0)[:, None], confidence)
    items = sum(len(arrays[name]) for name in names)
    return Fragmentation(value, Interval(value, float(low[0]), float(high[0]), items, "bootstrap"), len(names))


def _complete_table(present: set[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """Rows and columns of the complete table left after greedily dropping gappy lines.

    Repeatedly drops the row or column with the most missing cells; ties go to the line with
    fewer observed cells (losing less data), then rows (locales) before columns, then name.
    """
    rows = {r for r, _ in present}
    cols = {c for _, c in present}
    while True:
        candidates = []
        for kind, lines, others in ((0, rows, cols), (1, cols, rows)):
            for line in lines:
                observed = sum(((line, o) if kind == 0 else (o, line)) in present for o in others)
                missing = len(others) - observed
                if missing:
                    candidates.append((-missing, observed, kind, _natural_key(line), line))
        if not candidates:
            return sorted(rows, key=_natural_key), sorted(cols, key=_natural_key)
        _, _, kind, _, line = min(candidates)
        (rows if kind == 0 else cols).discard(line)


def interaction(cells: Mapping[tuple[str, str], Sequence[float]]) -> float | None:
    """Locale x category interaction for one model: RMS residual of an additive fit.

    ``cells``: (locale, category) -> item values. Cell means form a table; empty cells count as
    missing, and lines with missing cells are dropped greedily (see ``_complete_table``) until
    the table is complete. On that table, residual = cell mean - locale mean - category mean +
    grand mean (the least-squares additive fit of a complete table); the result is the root mean
    square of the residuals over all its cells. None with fewer than 2 locales or 2 categories.
    """
    means = {}
    for key, values in cells.items():
        array = _as_values(values, f"values of {key!r}")
        if len(array):
            means[key] = _mean(array)
    rows, cols = _complete_table(set(means))
    if len(rows) < 2 or len(cols) < 2:
        return None
    table = np.array([[means[(r, c)] for c in cols] for r in rows])
    residual = table - table.mean(axis=1, keepdims=True) - table.mean(axis=0, keepdims=True) + table.mean()
    return float(np.sqrt(np.mean(residual**2)))


# --------------------------------------------------------------------------- composite index


def _normalised_matrix(
    scores: Mapping[str, Mapping[str, float]], weights: Mapping[str, float], normalize: str
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Units, their normalised scores (units x dimensions with weight > 0) and those weights."""
    if normalize not in ("minmax", "none"):
        raise ValueError(f"normalize must be 'minmax' or 'none', got {normalize!r}")
    for dimension, weight in weights.items():
        ok = isinstance(weight, numbers.Real) and not isinstance(weight, bool)
        if not (ok and math.isfinite(weight) and weight >= 0):
            raise ValueError(f"weight for dimension {dimension!r} must be a finite number >= 0, got {weight!r}")
    if not sum(weights.values()) > 0:
        raise ValueError(f"weights of dimensions {sorted(weights)} sum to 0; at least one must be > 0")
    if not scores:
        raise ValueError("no units to score")
    # Zero-weight dimensions do not enter the index, so they need no scores.
    dimensions = sorted(d for d, w in weights.items() if w > 0)
    units = list(scores)
    matrix = np.empty((len(units), len(dimensions)))
    for u, unit in enumerate(units):
        for d, dimension in enumerate(dimensions):
            if dimension not in scores[unit]:
                raise ValueError(f"unit {unit!r} has no score for dimension {dimension!r}")
            value = scores[unit][dimension]
            if not math.isfinite(value):
                raise ValueError(f"unit {unit!r}: score for dimension {dimension!r} is not finite")
            matrix[u, d] = value
    if normalize == "minmax":
        low, high = matrix.min(axis=0), matrix.max(axis=0)
        span = high - low
        constant = span == 0
        matrix = (matrix - low) / np.where(constant, 1.0, span)
        matrix[:, constant] = 0.5  # a dimension that does not separate units sits mid-scale
    return units, matrix, np.array([float(weights[d]) for d in dimensions])


def _indices(matrix: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Index of every unit for every weight row: weights (trials, dims) -> (trials, units).

    Weights are renormalised per row; the sum over dimensions runs in a fixed order with
    element-wise operations so unperturbed trials reproduce the base index exactly.
    """
    weights = weights / weights.sum(axis=1, keepdims=True)
    index = np.zeros((weights.shape[0], matrix.shape[0]))
    for d in range(matrix.shape[1]):
        index += weights[:, d : d + 1] * matrix[None, :, d]
    return index


def _ranks(index: np.ndarray) -> np.ndarray:
    """Competition ranks per row of ``index`` (trials, units): 1 = highest, ties share the better rank."""
    trials, units = index.shape
    ranks = np.empty((trials, units), dtype=np.int64)
    step = max(1, _CHUNK_ELEMENTS // max(1, units * units))  # bounds the (step, units, units) comparison
    for start in range(0, trials, step):
        part = index[start : start + step]
        ranks[start : start + step] = 1 + (part[:, None, :] > part[:, :, None]).sum(axis=-1)
    return ranks


def composite(
    scores: Mapping[str, Mapping[str, float]],
    weights: Mapping[str, float],
    *,
    normalize: str = "minmax",
) -> dict[str, float]:
    """Weighted composite index per unit (AGILE-style); ``scores``: unit -> dimension -> score.

    Weights must be finite and >= 0 with a positive sum (else ValueError naming the dimension);
    they are renormalised to sum 1. Only dimensions with a positive weight are used and each unit
    needs a score for them (ValueError otherwise); dimensions without a weight are ignored.
    ``normalize="minmax"`` rescales each dimension across units to 0..1 (a constant dimension
    becomes 0.5); ``"none"`` uses raw scores. Returns unit -> index, in the order of ``scores``.
    """
    units, matrix, base = _normalised_matrix(scores, weights, normalize)
    index = _indices(matrix, base[None, :])[0]
    return {unit: float(value) for unit, value in zip(units, index)}


def rank_sensitivity(
    scores: Mapping[str, Mapping[str, float]],
    weights: Mapping[str, float],
    *,
    perturbation: float = 0.2,
    trials: int = 1000,
    seed: int = 0,
    normalize: str = "minmax",
) -> dict[str, dict]:
    """How stable each unit's composite rank is when the weights wobble.

    Each trial multiplies every positive weight by an independent U(1 - p, 1 + p) factor
    (dimensions in sorted order), renormalises and ranks the units (1 = highest index, ties share
    the better rank). Per unit: ``base_rank``, ``mean_rank``, ``min_rank``, ``max_rank`` and
    ``same_rank_share`` (share of trials where the rank equals the base rank).
    ValueError unless ``0 <= perturbation < 1`` and ``trials >= 1``, plus ``composite``'s checks.
    """
    if not 0.0 <= perturbation < 1.0:
        raise ValueError(f"perturbation must be in [0, 1), got {perturbation!r}")
    _check_count("trials", trials)
    units, matrix, base = _normalised_matrix(scores, weights, normalize)
    base_ranks = _ranks(_indices(matrix, base[None, :]))[0]
    rng = np.random.default_rng(seed)
    factors = rng.uniform(1.0 - perturbation, 1.0 + perturbation, size=(trials, len(base)))
    ranks = _ranks(_indices(matrix, base[None, :] * factors))
    return {
        unit: {
            "base_rank": int(base_ranks[u]),
            "mean_rank": float(ranks[:, u].mean()),
            "min_rank": int(ranks[:, u].min()),
            "max_rank": int(ranks[:, u].max()),
            "same_rank_share": float(np.mean(ranks[:, u] == base_ranks[u])),
        }
        for u, unit in enumerate(units)
    }
