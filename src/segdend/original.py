"""Exchange with the authors' original code: their simulation folders in and out.

The authors' public implementation (jordan-g/Segregated-Dendrite-Deep-Learning,
``deep_learning.py``) saves a run as a *simulation folder*: ``simulation.json`` with every flag
and constant of the run, and the parameters as plain ``.npy`` files named ``initial_*`` (before
training) and ``epoch_{N}_*`` (after epoch N). :func:`import_original` turns such a folder into
a segdend run directory (``config.toml`` + ``params.npz``); :func:`export_original` writes a
finished segdend run in their layout. The mapping of their flags and constants to segdend's
config keys is :func:`config_from_simulation` and :func:`simulation_from_config`;
docs/exchange.md tabulates it.

Their conventions, and what is done about them:

- Layers are counted from the first hidden layer (``W_0`` = input → hidden 1), as in segdend.
- Biases are column vectors of shape (size, 1); segdend's are 1-D.
- Images are flattened column-major (input index = column × 28 + row), segdend's row-major
  (row × 28 + column): the columns of ``W_0`` are permuted on the way in and back on the way out
  (:func:`column_major_order`). A pure index permutation, so the exchange is bitwise exact.
- ``f_etas[m]`` is the learning rate of ``W_m`` and ``b_m`` (``train.learning_rates``);
  ``b_etas[m]`` that of the feedback weights ``Y_m`` when they learn.

Every flag or constant without a segdend equivalent, or with a value segdend cannot represent,
is a one-line :class:`~segdend.errors.ConfigError` naming it; a missing or malformed file is a
:class:`~segdend.errors.DataError`. Arrays are read with ``allow_pickle=False``.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from segdend.config import Config, build_config, dump_toml, load_config, set_path, validate
from segdend.errors import ConfigError, DataError, RunError
from segdend.model.params import NetworkParams, load_params
from segdend.runs import atomic_write_bytes, atomic_write_text, ensure_writable

#: Side of an MNIST image; the authors' code only reads MNIST.
IMAGE_SIDE = 28
N_INPUTS = IMAGE_SIDE * IMAGE_SIDE
#: Provenance of an imported run (source folder and epoch), beside its config.toml.
ORIGIN_FILE = "original.json"

#: Every key the authors' code writes to simulation.json, in its order.
SIMULATION_KEYS: tuple[str, ...] = (
    "nonspiking_mode", "n_full_test", "n_quick_test", "use_rand_phase_lengths",
    "use_rand_plateau_times", "use_conductances", "use_broadcast", "use_spiking_feedback",
    "use_spiking_feedforward", "use_symmetric_weights", "noisy_symmetric_weights",
    "use_sparse_feedback", "update_feedback_weights", "use_backprop", "use_apical_conductance",
    "use_weight_optimization", "use_feedback_bias", "initial_test", "record_backprop_angle",
    "record_loss", "record_voltages", "record_training_error", "record_training_labels",
    "record_phase_times", "record_plateau_times", "record_eigvals", "record_matrices",
    "plot_eigvals", "dt", "mem", "integration_time", "integration_time_test", "l_f_phase",
    "l_t_phase", "l_f_phase_test", "lambda_max", "tau_s", "tau_L", "g_B", "g_A", "g_L", "g_D",
    "k_B", "k_D", "k_I", "P_hidden", "P_final", "n", "f_etas", "b_etas", "n_training_examples",
    "n_epochs",
)

#: Recording switches with a segdend recorder.
RECORD_KEYS: dict[str, str] = {
    "record_loss": "losses",
    "record_backprop_angle": "backprop_angle",
    "record_eigvals": "jacobians",
}
#: Recording and plotting switches without one: they change no parameter and are ignored.
IGNORED_KEYS: tuple[str, ...] = (
    "record_voltages", "record_training_error", "record_training_labels", "record_phase_times",
    "record_plateau_times", "record_matrices", "plot_eigvals",
)
#: What the code's non-spiking mode forces, whatever simulation.json says (its loader overrides
#: these keys when ``nonspiking_mode`` is true); written like this on export.
RATE_MODE_VALUES: dict[str, Any] = {
    "use_rand_phase_lengths": False,
    "use_rand_plateau_times": False,
    "use_conductances": False,
    "use_spiking_feedforward": False,
    "use_spiking_feedback": False,
    "l_f_phase": 2,
    "l_t_phase": 2,
    "l_f_phase_test": 2,
    "integration_time": 1,
    "integration_time_test": 1,
    "mem": 1,
}
#: Values the code hard-codes: segdend config keys that must hold them to be exported.
_CODE_FIXED: dict[str, Any] = {
    "model.teaching_scale": 1.0,
    "model.excitatory_reversal": 8.0,
    "model.inhibitory_reversal": -8.0,
    "model.init.spread": "head",
    "model.init.feedback_mean": "w_avg",
    "model.init.voltage_mean": 3.0,
    "model.init.voltage_sd": 3.0,
    "model.init.bias_mean": 0.8,
    "model.init.bias_sd": 0.001,
}
_RELATIVE_TOLERANCE = 1e-12  # for the derived constants k_B, k_D, k_I


def column_major_order(side: int = IMAGE_SIDE) -> np.ndarray:
    """Input indices of the authors' code in segdend's pixel order.

    Their images are flattened column-major (index = column × side + row), segdend's row-major
    (index = row × side + column). With ``p = column_major_order()``, ``W_ours = W_theirs[:, p]``
    and ``W_theirs = W_ours[:, np.argsort(p)]``.

    Parameters
    ----------
    side : int
        Side length of the square images (28 for MNIST).

    Returns
    -------
    numpy.ndarray
        ``p[row * side + column] = column * side + row``, an int64 permutation of side² indices.
    """
    return np.arange(side * side, dtype=np.int64).reshape(side, side).T.ravel()


# ---------------------------------------------------------------------------- config mapping


class _Simulation:
    """Typed access to a simulation.json dict; each bad value is a one-line ConfigError."""

    def __init__(self, values: dict[str, Any], source: str):
        self.values = values
        self.source = source

    def error(self, message: str) -> ConfigError:
        return ConfigError(f"{self.source}: {message}")

    def flag(self, key: str) -> bool:
        value = self.values[key]
        if not isinstance(value, bool):
            raise self.error(f"'{key}' = {value!r}: expected true or false")
        return value

    def number(self, key: str) -> float:
        value = self.values[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
            value
        ):
            raise self.error(f"'{key}' = {value!r}: expected a finite number")
        return float(value)

    def integer(self, key: str, minimum: int = 1) -> int:
        value = self.number(key)
        if value != int(value) or value < minimum:
            raise self.error(f"'{key}' = {self.values[key]!r}: expected a whole number "
                             f">= {minimum}")
        return int(value)

    def numbers(self, key: str) -> list[float]:
        value = self.values[key]
        if not isinstance(value, list) or not value or any(
            isinstance(v, bool) or not isinstance(v, int | float) for v in value
        ):
            raise self.error(f"'{key}' = {value!r}: expected a list of numbers")
        return [float(v) for v in value]


def _get(config: Config, dotted: str) -> Any:
    node: Any = config
    for part in dotted.split("."):
        node = getattr(node, part)
    return node


def config_from_simulation(simulation: dict[str, Any], source: str = "simulation.json") -> Config:
    """Translate the flags and constants of an authors' ``simulation.json`` into a segdend config.

    The result is the ``code`` preset with the folder's values; docs/exchange.md lists the
    mapping key by key. In the non-spiking mode the keys of :data:`RATE_MODE_VALUES` are ignored,
    as the authors' loader ignores them.

    Parameters
    ----------
    simulation : dict
        The parsed ``simulation.json``.
    source : str
        How to name the file in error messages.

    Returns
    -------
    Config
        A validated segdend config.

    Raises
    ------
    ConfigError
        A key is missing or unknown, has the wrong type, or has a value without a segdend
        equivalent (e.g. ``use_broadcast = false``, ``dt != 1``, ``l_f_phase != l_t_phase``).
    """
    if not isinstance(simulation, dict):
        raise ConfigError(f"{source}: expected a JSON object of flags and constants")
    unknown = [key for key in simulation if key not in SIMULATION_KEYS]
    if unknown:
        raise ConfigError(f"{source}: unknown flag '{unknown[0]}' (not one the authors' code "
                          "writes; segdend has no equivalent)")
    missing = [key for key in SIMULATION_KEYS if key not in simulation]
    if missing:
        raise ConfigError(f"{source}: lacks '{missing[0]}' (every flag and constant of the "
                          "authors' code is expected)")
    sim = _Simulation(simulation, source)
    tree: dict[str, Any] = build_config("code").model_dump()

    # Network and protocol.
    sizes = sim.values["n"]
    if not isinstance(sizes, list) or not sizes or any(
        isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in sizes
    ):
        raise sim.error(f"'n' = {sizes!r}: expected a list of layer sizes, e.g. [500, 10]")
    if sizes[-1] % 10:
        raise sim.error(f"'n' = {sizes!r}: the output layer needs a multiple of 10 units "
                        "(units per digit category × 10)")
    n_hidden = len(sizes) - 1
    set_path(tree, "model.hidden", list(sizes[:-1]))
    set_path(tree, "model.units_per_class", sizes[-1] // 10)
    rates = sim.numbers("f_etas")
    if len(rates) != len(sizes):
        raise sim.error(f"'f_etas' = {sim.values['f_etas']!r}: expected {len(sizes)} learning "
                        f"rates, one per layer of n = {sizes}")
    set_path(tree, "train.learning_rates", rates)
    set_path(tree, "train.examples", sim.integer("n_training_examples"))
    set_path(tree, "train.epochs", sim.integer("n_epochs"))
    set_path(tree, "train.initial_test", sim.flag("initial_test"))
    set_path(tree, "train.quick_test_examples", sim.integer("n_quick_test"))
    set_path(tree, "test.examples", sim.integer("n_full_test"))
    for key, field in RECORD_KEYS.items():
        set_path(tree, f"record.{field}", sim.flag(key))
    for key in IGNORED_KEYS:
        sim.flag(key)

    # Flags that have no segdend equivalent unless they hold the code's usual value.
    if sim.number("dt") != 1.0:
        raise sim.error(f"'dt' = {sim.values['dt']!r}: segdend steps 1 ms; expected 1.0")
    if not sim.flag("use_broadcast"):
        raise sim.error("'use_broadcast' = false (feedback from the layer above instead of the "
                        "output) has no segdend equivalent; expected true")
    if not sim.flag("use_weight_optimization"):
        raise sim.error("'use_weight_optimization' = false (the code's plain U(-1, 1) "
                        "initialisation) has no segdend equivalent; expected true")

    # Feedback weights.
    symmetric, sparse = sim.flag("use_symmetric_weights"), sim.flag("use_sparse_feedback")
    noisy = sim.flag("noisy_symmetric_weights")  # the code adds noise only to symmetric weights
    if symmetric and sparse:
        raise sim.error("'use_symmetric_weights' and 'use_sparse_feedback' both true have no "
                        "segdend equivalent (model.feedback is one variant)")
    feedback = ("symmetric-noise" if noisy else "symmetric") if symmetric else (
        "sparse" if sparse else "random")
    set_path(tree, "model.feedback", feedback)
    set_path(tree, "model.feedback_bias", sim.flag("use_feedback_bias"))
    if sim.flag("update_feedback_weights"):
        feedback_rates = sim.numbers("b_etas") if sim.values["b_etas"] is not None else []
        if len(feedback_rates) not in (n_hidden, n_hidden + 1) or n_hidden == 0:
            raise sim.error(f"'b_etas' = {sim.values['b_etas']!r}: 'update_feedback_weights' "
                            f"needs a learning rate for each of the {n_hidden} feedback "
                            "matrices Y_m")
        set_path(tree, "model.learn_feedback", True)
        set_path(tree, "model.feedback_learning_rates", feedback_rates[:n_hidden])
    set_path(tree, "model.learning_rule", "backprop" if sim.flag("use_backprop") else "local")

    # Conductances and constants.
    g_a = sim.number("g_A")
    if sim.flag("use_apical_conductance"):
        if g_a <= 0:
            raise sim.error(f"'g_A' = {sim.values['g_A']!r} with 'use_apical_conductance' = "
                            "true: expected a positive apical conductance")
    elif g_a != 0:
        raise sim.error(f"'g_A' = {sim.values['g_A']!r} with 'use_apical_conductance' = false: "
                        "expected 0")
    g_b, g_l, g_d = sim.number("g_B"), sim.number("g_L"), sim.number("g_D")
    derived = {
        "k_B": g_b / (g_l + g_b + g_a),
        "k_D": g_d / (g_l + g_d),
        "k_I": 1.0 / (g_l + g_d),
    }
    for key, expected in derived.items():
        if not math.isclose(sim.number(key), expected, rel_tol=_RELATIVE_TOLERANCE):
            raise sim.error(f"'{key}' = {sim.values[key]!r} does not follow from the "
                            f"conductances (segdend derives {expected!r}); segdend cannot "
                            "represent an independent value")
    for key, dotted in (
        ("g_A", "model.apical_conductance"),
        ("g_B", "model.basal_conductance"),
        ("g_L", "model.leak_conductance"),
        ("g_D", "model.dendritic_conductance"),
        ("lambda_max", "model.max_rate"),
        ("tau_s", "model.tau_short"),
        ("tau_L", "model.tau_long"),
        ("P_hidden", "model.hidden_error_scale"),
        ("P_final", "model.output_error_scale"),
    ):
        set_path(tree, dotted, sim.number(key))

    # Mode, dynamics and phases.
    rate_mode = sim.flag("nonspiking_mode")
    set_path(tree, "model.mode", "rate" if rate_mode else "spiking")
    if rate_mode:
        for key in RATE_MODE_VALUES:  # overridden by the code's non-spiking mode: types only
            if isinstance(RATE_MODE_VALUES[key], bool):
                sim.flag(key)
            else:
                sim.integer(key)
    else:
        _spiking_phases(sim, tree)

    try:
        return validate(tree)
    except ConfigError as error:
        raise sim.error(f"its values make an invalid segdend config: {error}") from None


def _spiking_phases(sim: _Simulation, tree: dict[str, Any]) -> None:
    """Dynamics and phase lengths of the spiking mode (ignored in the non-spiking mode)."""
    if not sim.flag("use_conductances"):
        raise sim.error("'use_conductances' = false in the spiking mode (somatic potentials "
                        "set instantly, without conductance dynamics) has no segdend "
                        "equivalent; expected true")
    set_path(tree, "phases.random_lengths", sim.flag("use_rand_phase_lengths"))
    set_path(tree, "model.plateaus",
             "stochastic" if sim.flag("use_rand_plateau_times") else "synchronized")
    set_path(tree, "model.feedback_signal",
             "spikes" if sim.flag("use_spiking_feedback") else "rates")
    set_path(tree, "model.spiking_feedforward", sim.flag("use_spiking_feedforward"))
    forward, target = sim.integer("l_f_phase"), sim.integer("l_t_phase")
    if forward != target:
        raise sim.error(f"'l_f_phase' = {forward} and 'l_t_phase' = {target} differ: segdend "
                        "has one minimum phase length (phases.min_length)")
    window = sim.integer("integration_time")
    test_length = sim.integer("l_f_phase_test")
    test_window = sim.integer("integration_time_test")
    if test_window > test_length:
        raise sim.error(f"'integration_time_test' = {test_window} exceeds 'l_f_phase_test' = "
                        f"{test_length}: expected at most the test phase length")
    set_path(tree, "phases.min_length", forward)
    set_path(tree, "phases.averaging", "last-steps")
    set_path(tree, "phases.window", window)
    set_path(tree, "model.plateau_window", window)
    set_path(tree, "phases.test_length", test_length)
    set_path(tree, "phases.settling", test_length - test_window)
    set_path(tree, "model.kernel_steps", sim.integer("mem"))


def simulation_from_config(config: Config) -> dict[str, Any]:
    """Translate a segdend config into the ``simulation.json`` of the authors' code.

    The inverse of :func:`config_from_simulation` on every config it returns. Keys are written in
    the code's order; the derived constants k_B, k_D, k_I are computed as the code computes
    them.

    Parameters
    ----------
    config : Config
        A resolved segdend config.

    Returns
    -------
    dict
        Every key of :data:`SIMULATION_KEYS`.

    Raises
    ------
    ConfigError
        A config value that the authors' code cannot represent (e.g. the untruncated kernel,
        unamplified sparse feedback, averaging after the settling time, another data set).
    """
    model = config.model
    rate_mode = model.mode == "rate"

    def refuse(key: str, expected: str) -> ConfigError:
        return ConfigError(f"config key '{key}' = {_get(config, key)!r} has no equivalent in the "
                           f"authors' code (expected {expected})")

    if config.dataset != "mnist":
        raise refuse("dataset", "'mnist': the code only reads MNIST")
    for key, value in _CODE_FIXED.items():
        if _get(config, key) != value:
            raise refuse(key, repr(value))
    if model.feedback == "sparse-unamplified":
        raise refuse("model.feedback", "'random', 'sparse', 'symmetric' or 'symmetric-noise'")
    if model.feedback == "sparse":
        if model.sparse_fraction != 0.8:
            raise refuse("model.sparse_fraction", "0.8")
        if model.sparse_gain != 5.0:
            raise refuse("model.sparse_gain", "5.0")
    if model.feedback == "symmetric-noise" and model.symmetric_noise_sd != 0.05:
        raise refuse("model.symmetric_noise_sd", "0.05")
    if model.learning_rule == "backprop" and not model.backprop_uses_updated_weights:
        raise refuse("model.backprop_uses_updated_weights", "true")

    g_a, g_b = model.apical_conductance, model.basal_conductance
    g_l, g_d = model.leak_conductance, model.dendritic_conductance
    simulation: dict[str, Any] = {
        "nonspiking_mode": rate_mode,
        "n_full_test": config.test.examples,
        "n_quick_test": config.train.quick_test_examples,
    }
    if rate_mode:
        simulation.update(RATE_MODE_VALUES)
    else:
        simulation.update(_spiking_simulation(config, refuse))
    simulation.update({
        "use_broadcast": True,
        "use_symmetric_weights": model.feedback in ("symmetric", "symmetric-noise"),
        "noisy_symmetric_weights": model.feedback == "symmetric-noise",
        "use_sparse_feedback": model.feedback == "sparse",
        "update_feedback_weights": model.learn_feedback,
        "use_backprop": model.learning_rule == "backprop",
        "use_apical_conductance": g_a > 0,
        "use_weight_optimization": True,
        "use_feedback_bias": model.feedback_bias,
        "initial_test": config.train.initial_test,
        "record_backprop_angle": config.record.backprop_angle,
        "record_loss": config.record.losses,
        "record_voltages": False,
        "record_training_error": True,
        "record_training_labels": False,
        "record_phase_times": False,
        "record_plateau_times": False,
        "record_eigvals": config.record.jacobians,
        "record_matrices": False,
        "plot_eigvals": False,
        "dt": 1.0,
        "lambda_max": model.max_rate,
        "tau_s": model.tau_short,
        "tau_L": model.tau_long,
        "g_B": g_b,
        "g_A": g_a,
        "g_L": g_l,
        "g_D": g_d,
        "k_B": g_b / (g_l + g_b + g_a),
        "k_D": g_d / (g_l + g_d),
        "k_I": 1.0 / (g_l + g_d),
        "P_hidden": model.hidden_error_scale,
        "P_final": model.output_error_scale,
        "n": [*model.hidden, model.n_out],
        "f_etas": config.learning_rates(),
        "b_etas": list(model.feedback_learning_rates) if model.learn_feedback else None,
        "n_training_examples": config.train.examples,
        "n_epochs": config.train.epochs,
    })
    return {key: simulation[key] for key in SIMULATION_KEYS}


def _spiking_simulation(config: Config, refuse: Any) -> dict[str, Any]:
    """The dynamics and phase keys of a spiking-mode config."""
    model, phases = config.model, config.phases
    if model.kernel_steps is None:
        raise refuse("model.kernel_steps", "a whole number of steps: the code truncates κ")
    if phases.averaging != "last-steps":
        raise refuse("phases.averaging", "'last-steps': the code averages the last steps")
    if phases.random_lengths and (phases.extra_mean, phases.extra_scale) != (2.0, 1.0):
        raise refuse("phases.extra_mean" if phases.extra_mean != 2.0 else "phases.extra_scale",
                     "Wald(2, 1) extra phase lengths")
    if model.plateaus == "stochastic":
        for key, value in (("model.plateau_offset_sd", 3.0),
                           ("model.plateau_offset_truncation", "clip"),
                           ("model.plateau_offset_max", 5),
                           ("model.plateau_window", phases.window)):
            if _get(config, key) != value:
                raise refuse(key, repr(value))
    return {
        "use_rand_phase_lengths": phases.random_lengths,
        "use_rand_plateau_times": model.plateaus == "stochastic",
        "use_conductances": True,
        "use_spiking_feedback": model.feedback_signal == "spikes",
        "use_spiking_feedforward": model.spiking_feedforward,
        "mem": model.kernel_steps,
        "integration_time": phases.window,
        "integration_time_test": phases.test_length - phases.settling,
        "l_f_phase": phases.min_length,
        "l_t_phase": phases.min_length,
        "l_f_phase_test": phases.test_length,
    }


# ------------------------------------------------------------------------------- parameters


def _prefix(epoch: int | None) -> str:
    if epoch is not None and (isinstance(epoch, bool) or epoch < 0):
        raise ConfigError(f"epoch {epoch!r}: expected 0 (the initial_ files) or a positive "
                          "epoch number")
    return "initial_" if not epoch else f"epoch_{epoch}_"


def _load_array(folder: Path, name: str, shape: tuple[int, ...]) -> np.ndarray:
    path = folder / name
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"simulation folder '{folder}' lacks '{name}' (expected a float64 "
                        f"array of shape {shape})") from None
    except (OSError, ValueError, EOFError) as error:
        raise DataError(f"'{path}' is not a plain .npy array: {error}") from None
    if not isinstance(array, np.ndarray) or array.shape != shape:
        found = getattr(array, "shape", type(array).__name__)
        raise DataError(f"'{path}' has shape {found}, expected {shape}")
    if array.dtype.kind != "f":
        raise DataError(f"'{path}' holds {array.dtype} values, expected floating point")
    if not np.isfinite(array).all():
        raise DataError(f"'{path}' has NaN or inf values")
    return array.astype(np.float64)


def _read_parameters(folder: Path, prefix: str, config: Config) -> NetworkParams:
    """The parameters of one saved epoch, in segdend's layout and pixel order."""
    model = config.model
    sizes = [N_INPUTS, *model.hidden, model.n_out]
    n_layers = len(sizes) - 1
    weights, biases, feedback, feedback_biases = [], [], [], []
    for m in range(n_layers):
        weights.append(_load_array(folder, f"{prefix}W_{m}.npy", (sizes[m + 1], sizes[m])))
        biases.append(_load_array(folder, f"{prefix}b_{m}.npy", (sizes[m + 1], 1))[:, 0])
        if m < n_layers - 1:
            feedback.append(_load_array(folder, f"{prefix}Y_{m}.npy", (sizes[m + 1], sizes[-1])))
            if model.feedback_bias:
                feedback_biases.append(
                    _load_array(folder, f"{prefix}c_{m}.npy", (sizes[m + 1], 1))[:, 0]
                )
    weights[0] = weights[0][:, column_major_order()]
    params = NetworkParams(weights, biases, feedback, feedback_biases)
    if model.feedback == "sparse":
        params.sparse_masks = [y != 0 for y in feedback]
    return params


