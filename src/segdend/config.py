"""One validated configuration for a run: pydantic models, presets, TOML files, ``--set`` overrides.

Every difference between the paper and the authors' public code (PAPER.md §8) is a named field, and
the two presets ``code`` and ``paper`` differ only in the values of those fields (DESIGN.md,
"Configuration"). Field docstrings give the paper's symbols and sections.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from segdend.errors import ConfigError

#: Learning rates of PAPER.md §2.7, by number of hidden layers (hidden layers first, output last).
PAPER_LEARNING_RATES: dict[int, list[float]] = {
    0: [0.19],
    1: [0.21, 0.21],
    2: [0.23, 0.23, 0.12],
}


class Strict(BaseModel):
    """Base of every config section: unknown keys are errors, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)




class InitConfig(Strict):
    """Weight initialisation (PAPER.md §2.8, §8 item 6)."""

    spread: Literal["head", "intended"] = "head"
    """``head``: W_avg + 3.465·W_sd·U(−1, 1) (code HEAD, sd = 2·W_sd); ``intended``:
    W_avg + 3.465·W_sd·(U(0, 1) − 0.5) (code before 2017-05-10, sd = W_sd, dendritic voltages
    between −6 and 12 as the Methods say)."""
    feedback_mean: Literal["w_avg", "zero"] = "w_avg"
    """Mean of the initial feedback weights Y: W_avg of the layer above (HEAD) or 0 (older code)."""
    voltage_mean: float = 3.0
    """V_avg: desired mean dendritic potential."""
    voltage_sd: float = Field(3.0, gt=0)
    """V_sd: desired standard deviation of the dendritic potential."""
    bias_mean: float = 0.8
    """b_avg: mean of the initial biases b (0.8 in the code)."""
    bias_sd: float = Field(0.001, ge=0)
    """b_sd: spread of the initial biases b (0.001 in the code)."""


