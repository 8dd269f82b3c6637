"""Repeated weight tests and their statistics (PAPER.md §0: n = 20, two-tailed t, df = 38)."""

from __future__ import annotations

import itertools

import numpy as np
from scipy import stats


def summarise(errors: np.ndarray) -> dict[str, float]:
    """Mean, standard deviation, minimum and maximum of repeated test errors."""
    errors = np.asarray(errors, dtype=np.float64)
    return {"mean": float(errors.mean()), "sd": float(errors.std(ddof=1)) if errors.size > 1
            else 0.0, "min": float(errors.min()), "max": float(errors.max()), "n": int(errors.size)}


def compare(groups: dict[str, np.ndarray], bonferroni: bool | None = None) -> list[dict]:
    """Two-tailed Student t-tests between every pair of groups (equal variances, df = n₁+n₂−2).

    t > 0 means the first-named group has the higher mean error (PAPER.md §0). With three or more
    groups the p-values are Bonferroni-corrected (multiplied by the number of comparisons, at
    most 1), as in the paper; ``bonferroni`` forces the choice.
    """
    names = list(groups)
    pairs = list(itertools.combinations(names, 2))
    correct = len(names) >= 3 if bonferroni is None else bonferroni
    out = []
    for a, b in pairs:
        x, y = np.asarray(groups[a], float), np.asarray(groups[b], float)
        t, p = stats.ttest_ind(x, y, equal_var=True)
        out.append({
            "a": a, "b": b, "t": float(t), "df": int(x.size + y.size - 2), "p": float(p),
            "p_corrected": float(min(1.0, p * len(pairs))) if correct else float(p),
            "corrected": correct,
        })
    return out
