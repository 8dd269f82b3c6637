"""Network parameters: weights, biases, feedback weights; initialisation and npz input/output.

Layer ``k`` counts from the first hidden layer (0) to the output layer (``len(hidden)``), as in
PAPER.md §1.1. ``weights[k]`` is W^k (n_k × n_{k−1}, n_{−1} = input size), ``biases[k]`` is b^k,
``feedback[k]`` is Y^k (n_k × n_out) for each hidden layer, broadcast from the output (§2.6).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from segdend import rng
from segdend.config import Config, InitConfig
from segdend.errors import DataError

# sd of 3.465·U(−1, 1) is 2.0005; of 3.465·(U(0, 1) − 0.5) it is 1.0002 (PAPER.md §8 item 6).
_SPREAD = {"head": 3.465, "intended": 3.465 / 2.0}


@dataclass
class NetworkParams:
    """All learned and fixed parameters of one network."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    feedback: list[np.ndarray]
    feedback_biases: list[np.ndarray] = field(default_factory=list)
    sparse_masks: list[np.ndarray] = field(default_factory=list)
    """Surviving feedback entries (True) in the sparse variants; empty otherwise."""

    @property
    def n_hidden(self) -> int:
        """Number of hidden layers."""
        return len(self.weights) - 1

    @property
    def sizes(self) -> list[int]:
        """Layer sizes, input first: e.g. [784, 500, 10]."""
        return [self.weights[0].shape[1]] + [w.shape[0] for w in self.weights]

    def copy(self) -> NetworkParams:
        """A deep copy."""
        return NetworkParams(
            [w.copy() for w in self.weights],
            [b.copy() for b in self.biases],
            [y.copy() for y in self.feedback],
            [c.copy() for c in self.feedback_biases],
            [m.copy() for m in self.sparse_masks],
        )

    def arrays(self) -> dict[str, np.ndarray]:
        """Named arrays (``W0``, ``b0``, …, ``Y0``, …) for npz files."""
        out: dict[str, np.ndarray] = {}
        for k, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            out[f"W{k}"] = w
            out[f"b{k}"] = b
        for k, y in enumerate(self.feedback):
            out[f"Y{k}"] = y
        for k, c in enumerate(self.feedback_biases):
            out[f"c{k}"] = c
        for k, mask in enumerate(self.sparse_masks):
            out[f"mask{k}"] = mask
        return out

    def all_finite(self) -> bool:
        """Whether every parameter is finite."""
        return all(np.isfinite(a).all() for a in self.arrays().values())


def weight_statistics(n_inputs: int, max_rate: float, init: InitConfig) -> tuple[float, float]:
    """W_avg and W_sd of the code's weight optimisation for a layer with N inputs (§2.8)."""
    v_avg, v_sd, b_avg = init.voltage_mean, init.voltage_sd, init.bias_mean
    nu = 0.25 * max_rate  # slope of φ_max σ at 0
    v_sm = v_sd**2 + v_avg**2
    n = float(n_inputs)
    w_avg = (v_avg - b_avg) / (nu * n * v_avg)
    w_sm = (
        v_sm + nu**2 * (n - n**2) * w_avg**2 * v_avg**2 - 2 * n * nu * b_avg * v_avg * w_avg
        - b_avg**2
    ) / (n * nu**2 * v_sm)
    return w_avg, float(np.sqrt(max(w_sm - w_avg**2, 0.0)))


def initialise(config: Config, n_inputs: int) -> NetworkParams:
    """Draw the initial parameters of PAPER.md §2.8 for ``config`` (deterministic in the seed)."""
    model = config.model
    init = model.init
    spread = _SPREAD[init.spread]
    sizes = [n_inputs, *model.hidden, model.n_out]
    n_layers = len(sizes) - 1
    weights: list[np.ndarray] = [np.empty(0)] * n_layers
    biases: list[np.ndarray] = [np.empty(0)] * n_layers
    feedback: list[np.ndarray] = [np.empty(0)] * (n_layers - 1)
    feedback_biases: list[np.ndarray] = []
    if model.feedback_bias:
        feedback_biases = [np.empty(0)] * (n_layers - 1)
    for k in range(n_layers - 1, -1, -1):
        gen = rng.generator(config.seed, rng.STREAM_INIT, k)
        w_avg, w_sd = weight_statistics(sizes[k], model.max_rate, init)
        weights[k] = w_avg + spread * w_sd * gen.uniform(-1, 1, size=(sizes[k + 1], sizes[k]))
        biases[k] = init.bias_mean + spread * init.bias_sd * gen.uniform(-1, 1, size=sizes[k + 1])
        if k > 0:
            mean = w_avg if init.feedback_mean == "w_avg" else 0.0
            shape = (sizes[k], model.n_out)
            feedback[k - 1] = mean + spread * w_sd * gen.uniform(-1, 1, size=shape)
            if model.feedback_bias:
                feedback_biases[k - 1] = init.bias_mean + spread * init.bias_sd * gen.uniform(
                    -1, 1, size=sizes[k]
                )
    params = NetworkParams(weights, biases, feedback, feedback_biases)
    if model.feedback in ("sparse", "sparse-unamplified"):
        params.sparse_masks = []
        for k, y in enumerate(params.feedback):
            gen = rng.generator(config.seed, rng.STREAM_SPARSE, k)
            n_zero = int(model.sparse_fraction * y.size)
            mask = np.ones(y.size, dtype=bool)
            mask[gen.choice(y.size, n_zero, replace=False)] = False
            params.sparse_masks.append(mask.reshape(y.shape))
        apply_sparsity(params, sparse_gain(config))
    if model.feedback in ("symmetric", "symmetric-noise"):
        symmetrise_feedback(params, config, example_index=None)
    return params