class ModelConfig(Strict):
    """The network and its neurons (PAPER.md §1, §2)."""

    hidden: list[int] = Field(default_factory=lambda: [500])
    """Hidden-layer sizes (m in the paper): ``[]`` (784-10), ``[500]`` (784-500-10),
    ``[500, 100]`` (784-500-100-10)."""
    mode: Literal["spiking", "rate"] = "spiking"
    """``spiking``: the paper's model. ``rate``: the authors' non-spiking mode (PAPER.md §8 item 1),
    steady-state equations instead of dynamics."""
    feedback: Literal["random", "sparse", "sparse-unamplified", "symmetric", "symmetric-noise"] = (
        "random"
    )
    """Structure of the feedback weights Y (PAPER.md §2.8, Figs 8, 8S1)."""
    apical_conductance: float = Field(0.0, ge=0.0, le=10.0)
    """g_a: apical → soma conductance; 0 (segregated), 0.05 (strong attenuation), 0.6 (weak)."""
    basal_conductance: float = Field(0.6, gt=0.0, le=10.0)
    """g_b: basal → soma conductance."""
    dendritic_conductance: float = Field(0.6, gt=0.0, le=10.0)
    """g_d: output dendrite → soma conductance."""
    leak_conductance: float = Field(0.1, gt=0.0, le=10.0)
    """g_l: leak conductance (τ = C_m/g_l = 10 ms)."""
    max_rate: float = Field(0.2, gt=0.0, le=1.0)
    """φ_max in spikes per 1-ms step (200 Hz); the code's λ_max."""
    tau_short: float = Field(3.0, gt=0.0)
    """τ_s of the PSP kernel κ (ms)."""
    tau_long: float = Field(10.0, gt=0.0)
    """τ_L of the PSP kernel κ (ms)."""
    kernel_steps: int | None = Field(10, ge=1, le=1000)
    """PSP kernel memory: κ(1)…κ(n) (code: 10, PAPER.md §8 item 2) or ``None`` for the
    untruncated kernel of the paper."""
    teaching_scale: float = Field(1.0, ge=0.0)
    """Factor on the teaching current I in the output soma (PAPER.md §8 item 8): 1 as in the code
    (the behaviour the paper describes); 0.1 = g_l reads Eq. 19 literally."""
    excitatory_reversal: float = 8.0
    """E_E: reversal potential of the teaching current's excitatory conductance g_E (Eq. 20)."""
    inhibitory_reversal: float = -8.0
    """E_I: reversal potential of the teaching current's inhibitory conductance g_I (Eq. 20)."""
    feedback_signal: Literal["spikes", "rates"] = "spikes"
    """What the output sends back through Y: filtered spikes, or its rates φ¹(t) (Fig 7A, red)."""
    spiking_feedforward: bool = True
    """Whether feedforward input is filtered spikes (True) or instantaneous rates (code option)."""
    sparse_fraction: float = Field(0.8, ge=0.0, lt=1.0)
    """Fraction of feedback weights set to zero in the sparse variants (PAPER.md §2.8)."""
    sparse_gain: float = Field(5.0, gt=0.0)
    """Amplification of the surviving sparse feedback weights (``sparse``; ``sparse-unamplified``
    always uses 1)."""
    symmetric_noise_sd: float = Field(0.05, ge=0.0)
    """Standard deviation of the noise added to Y = W¹ᵀ (PAPER.md §8 item 10: code 0.05; the
    paper's "variance σ = 0.05" read literally is sd √0.05)."""
    units_per_class: int = Field(1, ge=1, le=100)
    """Output units per digit category (code option ``n_neurons_per_category``)."""
    feedback_bias: bool = False
    """Biases c on the apical potentials (code option)."""
    learn_feedback: bool = False
    """Learn the feedback weights Y (code option ``update_feedback_weights``)."""
    feedback_learning_rates: list[float] = Field(default_factory=list)
    """Learning rates of Y, one per hidden layer, when ``learn_feedback`` is on."""
    learning_rule: Literal["local", "backprop"] = "local"
    """``local``: the paper's rule (Eqs. 28–35); ``backprop``: exact backpropagated errors on the
    same network (code option ``use_backprop``)."""
    backprop_uses_updated_weights: bool = True
    """In backprop mode, whether the error of a hidden layer is carried by the already-updated
    weights of the layer above (the code updates top to bottom, PAPER.md §8 item 18)."""
    plateaus: Literal["synchronized", "stochastic"] = "synchronized"
    """Plateau timing (PAPER.md §2.2–2.3, Fig 6S1)."""
    plateau_offset_sd: float = Field(3.0, gt=0.0)
    """Stochastic plateaus: sd of the normal whose folded value is the offset before the phase
    end (code: 3; paper: σ² = 3 → √3). PAPER.md §8 item 5."""
    plateau_offset_max: int = Field(5, ge=0, le=20)
    """Stochastic plateaus: the largest offset (ms)."""
    plateau_offset_truncation: Literal["clip", "resample"] = "clip"
    """Stochastic plateaus: offsets above the maximum are clipped (code) or redrawn (a truncated
    distribution, paper)."""
    plateau_window: int = Field(20, ge=1, le=1000)
    """Stochastic plateaus: steps of apical potential averaged before each neuron's plateau (code
    20, paper 30)."""
    hidden_error_scale: float = Field(100.0, gt=0.0)
    """P⁰ = 20/φ_max with φ_max per step (PAPER.md §1.8, §8 item 7)."""
    output_error_scale: float = Field(500.0, gt=0.0)
    """P¹ = 20/φ_max² with φ_max per step."""
    init: InitConfig = Field(default_factory=InitConfig)
    """Initial weights W, biases b and feedback weights Y (section ``model.init``)."""

    @field_validator("hidden")
    @classmethod
    def _hidden_sizes(cls, value: list[int]) -> list[int]:
        if any(size < 1 or size > 100_000 for size in value):
            raise ValueError("every hidden-layer size must be between 1 and 100000")
        if len(value) > 20:
            raise ValueError("at most 20 hidden layers")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ModelConfig:
        if self.tau_short >= self.tau_long:
            raise ValueError("tau_short must be smaller than tau_long (κ needs τ_s < τ_L)")
        if self.learn_feedback and len(self.feedback_learning_rates) != len(self.hidden):
            raise ValueError(
                f"learn_feedback needs one feedback learning rate per hidden layer "
                f"({len(self.hidden)}), got {len(self.feedback_learning_rates)}"
            )
        return self

    @property
    def n_out(self) -> int:
        """Number of output units (10 × units per class)."""
        return 10 * self.units_per_class


