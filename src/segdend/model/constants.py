"""Derived constants of the model (PAPER.md §1.3, §1.7, Table 1), computed from a config."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from segdend.config import ModelConfig


def psp_kernel(t: np.ndarray | float, tau_short: float, tau_long: float) -> np.ndarray:
    """κ(t) = (e^{−t/τ_L} − e^{−t/τ_s}) Θ(t) / (τ_L − τ_s)  (PAPER.md §1.3)."""
    t = np.asarray(t, dtype=np.float64)
    value = (np.exp(-t / tau_long) - np.exp(-t / tau_short)) / (tau_long - tau_short)
    return np.where(t >= 0, value, 0.0)


def kernel_peak_time(tau_short: float, tau_long: float) -> float:
    """Time of κ's maximum: τ_s τ_L ln(τ_L/τ_s)/(τ_L − τ_s) (≈ 5.16 ms for 3 and 10 ms)."""
    return tau_short * tau_long * math.log(tau_long / tau_short) / (tau_long - tau_short)


@dataclass(frozen=True)
class Constants:
    """Numbers used by every engine, derived once from a :class:`ModelConfig`."""

    max_rate: float  # φ_max (spikes per step)
    g_leak: float  # g_l
    g_basal: float  # g_b
    g_apical: float  # g_a
    g_dendrite: float  # g_d
    k_basal: float  # k_b = g_b/(g_l + g_b + g_a)  (Eq. 34)
    k_dendrite: float  # k_d = g_d/(g_l + g_d)  (Eq. 27)
    excitatory_reversal: float  # E_E
    inhibitory_reversal: float  # E_I
    teaching_scale: float
    hidden_error_scale: float  # P⁰
    output_error_scale: float  # P¹
    tau_short: float
    tau_long: float
    kernel_steps: int | None
    kernel: np.ndarray  # κ(1), …, κ(n) for the truncated kernel (empty when untruncated)
    decay_long: float  # e^{−1/τ_L}: one step of the untruncated kernel's slow recurrence
    decay_short: float  # e^{−1/τ_s}


def derive_constants(model: ModelConfig) -> Constants:
    """Compute the derived constants of PAPER.md §1.7 and the PSP kernel for ``model``."""
    g_l, g_b, g_a, g_d = (
        model.leak_conductance,
        model.basal_conductance,
        model.apical_conductance,
        model.dendritic_conductance,
    )
    steps = model.kernel_steps
    kernel = (
        psp_kernel(np.arange(1, steps + 1), model.tau_short, model.tau_long)
        if steps is not None
        else np.zeros(0)
    )
    return Constants(
        max_rate=model.max_rate,
        g_leak=g_l,
        g_basal=g_b,
        g_apical=g_a,
        g_dendrite=g_d,
        k_basal=g_b / (g_l + g_b + g_a),
        k_dendrite=g_d / (g_l + g_d),
        excitatory_reversal=model.excitatory_reversal,
        inhibitory_reversal=model.inhibitory_reversal,
        teaching_scale=model.teaching_scale,
        hidden_error_scale=model.hidden_error_scale,
        output_error_scale=model.output_error_scale,
        tau_short=model.tau_short,
        tau_long=model.tau_long,
        kernel_steps=steps,
        kernel=kernel,
        decay_long=math.exp(-1.0 / model.tau_long),
        decay_short=math.exp(-1.0 / model.tau_short),
    )


def sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) = 1/(1 + e^{−x})  (Eq. 3)."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def sigmoid_slope(x: np.ndarray) -> np.ndarray:
    """σ′(x) = σ(x)(1 − σ(x))."""
    s = sigmoid(x)
    return s * (1.0 - s)