def _save_npy(path: Path, array: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array, dtype=np.float64), allow_pickle=False)
    atomic_write_bytes(path, buffer.getvalue())


def _write_parameters(out: Path, prefix: str, params: NetworkParams, feedback_bias: bool) -> None:
    """Write parameters in the authors' layout: column-major W_0, column-vector biases."""
    to_theirs = np.argsort(column_major_order())
    for m, (weight, bias) in enumerate(zip(params.weights, params.biases, strict=True)):
        _save_npy(out / f"{prefix}W_{m}.npy", weight[:, to_theirs] if m == 0 else weight)
        _save_npy(out / f"{prefix}b_{m}.npy", bias[:, None])
    for m, y in enumerate(params.feedback):
        _save_npy(out / f"{prefix}Y_{m}.npy", y)
        if feedback_bias:
            _save_npy(out / f"{prefix}c_{m}.npy", params.feedback_biases[m][:, None])


def _read_simulation(folder: Path) -> dict[str, Any]:
    path = folder / "simulation.json"
    if not folder.is_dir():
        raise DataError(f"'{folder}' is not a folder (expected a simulation folder of the "
                        "authors' code)")
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"simulation folder '{folder}' lacks 'simulation.json' (expected the "
                        "flags and constants the authors' code writes)") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise DataError(f"'{path}' is not readable JSON: {error}") from None
    if not isinstance(values, dict):
        raise DataError(f"'{path}' must hold a JSON object of flags and constants")
    return values