class PhaseConfig(Strict):
    """Phase lengths and averaging windows (PAPER.md §2.1–2.2, §8 items 3–4)."""

    min_length: int = Field(50, ge=2, le=10_000)
    """Minimum length of the forward phase (t₀ → t₁) and the target phase (t₁ → t₂), in ms
    (50 in the paper)."""
    random_lengths: bool = True
    """Add a Wald-distributed extra length to each phase (floored to whole steps; Fig 4B)."""
    extra_mean: float = Field(2.0, gt=0.0)
    """Mean of the Wald (inverse Gaussian) extra length (2 ms in the paper)."""
    extra_scale: float = Field(1.0, gt=0.0)
    """Scale of the Wald extra length (1 in the paper)."""
    settling: int = Field(30, ge=0)
    """Δt_s: settling time before averaging (ms)."""
    averaging: Literal["last-steps", "after-settling"] = "last-steps"
    """``last-steps``: the last ``window`` steps of each phase (code); ``after-settling``: from
    Δt_s after the phase start to its end (paper)."""
    window: int = Field(20, ge=1)
    """Length of the averaging window for ``last-steps`` (the code's ``integration_time`` =
    50 − 30 = 20 steps)."""
    test_length: int = Field(250, ge=2, le=100_000)
    """Length of the forward phase of each test image (code 250 ms, paper 500 ms; PAPER.md §8
    item 3). Its potentials are averaged after the settling time Δt_s."""

    @model_validator(mode="after")
    def _fits(self) -> PhaseConfig:
        if self.averaging == "last-steps" and self.window > self.min_length:
            raise ValueError(f"window ({self.window}) exceeds min_length ({self.min_length})")
        if self.averaging == "after-settling" and self.settling >= self.min_length:
            raise ValueError(f"settling ({self.settling}) must be below min_length")
        if self.settling >= self.test_length:
            raise ValueError(f"settling ({self.settling}) must be below test_length")
        return self


