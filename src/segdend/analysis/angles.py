"""Alignment of the local rule with backprop (Fig 7A)."""

from __future__ import annotations

import numpy as np

from segdend.model.learning import update_angle

__all__ = ["sliding_mean", "update_angle"]


def sliding_mean(values: np.ndarray, window: int = 100) -> np.ndarray:
    """Mean of each value and the ``window − 1`` before it (shorter at the start)."""
    values = np.asarray(values, dtype=np.float64)
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    index = np.arange(1, values.size + 1)
    start = np.maximum(index - window, 0)
    return (cumulative[index] - cumulative[start]) / (index - start)
