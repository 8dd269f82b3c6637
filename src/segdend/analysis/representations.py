"""Layer activity and its t-SNE embedding (Fig 6C)."""

from __future__ import annotations

import numpy as np

from segdend.model.constants import Constants, sigmoid
from segdend.model.params import NetworkParams


def layer_activities(params: NetworkParams, images: np.ndarray,
                     const: Constants) -> list[np.ndarray]:
    """Mean-field rates of every layer for ``images`` (rows), input first.

    Input: φ_max x. Hidden layer k: φ_max σ(k_b (W^k r^{k−1} + b^k)) (Eqs. 10–13 at steady state,
    with g_a = 0 and filtered spike trains replaced by their means). Output: φ_max σ(k_d (W r +
    b)). These are the rates the spiking network fluctuates around.
    """
    rates = [const.max_rate * np.asarray(images, dtype=np.float64)]
    for k, (weights, bias) in enumerate(zip(params.weights, params.biases, strict=True)):
        gain = const.k_dendrite if k == params.n_hidden else const.k_basal
        rates.append(const.max_rate * sigmoid(gain * (rates[-1] @ weights.T + bias)))
    return rates


def embed(activity: np.ndarray, seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """2-D t-SNE of the rows of ``activity`` (scikit-learn), after PCA to at most 50 dimensions."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    data = np.asarray(activity, dtype=np.float64)
    dimensions = min(50, len(data))  # PCA keeps at most as many components as rows
    if data.shape[1] > dimensions:
        data = PCA(n_components=dimensions, random_state=seed).fit_transform(data)
    perplexity = min(perplexity, max((len(data) - 1) / 3, 1.0))
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed, n_jobs=-1
                ).fit_transform(data)
