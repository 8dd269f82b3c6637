"""Plasticity: the weight-update rules applied at the end of every target phase (PAPER.md §2.4–2.6).

The engines simulate the phases and hand over an :class:`ExampleSummary` of time averages; the
updates below are the same for every engine's reference semantics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from segdend.config import Config
from segdend.model.constants import Constants, sigmoid, sigmoid_slope
from segdend.model.params import NetworkParams, apply_sparsity, symmetrise_feedback


@dataclass
class ExampleSummary:
    """Time averages of one training example, over the averaging windows of §2.2.

    Lists are indexed by layer: hidden layers first, the output layer last (for the ``*_below``
    and ``soma_*`` lists), or hidden layers only (apical quantities and plateaus).
    """

    soma_forward: list[np.ndarray]
    """V̄^{k,f}: mean somatic potential in the forward window, every layer."""
    trace_below_forward: list[np.ndarray]
    """s̄^{k−1,f}: mean filtered presynaptic trace of each layer's feedforward input."""
    output_rate_target: np.ndarray
    """φ̄^{out,t}: mean output rate in the target window (the output target φ^{out*}, Eq. 6)."""
    plateau_forward: list[np.ndarray]
    """α^f = σ(V̄^{a,f}) for each hidden layer (Eq. 5)."""
    plateau_target: list[np.ndarray]
    """α^t = σ(V̄^{a,t}) for each hidden layer (Eq. 5)."""
    apical_forward: list[np.ndarray]
    """V̄^{a,f}: mean apical potential before the forward plateau, each hidden layer."""
    feedback_trace_forward: list[np.ndarray] = field(default_factory=list)
    """Mean filtered feedback input to the apical dendrites in the forward window."""

    def predicted_class(self, units_per_class: int) -> int:
        """The category whose output units have the highest mean forward somatic potential."""
        return int(np.argmax(self.soma_forward[-1].reshape(-1, units_per_class).mean(axis=1)))

    def output_loss(self, max_rate: float) -> float:
        """L¹ = ‖φ^{1*} − φ_max σ(V̄^{1,f})‖²  (Eq. 23)."""
        diff = self.output_rate_target - max_rate * sigmoid(self.soma_forward[-1])
        return float(diff @ diff)

    def hidden_losses(self) -> list[float]:
        """L^k ≈ ‖α^t − α^f‖² for every hidden layer (Eq. 32)."""
        return [float((t - f) @ (t - f)) for f, t in zip(self.plateau_forward,
                                                          self.plateau_target, strict=True)]


def update_angle(local: np.ndarray, backprop: np.ndarray) -> float:
    """Angle in degrees between two update vectors (Fig 7A; PAPER.md §8 item 11).

    ΔW = E s̄ᵀ shares the factor s̄, so the angle between the error vectors E equals the angle
    between the weight updates.
    """
    denominator = float(np.linalg.norm(local) * np.linalg.norm(backprop))
    if denominator == 0.0:
        return 90.0
    cosine = float(np.clip(local @ backprop / denominator, -1.0, 1.0))
    return math.degrees(math.acos(cosine))


@dataclass
class LayerErrors:
    """The error vectors E of every layer (the bias updates before −η P), local and backprop."""

    local: list[np.ndarray]
    backprop: list[np.ndarray]


def layer_errors(
    params: NetworkParams, summary: ExampleSummary, const: Constants
) -> LayerErrors:
    """E for every layer, with the local rule and with backprop through the current weights.

    Output (Eqs. 28–29): E = −k_d φ_max (φ^{1*} − φ_max σ(V̄^{1,f})) ⊙ σ′(V̄^{1,f}).
    Hidden (Eqs. 33, 35): E = −k_b (α^t − α^f) ⊙ φ_max σ′(V̄^{0,f}).
    Backprop: E_bp^k = (W^{k+1}ᵀ E_bp^{k+1}) ⊙ k_b φ_max σ′(V̄^{k,f}).
    """
    phi = const.max_rate
    out_soma = summary.soma_forward[-1]
    out = -const.k_dendrite * phi * (
        summary.output_rate_target - phi * sigmoid(out_soma)
    ) * sigmoid_slope(out_soma)
    n_hidden = params.n_hidden
    local: list[np.ndarray] = [np.empty(0)] * n_hidden + [out]
    backprop: list[np.ndarray] = [np.empty(0)] * n_hidden + [out]
    for k in range(n_hidden - 1, -1, -1):
        slope = phi * sigmoid_slope(summary.soma_forward[k])
        local[k] = -const.k_basal * (summary.plateau_target[k] - summary.plateau_forward[k]) * slope
        backprop[k] = (params.weights[k + 1].T @ backprop[k + 1]) * const.k_basal * slope
    return LayerErrors(local, backprop)


