"""The condition of Theorem 1 (PAPER.md §5, Fig 5S1).

β(x) = φ_max σ(k_d W¹ x) maps hidden rates to output rates, γ(x) = σ(Y x) output rates to
plateaus. With the code's definitions (PAPER.md §8 item 12) at the forward-phase averages:
J_β = φ_max σ′(V̄^{1,f}) ⊙ k_d W¹ (σ′ scales the rows of W¹) and
J_γ = σ′(Y φ_max σ(V̄^{1,f})) ⊙ Y (σ′ scales the rows of Y).
Theorem 1 needs the largest eigenvalue of (I − J_β J_γ)ᵀ(I − J_β J_γ) to be below 1. Over the last
100 examples the paper multiplies the mean Jacobians; the code averages the products. Both are
computed, each under its own name.
"""

from __future__ import annotations

import numpy as np

from segdend.model.constants import sigmoid, sigmoid_slope


def jacobians(output_weights: np.ndarray, feedback: np.ndarray, output_soma_forward: np.ndarray,
              k_d: float, max_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """(J_β, J_γ) at one example's forward averages."""
    j_beta = (max_rate * sigmoid_slope(output_soma_forward))[:, None] * (k_d * output_weights)
    plateau_slope = sigmoid_slope(feedback @ (max_rate * sigmoid(output_soma_forward)))
    j_gamma = plateau_slope[:, None] * feedback
    return j_beta, j_gamma


def condition_eigenvalue(product: np.ndarray) -> float:
    """Largest eigenvalue of (I − U)ᵀ(I − U) for U = J_β J_γ."""
    residual = np.eye(product.shape[0]) - product
    return float(np.linalg.eigvalsh(residual.T @ residual).max())


def eigenvalue_product_of_means(j_betas: list[np.ndarray], j_gammas: list[np.ndarray]) -> float:
    """The paper's statistic: mean J_β times mean J_γ over the examples given."""
    return condition_eigenvalue(np.mean(j_betas, axis=0) @ np.mean(j_gammas, axis=0))


def eigenvalue_mean_of_products(j_betas: list[np.ndarray], j_gammas: list[np.ndarray]) -> float:
    """The code's statistic: the mean of the products J_β J_γ."""
    return condition_eigenvalue(np.mean([b @ g for b, g in zip(j_betas, j_gammas, strict=True)],
                                        axis=0))