# ---------------------------------------------------------------------------- public API


def import_original(folder: Path | str, run_dir: Path | str, epoch: int | None = None) -> Path:
    """Turn a simulation folder of the authors' code into a segdend run directory.

    Writes ``RUN/params.npz`` (the parameters of the chosen epoch, ``W0`` in row-major pixel
    order, 1-D biases), ``RUN/original.json`` (the source folder and epoch) and, last,
    ``RUN/config.toml`` (:func:`config_from_simulation`). ``segdend test RUN`` then tests the
    imported network; ``segdend train --config RUN/config.toml --init-params RUN/params.npz``
    continues training it.

    Parameters
    ----------
    folder : path
        The simulation folder (``simulation.json``, ``initial_*.npy``, ``epoch_{N}_*.npy``).
    run_dir : path
        The run directory to create; it must not hold a run yet.
    epoch : int, optional
        Which parameters: ``None`` or 0 for ``initial_*``, N for ``epoch_N_*``.

    Returns
    -------
    Path
        ``run_dir``.

    Raises
    ------
    ConfigError
        A flag or constant without a segdend equivalent, or a negative epoch.
    DataError
        A missing file, or an array with the wrong shape, a non-float type, NaN or a
        pickled object.
    RunError
        ``run_dir`` already holds a run or cannot be written.
    """
    folder, run_dir = Path(folder), Path(run_dir)
    prefix = _prefix(epoch)
    config = config_from_simulation(_read_simulation(folder), str(folder / "simulation.json"))
    params = _read_parameters(folder, prefix, config)
    if (run_dir / "config.toml").exists():
        raise RunError(f"run directory '{run_dir}' already holds a run; choose another --run-dir")
    ensure_writable(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RunError(f"cannot create run directory '{run_dir}': {error.strerror}") from None
    buffer = io.BytesIO()
    np.savez(buffer, **params.arrays())
    atomic_write_bytes(run_dir / "params.npz", buffer.getvalue())
    origin = {"source": str(folder.resolve()), "prefix": prefix, "epoch": epoch or 0}
    atomic_write_text(run_dir / ORIGIN_FILE, json.dumps(origin, indent=1) + "\n")
    atomic_write_text(run_dir / "config.toml", dump_toml(config))
    return run_dir


def _run_epoch(run_dir: Path, config: Config) -> int:
    """Epochs behind a run's params.npz: the imported epoch, or the epochs it trained."""
    origin = run_dir / ORIGIN_FILE
    if not origin.is_file():
        return config.train.epochs
    try:
        epoch = json.loads(origin.read_text(encoding="utf-8"))["epoch"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise RunError(f"'{origin}' is unreadable: {error}") from None
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise RunError(f"'{origin}': 'epoch' = {epoch!r}, expected a whole number >= 0")
    return epoch


def export_original(run_dir: Path | str, out: Path | str) -> Path:
    """Write a segdend run as a simulation folder of the authors' code.

    ``OUT/simulation.json`` (:func:`simulation_from_config`) and the run's final parameters as
    ``epoch_{N}_{W,b,Y}_{m}.npy`` (``initial_*`` when N = 0), where N is the imported epoch of an
    imported run, else the run's ``train.epochs``. A run trained by segdend also gets its
    ``initial_params.npz`` as ``initial_*``. Arrays are plain float64 ``.npy`` files, ``W_0`` in
    the code's column-major pixel order, biases as (size, 1) column vectors; the code's
    ``load_simulation(N, ...)`` reads them.

    Parameters
    ----------
    run_dir : path
        A finished run (``config.toml`` and ``params.npz``).
    out : path
        The folder to write; it must not hold a simulation (``simulation.json``) yet.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    ConfigError
        A config value that the authors' code cannot represent.
    DataError
        Unreadable parameters.
    RunError
        ``run_dir`` is not a finished run, or ``out`` already holds a simulation.
    """
    run_dir, out = Path(run_dir), Path(out)
    if not (run_dir / "config.toml").is_file():
        raise RunError(f"'{run_dir}' is not a run directory (no config.toml)")
    if not (run_dir / "params.npz").is_file():
        raise RunError(f"run '{run_dir}' has no params.npz (unfinished); only a finished run "
                       "can be exported")
    config = load_config(run_dir / "config.toml")
    simulation = simulation_from_config(config)
    sizes = [N_INPUTS, *config.model.hidden, config.model.n_out]
    params = load_params(run_dir / "params.npz", sizes)
    initial_path = run_dir / "initial_params.npz"
    feedback_bias = config.model.feedback_bias
    if feedback_bias and len(params.feedback_biases) != len(params.feedback):
        raise DataError(f"'{run_dir / 'params.npz'}' lacks the feedback biases c0, ... "
                        "(model.feedback_bias is on)")
    epoch = _run_epoch(run_dir, config)
    if (out / "simulation.json").exists():
        raise RunError(f"'{out}' already holds a simulation (simulation.json); choose another "
                       "--out")
    ensure_writable(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RunError(f"cannot create folder '{out}': {error.strerror}") from None
    _write_parameters(out, _prefix(epoch), params, feedback_bias)
    if epoch > 0 and initial_path.is_file():
        _write_parameters(out, "initial_", load_params(initial_path, sizes), feedback_bias)
    atomic_write_text(out / "simulation.json", json.dumps(simulation))
    return out