class TrainConfig(Strict):
    """The training protocol (PAPER.md §2.9)."""

    epochs: int = Field(60, ge=1, le=100_000)
    """Number of epochs (60 in the paper; 20 for Fig 8S1)."""
    examples: int = Field(60_000, ge=1)
    """Training examples per epoch (all 60,000 MNIST training images in the paper)."""
    learning_rates: list[float] | None = None
    """η, one per layer: hidden layers first, output last. ``None``: the paper's values (§2.7)."""
    order_file: Path | None = None
    """A text or .npy file of training-set indices that fixes the order of examples."""
    initial_test: bool = True
    """Test before training (metrics row 0). The code's default was False (PAPER.md §8 item 9);
    tests never disturb training here, so this changes no result."""
    quick_test_every: int = Field(1000, ge=0)
    """Examples between quick tests (0: none)."""
    quick_test_examples: int = Field(100, ge=1)
    """Test images of each quick test."""
    checkpoint_every: int = Field(5000, ge=0)
    """Examples between mid-epoch checkpoints (0: only at epoch ends)."""

    @field_validator("learning_rates")
    @classmethod
    def _positive(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and any(not (0 < rate < 100) or math.isnan(rate) for rate in value):
            raise ValueError("learning rates must be positive numbers below 100")
        return value


class TestConfig(Strict):
    """The test procedure (PAPER.md §2.9)."""

    __test__ = False  # not a pytest test class

    examples: int = Field(10_000, ge=1)
    """Test images of each full test (the 10,000 MNIST test images in the paper)."""
    repeats: int = Field(20, ge=1, le=1000)
    """Repeated weight tests by ``segdend test`` (n = 20 in the paper)."""


class RecordConfig(Strict):
    """Recorders: per-example quantities written to the run directory."""

    losses: bool = True
    """Hidden and output losses L⁰, L¹ per example (Fig 5)."""
    backprop_angle: bool = False
    """Angle between the local and the backprop hidden updates (Fig 7A)."""
    jacobians: bool = False
    """Jacobian eigenvalue statistics over the last 100 examples (Fig 5S1). Trains one example
    per engine call, which costs about 1 ms per example."""
    params_epochs: list[int] = Field(default_factory=list)
    """Epochs after which the parameters are kept as ``recordings/params-epochNNNN.npz``
    (Fig 5B uses the network after epoch 1)."""
    voltages: list[str] = Field(
        default_factory=list,
        description=(
            "Neurons whose apical, basal and somatic potentials and spikes are recorded at every "
            "step of both phases of training examples, in recordings/voltages.csv "
            "(docs/recording-voltages.md). Each is 'LAYER:INDEX' as in 'segdend traces --neuron': "
            "layer 0 is the first hidden layer, the last layer (len(model.hidden)) the output; "
            "e.g. [\"0:12\", \"1:3\"]. Empty: off. Spiking mode only. About 6 kB per neuron "
            "and example: bound it with voltage_every and voltage_examples."
        ),
    )
    voltage_every: int = Field(
        1, ge=1,
        description="Record the voltages of every N-th example of an epoch (positions 0, N, 2N, "
                    "...).",
    )
    voltage_examples: int | None = Field(
        None, ge=1,
        description="Record the voltages only among the first N examples of each epoch "
                    "(none: all of them).",
    )

    @field_validator("voltages", mode="before")
    @classmethod
    def _one_neuron(cls, value: Any) -> Any:
        # --set record.voltages=0:12 (not TOML, so a bare string) means one neuron
        return [value] if isinstance(value, str) else value

    @field_validator("voltages")
    @classmethod
    def _neuron_syntax(cls, value: list[str]) -> list[str]:
        for item in value:
            parse_neuron(item)
        return value


def parse_neuron(text: str) -> tuple[int, int]:
    """Parse a neuron given as ``LAYER:INDEX`` (layer 0 = first hidden layer).

    Parameters
    ----------
    text : str
        For example ``"0:12"``: neuron 12 of the first hidden layer.

    Returns
    -------
    tuple of int
        ``(layer, index)``.

    Raises
    ------
    ValueError
        If ``text`` is not two non-negative integers separated by a colon.
    """
    layer_text, colon, index_text = str(text).partition(":")
    try:
        layer, index = int(layer_text), int(index_text)
    except ValueError:
        layer = index = -1
    if not colon or layer < 0 or index < 0:
        raise ValueError(f"'{text}' is not LAYER:INDEX (two non-negative integers, e.g. '0:12')")
    return layer, index


def neuron_error(layer: int, index: int, sizes: list[int]) -> str | None:
    """Why neuron ``index`` of ``layer`` does not exist in layers of ``sizes``, or ``None``.

    Parameters
    ----------
    layer, index : int
        The neuron (layer 0 = first hidden layer).
    sizes : list of int
        Sizes of the hidden layers and the output, in order.

    Returns
    -------
    str or None
        A message naming the layers and sizes that exist, or ``None`` if the neuron exists.
    """
    if 0 <= layer < len(sizes) and 0 <= index < sizes[layer]:
        return None
    names = ", ".join(f"{k}: {n} {'output' if k == len(sizes) - 1 else 'hidden'} neurons"
                      for k, n in enumerate(sizes))
    if not 0 <= layer < len(sizes):
        return f"no layer {layer} (layers 0..{len(sizes) - 1}; {names})"
    return f"layer {layer} has neurons 0..{sizes[layer] - 1} ({names})"


class Config(Strict):
    """A complete, validated run configuration."""

    preset: Literal["code", "paper", "custom"] = "code"
    """The preset the config was resolved from: ``code`` (the authors' public code) or
    ``paper`` (the Methods read literally); PAPER.md §8. Written by ``--preset``."""
    seed: int = Field(0, ge=0, le=2**62)
    """Seed of every random number: initial weights, example order, phase lengths, plateau
    times and (counter-based) every spike."""
    engine: Literal["reference", "fast", "auto"] = "auto"
    """``reference`` (NumPy, equation by equation: the oracle), ``fast`` (compiled with Numba)
    or ``auto`` (``fast``). Both draw the same spikes and give the same results."""
    dataset: str = "mnist"
    """``mnist``, ``fashion-mnist`` or a path to an npz with x_train, y_train, x_test, y_test."""
    model: ModelConfig = Field(default_factory=ModelConfig)
    """The network and its neurons (section ``model``)."""
    phases: PhaseConfig = Field(default_factory=PhaseConfig)
    """Phase lengths and averaging windows (section ``phases``)."""
    train: TrainConfig = Field(default_factory=TrainConfig)
    """The training protocol (section ``train``)."""
    test: TestConfig = Field(default_factory=TestConfig)
    """The test procedure (section ``test``)."""
    record: RecordConfig = Field(default_factory=RecordConfig)
    """Per-example recorders (section ``record``)."""

    @model_validator(mode="after")
    def _learning_rates(self) -> Config:
        rates = self.train.learning_rates
        n_layers = len(self.model.hidden) + 1
        if rates is not None and len(rates) != n_layers:
            raise ValueError(
                f"train.learning_rates needs {n_layers} values (hidden layers, then output), "
                f"got {len(rates)}"
            )
        model, phases = self.model, self.phases
        if (
            model.plateaus == "stochastic"
            and model.plateau_window + model.plateau_offset_max > phases.min_length
        ):
            raise ValueError(
                "model.plateau_window + model.plateau_offset_max must not exceed "
                f"phases.min_length ({phases.min_length})"
            )
        if self.record.voltages:
            if model.mode != "spiking":
                raise ValueError("record.voltages needs model.mode = 'spiking' (rate mode has "
                                 "no dynamics)")
            sizes = [*model.hidden, model.n_out]
            for item in self.record.voltages:
                problem = neuron_error(*parse_neuron(item), sizes)
                if problem:
                    raise ValueError(f"record.voltages: '{item}': {problem}")
        return self

    def learning_rates(self) -> list[float]:
        """η per layer: the configured values, or the paper's for this depth (§2.7)."""
        if self.train.learning_rates is not None:
            return list(self.train.learning_rates)
        depth = len(self.model.hidden)
        if depth in PAPER_LEARNING_RATES:
            return list(PAPER_LEARNING_RATES[depth])
        return [0.23] * depth + [0.12]


#: Values that make the two presets (PAPER.md §8). Anything not listed is shared.
PRESETS: dict[str, dict[str, Any]] = {
    "code": {
        "model.kernel_steps": 10,
        "model.plateau_offset_sd": 3.0,
        "model.plateau_offset_truncation": "clip",
        "model.plateau_window": 20,
        "model.symmetric_noise_sd": 0.05,
        "model.init.spread": "head",
        "model.init.feedback_mean": "w_avg",
        "phases.averaging": "last-steps",
        "phases.test_length": 250,
    },
    "paper": {
        "model.kernel_steps": None,
        "model.plateau_offset_sd": math.sqrt(3.0),
        "model.plateau_offset_truncation": "resample",
        "model.plateau_window": 30,
        "model.symmetric_noise_sd": math.sqrt(0.05),
        "model.init.spread": "intended",
        "model.init.feedback_mean": "w_avg",
        "phases.averaging": "after-settling",
        "phases.test_length": 500,
    },
}


#: Settings that act only when another setting has one of the given values (else unused).
ACTS_ONLY_WHEN: dict[str, tuple[str, tuple[Any, ...]]] = {
    "model.plateau_offset_sd": ("model.plateaus", ("stochastic",)),
    "model.plateau_offset_max": ("model.plateaus", ("stochastic",)),
    "model.plateau_offset_truncation": ("model.plateaus", ("stochastic",)),
    "model.plateau_window": ("model.plateaus", ("stochastic",)),
    "model.symmetric_noise_sd": ("model.feedback", ("symmetric-noise",)),
    "model.sparse_fraction": ("model.feedback", ("sparse", "sparse-unamplified")),
    "model.sparse_gain": ("model.feedback", ("sparse",)),
}


def dotted_keys(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested table as dotted keys (``{"model": {"init": {"spread": …}}}`` →
    ``{"model.init.spread": …}``), the form of ``--set`` and of sweep files."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(dotted_keys(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def set_path(tree: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``tree[a][b][c] = value`` for ``dotted`` = ``"a.b.c"``, creating sections."""
    parts = dotted.split(".")
    node = tree
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"config key '{dotted}': '{part}' is a value, not a section")
        node = child
    node[parts[-1]] = value


def parse_value(text: str) -> Any:
    """Parse a ``--set`` value as TOML (number, bool, list, quoted string), else a bare string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _format_error(error: ValidationError) -> str:
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"])
    value = first.get("input")
    if first["type"] == "extra_forbidden":
        return f"unknown config key '{key}'"
    message = first["msg"].removeprefix("Value error, ")
    if isinstance(value, dict):
        return f"config section '{key}': {message}" if key else f"config: {message}"
    return f"config key '{key}' = {value!r}: {message}"


def build_config(
    preset: str = "code",
    files: list[Path] | None = None,
    overrides: list[str] | None = None,
    settings: dict[str, Any] | None = None,
) -> Config:
    """Resolve a config: preset values, then each TOML file, then each ``key=value`` override.

    Parameters
    ----------
    preset : {"code", "paper"}
        The authors' code or the paper's Methods (PAPER.md §8).
    files : list of path, optional
        TOML files, applied in order (later files win).
    overrides : list of str, optional
        ``key=value`` strings with TOML values, as ``--set`` takes them.
    settings : dict, optional
        Dotted key → Python value (``{"model.hidden": [500, 100]}``), applied last.

    Raises
    ------
    ConfigError
        An unknown preset or key, a wrong type or an impossible value (one line, naming it).
    """
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset '{preset}': expected one of {', '.join(PRESETS)}")
    tree: dict[str, Any] = {}
    for key, value in PRESETS[preset].items():
        set_path(tree, key, value)
    tree["preset"] = preset
    for path in files or []:
        _merge(tree, load_toml(path))
    apply_overrides(tree, overrides)
    for key, value in (settings or {}).items():
        check_key(key)
        set_path(tree, key, value)
    return validate(tree)


def check_key(dotted: str, root: type[BaseModel] | None = None) -> None:
    """Raise a :class:`ConfigError` unless ``dotted`` names a field of ``root`` (a Config)."""
    model: type[BaseModel] | None = root or Config
    for part in dotted.split("."):
        if model is None or part not in model.model_fields:
            raise ConfigError(f"unknown config key '{dotted}'")
        annotation = model.model_fields[part].annotation
        is_section = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        model = annotation if is_section else None


def validate(tree: dict[str, Any], root: type[BaseModel] | None = None) -> Any:
    """Validate a nested dict as ``root`` (a :class:`Config`); raise a one-line ConfigError."""
    try:
        return (root or Config).model_validate(tree)
    except ValidationError as error:
        raise ConfigError(_format_error(error)) from None


def apply_overrides(
    tree: dict[str, Any], overrides: list[str] | None, root: type[BaseModel] | None = None
) -> None:
    """Apply ``key=value`` overrides (TOML values) to a nested dict, checking each key."""
    for item in overrides or []:
        if "=" not in item:
            raise ConfigError(f"--set '{item}': expected key=value")
        key, text = item.split("=", 1)
        key = key.strip()
        if not key:
            raise ConfigError(f"--set '{item}': empty key")
        check_key(key, root)
        value = parse_value(text.strip())
        set_path(tree, key, None if value == _NONE else value)


def _merge(into: dict[str, Any], other: dict[str, Any]) -> None:
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def load_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file; a missing or malformed file is a one-line :class:`ConfigError`."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            tree = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file '{path}' does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"config file '{path}' is not valid TOML: {error}") from None
    except OSError as error:
        raise ConfigError(f"config file '{path}' cannot be read: {error.strerror}") from None
    return _unwrap_none(tree)


_NONE = "none"


def _unwrap_none(tree: dict[str, Any]) -> dict[str, Any]:
    """TOML has no null; ``kernel_steps = "none"`` and friends mean ``None``."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out[key] = _unwrap_none(value)
        elif value == _NONE:
            out[key] = None
        else:
            out[key] = value
    return out


def load_config(path: Path) -> Config:
    """Load a resolved config file as written by :func:`dump_toml`."""
    return validate(load_toml(path))


def dump_toml(config: Config) -> str:
    """Write a config as TOML (``None`` is written as the string ``"none"``)."""
    data = config.model_dump(mode="json")
    lines: list[str] = []
    _emit_table(lines, [], data)
    return "\n".join(lines).strip() + "\n"


def _toml_value(value: Any) -> str:
    if value is None:
        return f'"{_NONE}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _emit_table(lines: list[str], prefix: list[str], table: dict[str, Any]) -> None:
    scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in table.items() if isinstance(v, dict)}
    if prefix:
        lines.append(f"\n[{'.'.join(prefix)}]")
    for key, value in scalars.items():
        lines.append(f"{key} = {_toml_value(value)}")
    for key, value in tables.items():
        _emit_table(lines, [*prefix, key], value)
