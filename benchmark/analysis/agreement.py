"""Agreement between gold labels and a scorer's predictions: accuracy and unweighted Cohen's kappa,
alone and per Schwartz value over value profiles (standard library only).

Kappa is computed with exact fractions, so the degenerate case (expected agreement of exactly 1)
is recognised without floating-point tolerance.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from fractions import Fraction

from benchmark.scoring.values import SCHWARTZ_VALUES


def _check_pair(gold: Sequence, pred: Sequence) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"gold has {len(gold)} labels but pred has {len(pred)}")
    if not gold:
        raise ValueError("no labels to compare")


def accuracy(gold: Sequence[int], pred: Sequence[int]) -> float:
    """Share of positions where ``pred`` equals ``gold``; ValueError if lengths differ or both are empty."""
    _check_pair(gold, pred)
    return sum(g == p for g, p in zip(gold, pred)) / len(gold)


def cohen_kappa(gold: Sequence, pred: Sequence, labels: Sequence = (-1, 0, 1)) -> float:
    """Unweighted Cohen's kappa, (p_o - p_e) / (1 - p_e), over the categories ``labels``.

    Degenerate case, where p_e = 1 and the formula divides by zero: if both raters give one and the
    same category throughout, they agree perfectly and kappa is 1.0; any other p_e = 1 (not reachable
    with exact arithmetic, kept as a guard) gives 0.0. Raters that are constant but on different
    categories are not degenerate (p_e = 0) and get kappa 0.0 from the formula.
    ValueError if lengths differ, both are empty, or a label is not in ``labels``.
    """
    _check_pair(gold, pred)
    allowed = set(labels)
    for name, seq in (("gold", gold), ("pred", pred)):
        stray = set(seq) - allowed
        if stray:
            raise ValueError(f"{name} has labels {sorted(stray, key=repr)} outside {tuple(labels)}")
    n = len(gold)
    observed = Fraction(sum(g == p for g, p in zip(gold, pred)), n)
    g_counts, p_counts = Counter(gold), Counter(pred)
    expected = sum(Fraction(g_counts[c] * p_counts[c], n * n) for c in allowed)
    if expected == 1:
        return 1.0 if len(g_counts) == 1 and g_counts.keys() == p_counts.keys() else 0.0
    return float((observed - expected) / (1 - expected))


def per_value_agreement(gold: Sequence[dict[str, int]], pred: Sequence[dict[str, int] | None]) -> dict[str, dict]:
    """Accuracy and kappa for each Schwartz value, plus an "overall" entry.

    ``gold[i]`` and ``pred[i]`` are profiles of the same response (value -> -1/0/+1). A ``None``
    prediction (the judge failed) is left out of every statistic and counted in ``errors``.

    Each of the ten values maps to ``{"n", "errors", "accuracy", "kappa", "gold": {-1: .., 0: ..,
    1: ..}}`` where ``n`` is the number of pairs compared and ``gold`` counts the gold labels among
    them (a value whose gold is all 0 gets kappa 1.0 from a predictor that always says 0; the counts
    make that visible). ``"overall"`` holds ``n``, ``errors`` and the macro (unweighted) means of
    accuracy and kappa over the ten values. With ``n == 0`` accuracy and kappa are None.
    ValueError if the lists differ in length or a compared profile lacks a value or has a label
    outside -1/0/+1 (a missing value is never read as 0: that would flatter the scorer).
    """
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold profiles but {len(pred)} predictions")
    pairs = [(g, p) for g, p in zip(gold, pred) if p is not None]
    errors = len(gold) - len(pairs)
    for i, (g, p) in enumerate(pairs):
        for which, profile in (("gold", g), ("prediction", p)):
            missing = [v for v in SCHWARTZ_VALUES if v not in profile]
            if missing:
                raise ValueError(f"{which} profile {i} lacks {missing}")
    result: dict[str, dict] = {}
    for value in SCHWARTZ_VALUES:
        gold_labels = [pair[0][value] for pair in pairs]
        pred_labels = [pair[1][value] for pair in pairs]
        counts = Counter(gold_labels)
        result[value] = {
            "n": len(pairs),
            "errors": errors,
            "accuracy": accuracy(gold_labels, pred_labels) if pairs else None,
            "kappa": cohen_kappa(gold_labels, pred_labels) if pairs else None,
            "gold": {label: counts[label] for label in (-1, 0, 1)},
        }
    overall: dict = {"n": len(pairs), "errors": errors, "accuracy": None, "kappa": None}
    if pairs:
        for stat in ("accuracy", "kappa"):
            overall[stat] = sum(result[v][stat] for v in SCHWARTZ_VALUES) / len(SCHWARTZ_VALUES)
    result["overall"] = overall
    return result