def apply_updates(
    params: NetworkParams,
    summary: ExampleSummary,
    config: Config,
    const: Constants,
    example_index: int,
) -> LayerErrors:
    """All updates after one example: forward weights, then feedback weights (in place)."""
    errors = update_forward_weights(params, summary, config, const)
    update_feedback_weights(params, summary, config, const, example_index)
    return errors


def update_forward_weights(
    params: NetworkParams, summary: ExampleSummary, config: Config, const: Constants
) -> LayerErrors:
    """Update W and b of every layer; return the local-rule and the backprop errors.

    W^k ← W^k − η^k P^k E^k (s̄^{k−1,f})ᵀ and b^k ← b^k − η^k P^k E^k, with P¹ for the output
    layer and P⁰ for hidden layers (Eqs. 28–29, 33, 35). Layers are updated top to bottom, as in
    the code; in backprop mode the hidden errors use the already-updated weights above when
    ``model.backprop_uses_updated_weights`` is set (PAPER.md §8 item 18).
    """
    model = config.model
    etas = config.learning_rates()
    n_hidden = params.n_hidden
    errors = layer_errors(params, summary, const)
    phi = const.max_rate
    backprop = model.learning_rule == "backprop"
    used = list(errors.local)
    for k in range(n_hidden, -1, -1):
        is_output = k == n_hidden
        if backprop and not is_output:
            if model.backprop_uses_updated_weights:
                slope = phi * sigmoid_slope(summary.soma_forward[k])
                used[k] = (params.weights[k + 1].T @ used[k + 1]) * const.k_basal * slope
            else:
                used[k] = errors.backprop[k]
        scale = const.output_error_scale if is_output else const.hidden_error_scale
        step = etas[k] * scale
        params.weights[k] -= step * np.outer(used[k], summary.trace_below_forward[k])
        params.biases[k] -= step * used[k]
    return errors


def update_feedback_weights(
    params: NetworkParams,
    summary: ExampleSummary,
    config: Config,
    const: Constants,
    example_index: int,
) -> None:
    """Feedback learning (code option), then re-set Y for the symmetric variants (§2.8)."""
    model = config.model
    if model.learn_feedback:
        for k in range(params.n_hidden):
            _update_feedback(params, summary, k, model.feedback_learning_rates[k], const.max_rate)
    if model.feedback in ("symmetric", "symmetric-noise"):
        symmetrise_feedback(params, config, example_index)
    elif params.sparse_masks and model.learn_feedback:
        apply_sparsity(params, 1.0)  # keep dropped entries at zero; the gain was applied once


def needs_feedback_update(config: Config) -> bool:
    """Whether Y changes after each example (Python work between compiled examples)."""
    return config.model.learn_feedback or config.model.feedback in ("symmetric", "symmetric-noise")


def _update_feedback(
    params: NetworkParams, summary: ExampleSummary, k: int, eta: float, phi: float
) -> None:
    """Feedback-weight learning (code option, PAPER.md §8 item 13).

    E_inv = −(φ_max σ(V̄^{k,f}) − α^f) ⊙ σ′(V̄^{a,f});  Y ← Y − η E_inv s̄_aᵀ;  c ← c − η E_inv.
    """
    e_inv = -(phi * sigmoid(summary.soma_forward[k]) - summary.plateau_forward[k]) * sigmoid_slope(
        summary.apical_forward[k]
    )
    params.feedback[k] -= eta * np.outer(e_inv, summary.feedback_trace_forward[k])
    if params.feedback_biases:
        params.feedback_biases[k] -= eta * e_inv
