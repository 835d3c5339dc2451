"""benchmark.analysis.stats: known answers computed by hand (or from a published worked example)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmark.analysis import stats
from benchmark.analysis.stats import (
    Consistency,
    Interval,
    agreement,
    bootstrap_many,
    bootstrap_mean,
    cell_interval,
    composite,
    consistency,
    fragmentation,
    holm,
    interaction,
    paired_gap,
    rank_sensitivity,
    wilson,
    with_holm,
)

# --------------------------------------------------------------------------- Wilson


@pytest.mark.parametrize(
    "successes, n, low, high",
    [
        (8, 10, 0.4902, 0.9433),  # p = .8, z = 1.96: centre .71674, half-width .22657
        (0, 10, 0.0, 0.2775),  # upper bound z²/n / (1 + z²/n) = .38415 / 1.38415
        (10, 10, 0.7225, 1.0),  # mirror image of 0/10
    ],
)
def test_wilson_hand_values(successes, n, low, high):
    interval = wilson(successes, n)
    assert interval.estimate == successes / n
    assert round(interval.low, 4) == low and round(interval.high, 4) == high
    assert (interval.n, interval.method) == (n, "wilson")


def test_wilson_confidence_and_edges():
    # 50 %: z = .67449; 5/10 -> centre .5, half-width z*sqrt(.025 + z²/400)/(1 + z²/10) = .10430
    interval = wilson(5, 10, confidence=0.5)
    assert interval.low == pytest.approx(0.5 - 0.10430, abs=1e-5)
    assert interval.high == pytest.approx(0.5 + 0.10430, abs=1e-5)
    assert wilson(0, 0) == Interval(None, None, None, 0, "wilson")
    for bad in [(11, 10), (-1, 10), (1, -1)]:
        with pytest.raises(ValueError):
            wilson(*bad)
    with pytest.raises(ValueError, match="confidence"):
        wilson(1, 2, confidence=1.0)


# --------------------------------------------------------------------------- bootstrap


def test_bootstrap_reproducible_and_seeded():
    values = [0.3, 1.7, 2.2, 5.0, 4.1, 3.3, 0.0, 9.5]
    first = bootstrap_mean(values, seed=7)
    assert first == bootstrap_mean(values, seed=7)
    assert first != bootstrap_mean(values, seed=8)
    assert first.estimate == pytest.approx(sum(values) / len(values))
    assert first.low < first.estimate < first.high
    assert (first.n, first.method) == (8, "bootstrap")


def test_bootstrap_small_cases():
    assert bootstrap_mean([]) == Interval(None, None, None, 0, "bootstrap")
    assert bootstrap_mean([3.25]) == Interval(3.25, 3.25, 3.25, 1, "bootstrap")
    assert bootstrap_mean([2.0] * 5) == Interval(2.0, 2.0, 2.0, 5, "bootstrap")
    # Two items: resampled means are 0, .5, 1 with chances 1/4, 1/2, 1/4, so the 2.5th and
    # 97.5th percentiles are 0 and 1.
    assert bootstrap_mean([0, 1], resamples=4000) == Interval(0.5, 0.0, 1.0, 2, "bootstrap")
    with pytest.raises(ValueError, match="NaN"):
        bootstrap_mean([1.0, float("nan")])
    with pytest.raises(ValueError, match="resamples"):
        bootstrap_mean([1.0], resamples=0)


def test_bootstrap_matches_normal_theory_on_a_large_sample():
    sample = np.random.default_rng(1).normal(10.0, 2.0, size=2000)
    interval = bootstrap_mean(sample, resamples=4000, seed=3)
    half = 1.96 * sample.std(ddof=1) / math.sqrt(len(sample))
    assert interval.low == pytest.approx(sample.mean() - half, abs=0.1 * half)
    assert interval.high == pytest.approx(sample.mean() + half, abs=0.1 * half)


def test_bootstrap_follows_its_documented_recipe():
    # Independent re-implementation of the documented draws: row j of default_rng(seed).random
    # holds draw j of every resample; percentiles by numpy's "linear" method.
    values = np.random.default_rng(4).normal(size=37)
    u = np.random.default_rng(11).random((37, 500))
    means = values[np.minimum((u * 37).astype(int), 36)].mean(axis=0)
    low, high = np.quantile(means, [0.05, 0.95])
    interval = bootstrap_mean(values, confidence=0.9, resamples=500, seed=11)
    assert interval.low == pytest.approx(low, rel=1e-12)
    assert interval.high == pytest.approx(high, rel=1e-12)


def test_bootstrap_many_equals_bootstrap_mean_per_cell():
    rng = np.random.default_rng(2)
    # 150 cells of one size span several chunks; other sizes, an empty cell and a long cell
    # (more draws than one block of random rows) cover the other paths. Non-integer values,
    # so any change in summation order would show.
    groups = {f"cell-{i}": rng.normal(5, 2, size=20).tolist() for i in range(150)}
    groups.update({("tuple", i): rng.gamma(2.0, size=1 + i % 7).tolist() for i in range(20)})
    groups["empty"] = []
    groups["long"] = rng.normal(size=300).tolist()
    many = bootstrap_many(groups, seed=5)
    assert list(many) == list(groups)
    for key, values in groups.items():
        assert many[key] == bootstrap_mean(values, seed=5), key
    # A cell's interval does not depend on the other cells.
    assert bootstrap_many({"long": groups["long"]}, seed=5)["long"] == many["long"]


def test_bootstrap_many_counts_exact_cells_to_the_same_numbers(monkeypatch):
    # Integer scores (and halves) sum exactly in any order, so those cells are summed from counts of
    # the draws by a matrix product; forcing the draw-by-draw path must give the very same numbers.
    rng = np.random.default_rng(3)
    groups = {f"gvs-{i}": rng.integers(0, 11, size=30 + i % 4).astype(float).tolist() for i in range(40)}
    groups.update({f"half-{i}": (rng.integers(0, 21, size=31) / 2).tolist() for i in range(5)})
    groups["values"] = rng.integers(-1, 2, size=300).astype(float).tolist()
    groups["mixed"] = [*rng.integers(0, 11, size=30).astype(float).tolist(), 0.1]  # not exact: draw by draw
    groups["huge"] = [2.0**50, 1.0, 3.0]  # integers, but sums beyond 2**53 units
    counted = bootstrap_many(groups, seed=9)
    monkeypatch.setattr(stats, "_COUNTS_ELEMENTS", 0)  # every cell draw by draw
    assert bootstrap_many(groups, seed=9) == counted


def test_cell_interval_picks_the_method():
    assert cell_interval([1, 0, 1, 1, 1, 1, 1, 1, 0, 1], binary=True) == wilson(8, 10)
    assert cell_interval([1.0, 4.0, 7.0], binary=False, seed=3) == bootstrap_mean([1.0, 4.0, 7.0], seed=3)
    with pytest.raises(ValueError, match="0 or 1"):
        cell_interval([0, 1, 2], binary=True)


# --------------------------------------------------------------------------- paired gaps


def test_paired_gap_known_shift():
    rng = np.random.default_rng(8)
    a = {f"T-{i}": float(x) for i, x in enumerate(rng.normal(6, 1.5, size=60))}
    b = {item: value - 1.0 + float(rng.normal(0, 0.2)) for item, value in a.items()}
    gap = paired_gap(a, b, label_a="en-US", label_b="zh-CN")
    assert (gap.a, gap.b, gap.n, gap.left_out) == ("en-US", "zh-CN", 60, 0)
    assert gap.diff.estimate == pytest.approx(1.0, abs=0.1)
    assert gap.diff.low > 0 and gap.diff.method == "paired-bootstrap"
    assert gap.mean_a - gap.mean_b == pytest.approx(gap.diff.estimate)
    assert gap.p_value == pytest.approx(1 / 10001)  # Monte Carlo floor: no flip is as extreme
    assert gap.effect_size > 3
    assert gap.p_adjusted is None


def test_paired_gap_no_effect():
    # Differences ±1..±10 plus a tiny shift: flipped sums spread ~28 around 0, observed 0.5.
    diffs = [k * s for k in range(1, 11) for s in (1, -1)]
    diffs[0] += 0.5
    a = {f"Q{i}": 5.0 + d for i, d in enumerate(diffs)}
    b = {f"Q{i}": 5.0 for i in range(len(diffs))}
    gap = paired_gap(a, b)
    assert gap.p_value > 0.9
    assert gap.diff.low < 0 < gap.diff.high


def test_paired_gap_exact_permutation_and_effect_size_by_hand():
    a = {"T-1": 4.0, "T-2": 5.0, "T-3": 6.0, "only-a": 1.0}
    b = {"T-3": 3.0, "T-2": 3.0, "T-1": 3.0, "only-b": 0.0, "also-b": 2.0}
    gap = paired_gap(a, b)
    # Differences 1, 2, 3: of the 8 sign patterns only +++ and --- reach |sum| = 6.
    assert gap.p_value == 0.25
    assert (gap.n, gap.left_out) == (3, 3)
    assert (gap.mean_a, gap.mean_b) == (5.0, 3.0)
    assert gap.diff.estimate == 2.0
    assert gap.effect_size == pytest.approx(2.0)  # mean 2, sample sd 1
    # Mapping order does not matter.
    assert paired_gap(dict(reversed(a.items())), dict(reversed(b.items()))) == gap
    # Fewer permutations than patterns: Monte Carlo, (hits + 1) / (permutations + 1).
    mc = paired_gap(a, b, permutations=7)
    assert mc.p_value in {k / 8 for k in range(1, 9)}


def test_paired_gap_degenerate():
    gap = paired_gap({"x": 1.0}, {"y": 2.0})
    assert (gap.n, gap.left_out, gap.p_value, gap.effect_size, gap.mean_a) == (0, 2, None, None, None)
    assert gap.diff == Interval(None, None, None, 0, "paired-bootstrap")
    same = paired_gap({"x": 3.0, "y": 4.0}, {"x": 1.0, "y": 2.0})
    assert same.effect_size is None  # all differences equal: sd 0
    assert same.p_value == 0.5  # ++ and -- of 4 patterns
    with pytest.raises(ValueError, match="'y'"):
        paired_gap({"x": 1.0, "y": float("inf")}, {"x": 1.0, "y": 2.0})


def test_holm_textbook_example():
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.01, None, 0.04]) == [pytest.approx(0.02), None, pytest.approx(0.04)]
    assert holm([0.5, 0.6]) == [1.0, 1.0]
    assert holm([]) == []
    with pytest.raises(ValueError, match="position 1"):
        holm([0.1, 1.5])


def test_with_holm_fills_copies():
    a = {"T-1": 4.0, "T-2": 5.0, "T-3": 6.0}
    gaps = [paired_gap(a, {k: 3.0 for k in a}), paired_gap(a, {k: v - 0.5 for k, v in a.items()})]
    adjusted = with_holm(gaps)
    assert [g.p_adjusted for g in gaps] == [None, None]
    assert [g.p_adjusted for g in adjusted] == holm([g.p_value for g in gaps])
    assert adjusted[0].diff == gaps[0].diff


# --------------------------------------------------------------------------- labels


def test_consistency_ranks_flips():
    labels = {
        "en-US": {
            "T-1": "refuse",
            "T-2": "comply",
            "T-9": "comply",
            "T-10": "refuse",
            "T-11": "a",
            "T-3": "x",
            "T-4": "x",
        },
        "zh-CN": {"T-1": "refuse", "T-2": "refuse", "T-9": "refuse", "T-10": "comply", "T-11": "b", "T-3": "x"},
        "fr-FR": {"T-1": "refuse", "T-2": "partial", "T-9": "refuse", "T-10": "comply", "T-11": "c", "T-3": "x"},
    }
    result = consistency(labels)
    assert (result.n, result.consistent) == (6, 2)  # T-4 lacks zh-CN and fr-FR: ignored
    assert result.share == pytest.approx(1 / 3)
    assert [f.item for f in result.flips] == ["T-2", "T-11", "T-9", "T-10"]
    assert result.flips[0].labels == {"en-US": "comply", "zh-CN": "refuse", "fr-FR": "partial"}
    assert consistency({}) == Consistency(0, 0, None, [])


def test_fleiss_kappa_by_hand():
    # x: a a a (P=1), y: a a b (P=1/3), z: b b b (P=1); P̄ = 7/9.
    # Shares a = 5/9, b = 4/9 -> Pe = 41/81; kappa = (63 - 41) / (81 - 41) = 0.55.
    labels = {
        "m1": {"x": "a", "y": "a", "z": "b", "extra": "a"},
        "m2": {"x": "a", "y": "a", "z": "b"},
        "m3": {"x": "a", "y": "b", "z": "b"},
    }
    assert agreement(labels) == pytest.approx(0.55)


def test_fleiss_kappa_published_example():
    # The 10 subjects x 14 raters x 5 categories worked example of Fleiss' kappa (Wikipedia).
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    labels: dict[str, dict[str, str]] = {f"rater{r}": {} for r in range(14)}
    for item, row in enumerate(table):
        given = [f"cat{c}" for c, count in enumerate(row) for _ in range(count)]
        for rater, label in enumerate(given):
            labels[f"rater{rater}"][f"item{item}"] = label
    assert round(agreement(labels), 3) == 0.210


def test_fleiss_kappa_undefined():
    assert agreement({"m1": {"x": "a"}}) is None
    assert agreement({"m1": {"x": "a"}, "m2": {"y": "a"}}) is None
    assert agreement({"m1": {"x": "a", "y": "a"}, "m2": {"x": "a", "y": "a"}}) is None
    assert agreement({"m1": {"x": "a", "y": "b"}, "m2": {"x": "b", "y": "a"}}) == pytest.approx(-1.0)


# --------------------------------------------------------------------------- spread


def test_fragmentation_equal_means_and_known_spread():
    flat = fragmentation({"a": [1, 2, 3], "b": [2, 2], "c": [0, 4], "empty": []})
    assert flat.value == 0.0 and flat.groups == 3
    assert flat.interval.low >= 0.0
    # Constant groups with means 1 and 3: spread 1, and resampling cannot change it.
    fixed = fragmentation({"a": [1, 1], "b": [3, 3, 3]})
    assert (fixed.value, fixed.interval.low, fixed.interval.high, fixed.interval.n) == (1.0, 1.0, 1.0, 5)
    # Means 1, 3, 5: population sd sqrt(8/3).
    spread = fragmentation({"a": [0, 2], "b": [3], "c": [5, 5, 5]}, seed=4)
    assert spread.value == pytest.approx(math.sqrt(8 / 3))
    assert spread.interval.low <= spread.value <= spread.interval.high
    assert fragmentation({"c": [5, 5, 5], "b": [3], "a": [0, 2]}, seed=4) == spread
    assert fragmentation({"only": [1, 2]}).value is None


def test_interaction_additive_and_known():
    rows, cols = {"en": 0, "zh": 2, "fr": 5}, {"x": 1, "y": 3}
    additive = {(loc, cat): [r + c - 0.5, r + c + 0.5] for loc, r in rows.items() for cat, c in cols.items()}
    assert interaction(additive) == pytest.approx(0.0, abs=1e-12)
    # Cell means [[0, 0], [0, 1]]: every residual is ±.25.
    known = {("en", "x"): [0], ("en", "y"): [0, 0], ("zh", "x"): [0], ("zh", "y"): [0.5, 1.5]}
    assert interaction(known) == pytest.approx(0.25)
    assert interaction({("en", "x"): [1], ("zh", "x"): [2]}) is None


def test_interaction_drops_incomplete_lines():
    # L3 lacks C3; row L3 and column C3 tie (1 missing, 2 observed): the locale goes.
    # Left: [[0, 0, 0], [0, 0, 3]] -> residuals ±.5, ±.5, ∓1 -> RMS sqrt(.5).
    cells = {("L1", c): [0] for c in ("C1", "C2", "C3")}
    cells.update({("L2", "C1"): [0], ("L2", "C2"): [0], ("L2", "C3"): [3]})
    cells.update({("L3", "C1"): [7], ("L3", "C2"): [9], ("L3", "C3"): []})
    assert interaction(cells) == pytest.approx(math.sqrt(0.5))


# --------------------------------------------------------------------------- composite index

SCORES = {
    "A": {"x": 0.0, "y": 4.0, "z": 1.0},
    "B": {"x": 5.0, "y": 0.0, "z": 1.0},
    "C": {"x": 10.0, "y": 2.0, "z": 1.0},
}


def test_composite_by_hand():
    # minmax: x -> 0, .5, 1; y -> 1, 0, .5; z constant -> .5. Weights 1:3:0 -> .25, .75.
    assert composite(SCORES, {"x": 1, "y": 3, "z": 0}) == pytest.approx({"A": 0.75, "B": 0.125, "C": 0.625})
    # z gets weight: .2, .6, .2 over x, y, z.
    assert composite(SCORES, {"x": 1, "y": 3, "z": 1}) == pytest.approx({"A": 0.7, "B": 0.2, "C": 0.6})
    assert composite(SCORES, {"x": 1, "y": 3}, normalize="none") == pytest.approx({"A": 3.0, "B": 1.25, "C": 4.0})


@pytest.mark.parametrize(
    "weights, message",
    [
        ({"x": 1, "y": -1}, "'y'"),
        ({"x": 1, "y": float("nan")}, "'y'"),
        ({"x": 0, "y": 0}, "sum to 0"),
        ({"x": 1, "w": 1}, "dimension 'w'"),
    ],
)
def test_composite_rejects_bad_weights(weights, message):
    with pytest.raises(ValueError, match=message):
        composite(SCORES, weights)


def test_rank_sensitivity():
    still = rank_sensitivity(SCORES, {"x": 1, "y": 3}, perturbation=0.0, trials=50)
    assert still == {
        "A": {"base_rank": 1, "mean_rank": 1.0, "min_rank": 1, "max_rank": 1, "same_rank_share": 1.0},
        "B": {"base_rank": 3, "mean_rank": 3.0, "min_rank": 3, "max_rank": 3, "same_rank_share": 1.0},
        "C": {"base_rank": 2, "mean_rank": 2.0, "min_rank": 2, "max_rank": 2, "same_rank_share": 1.0},
    }
    # Equal weights: A = .5, C = .75, B = .25. With w the normalised weight of x, C - A = 1.5 w - .5
    # and B - A = 1.5 w - 1: C drops below A when w < 1/3, B climbs over A when w > 2/3. At
    # p = .5 each happens with chance 1/16 (f_y > 2 f_x for f ~ U(.5, 1.5)); at p = .1 never.
    wobbly = rank_sensitivity(SCORES, {"x": 1, "y": 1}, perturbation=0.5, trials=2000, seed=2)
    assert wobbly == rank_sensitivity(SCORES, {"x": 1, "y": 1}, perturbation=0.5, trials=2000, seed=2)
    assert [wobbly[u]["base_rank"] for u in "ABC"] == [2, 3, 1]
    assert wobbly["C"]["same_rank_share"] == pytest.approx(15 / 16, abs=0.02)
    assert wobbly["B"]["same_rank_share"] == pytest.approx(15 / 16, abs=0.02)
    assert wobbly["A"]["same_rank_share"] == pytest.approx(14 / 16, abs=0.025)
    assert (wobbly["A"]["min_rank"], wobbly["A"]["max_rank"]) == (1, 3)
    calm = rank_sensitivity(SCORES, {"x": 1, "y": 1}, perturbation=0.1)
    assert all(entry["same_rank_share"] == 1.0 for entry in calm.values())
    with pytest.raises(ValueError, match="perturbation"):
        rank_sensitivity(SCORES, {"x": 1}, perturbation=1.0)
