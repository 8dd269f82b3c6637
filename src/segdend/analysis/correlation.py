"""Correlations: hidden against output loss (Fig 5B, 5C) and receptive fields (Fig 7C)."""

from __future__ import annotations

import numpy as np


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's r of two equally long vectors (0 if either is constant)."""
    x = np.asarray(x, float) - np.mean(x)
    y = np.asarray(y, float) - np.mean(y)
    denominator = np.sqrt((x @ x) * (y @ y))
    return float(x @ y / denominator) if denominator > 0 else 0.0


def loss_correlation(hidden_loss: np.ndarray, output_loss: np.ndarray,
                     rng: np.random.Generator) -> tuple[float, float]:
    """r(L⁰, L¹) over examples, and the same with the hidden losses shuffled (Fig 5B)."""
    shuffled = rng.permutation(np.asarray(hidden_loss))
    return pearson(hidden_loss, output_loss), pearson(shuffled, output_loss)


def per_category_correlation(hidden_loss: np.ndarray, output_loss: np.ndarray,
                             labels: np.ndarray, rng: np.random.Generator,
                             categories: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """r(L⁰, L¹) within each digit category, real and shuffled (Fig 5C, one row per epoch)."""
    real, shuffled = np.zeros(categories), np.zeros(categories)
    for c in range(categories):
        mask = np.asarray(labels) == c
        if mask.sum() >= 3:
            real[c], shuffled[c] = loss_correlation(np.asarray(hidden_loss)[mask],
                                                    np.asarray(output_loss)[mask], rng)
    return real, shuffled


def max_field_correlations(local: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """For each row of ``local`` (a receptive field), its largest Pearson r with any row of
    ``reference`` (Fig 7C: local-rule fields against backprop fields)."""
    def standardise(fields: np.ndarray) -> np.ndarray:
        centred = fields - fields.mean(axis=1, keepdims=True)
        norms = np.linalg.norm(centred, axis=1, keepdims=True)
        return np.divide(centred, norms, out=np.zeros_like(centred), where=norms > 0)

    return (standardise(np.asarray(local, float)) @ standardise(np.asarray(reference, float)).T
            ).max(axis=1)


def shuffled_fields(fields: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each receptive field with its pixels randomly permuted (the Fig 7C control)."""
    return np.stack([rng.permutation(row) for row in np.asarray(fields)])