def sparse_gain(config: Config) -> float:
    """Amplification of surviving sparse feedback weights: ×5 (``sparse``) or ×1 (unamplified)."""
    return 1.0 if config.model.feedback == "sparse-unamplified" else config.model.sparse_gain


def apply_sparsity(params: NetworkParams, gain: float) -> None:
    """Zero the dropped feedback entries and multiply the whole matrix by ``gain`` (§2.8)."""
    for k, mask in enumerate(params.sparse_masks):
        params.feedback[k] = np.where(mask, params.feedback[k], 0.0) * gain


def symmetrise_feedback(params: NetworkParams, config: Config, example_index: int | None) -> None:
    """Set Y = W¹ᵀ (Fig 8C), plus noise for ``symmetric-noise`` (Fig 8D, §8 item 10).

    With several hidden layers the code uses Y^k = W^{k+1}ᵀ Y^{k+1} (PAPER.md §2.8). Fresh noise
    is drawn every time Y is re-set, keyed by the example index (−1 at initialisation).
    """
    noisy = config.model.feedback == "symmetric-noise"
    sd = config.model.symmetric_noise_sd
    index = 0 if example_index is None else example_index + 1
    n_hidden = params.n_hidden
    for k in range(n_hidden - 1, -1, -1):
        above = params.weights[k + 1].T
        if noisy:
            gen = rng.generator(config.seed, rng.STREAM_FEEDBACK_NOISE, index, k)
            above = above + gen.normal(0.0, sd, size=above.shape)
        params.feedback[k] = above.copy() if k == n_hidden - 1 else above @ params.feedback[k + 1]
    if params.sparse_masks:
        apply_sparsity(params, sparse_gain(config))


def save_params(params: NetworkParams, path: Path) -> None:
    """Write parameters to an npz file (no pickle)."""
    np.savez(path, **params.arrays())


def load_params(path: Path, expected_sizes: list[int] | None = None) -> NetworkParams:
    """Read parameters named ``W0``, ``b0``, … ``Y0``, … from an npz file and check their shapes.

    ``expected_sizes`` (input first) checks each array's shape; a missing array or a wrong shape
    is a one-line :class:`DataError` naming the file and the array.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: np.array(data[name]) for name in data.files}
    except FileNotFoundError:
        raise DataError(f"parameter file '{path}' does not exist") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise DataError(f"parameter file '{path}' is not a readable npz file: {error}") from None
    n_layers = (
        len(expected_sizes) - 1 if expected_sizes else sum(1 for n in arrays if n[0] == "W")
    )
    if n_layers < 1:
        raise DataError(f"parameter file '{path}' has no weight arrays (W0, W1, ...)")

    def take(name: str, shape: tuple[int, ...] | None) -> np.ndarray:
        if name not in arrays:
            raise DataError(f"parameter file '{path}' lacks the array '{name}'")
        value = arrays[name]
        if shape is not None and value.shape != shape:
            raise DataError(
                f"parameter file '{path}': array '{name}' has shape {value.shape}, "
                f"expected {shape}"
            )
        if value.dtype.kind not in "fiub":
            raise DataError(f"parameter file '{path}': array '{name}' is not numeric")
        if value.dtype.kind == "b":
            return value.astype(bool)
        value = value.astype(np.float64)
        if not np.isfinite(value).all():
            raise DataError(f"parameter file '{path}': array '{name}' has NaN or inf values")
        return value

    sizes = expected_sizes
    weights, biases, feedback = [], [], []
    for k in range(n_layers):
        shape = (sizes[k + 1], sizes[k]) if sizes else None
        weights.append(take(f"W{k}", shape))
        biases.append(take(f"b{k}", (weights[k].shape[0],)))
    n_out = weights[-1].shape[0]
    for k in range(n_layers - 1):
        feedback.append(take(f"Y{k}", (weights[k].shape[0], n_out)))
    for k in range(1, n_layers):
        if weights[k].shape[1] != weights[k - 1].shape[0]:
            raise DataError(
                f"parameter file '{path}': W{k} has {weights[k].shape[1]} inputs but layer "
                f"{k - 1} has {weights[k - 1].shape[0]} units"
            )
    feedback_biases = [
        take(f"c{k}", (weights[k].shape[0],)) for k in range(n_layers - 1) if f"c{k}" in arrays
    ]
    masks = [
        take(f"mask{k}", feedback[k].shape) for k in range(n_layers - 1) if f"mask{k}" in arrays
    ]
    return NetworkParams(weights, biases, feedback, feedback_biases, masks)
