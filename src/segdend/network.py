"""``segdend.Network``: build, train, test and look inside a network from Python.

The object model follows scikit-learn: the constructor only resolves and validates the config
(cheap, no data); what training learns ends in an underscore (``params_``, ``history_``,
``run_dir_``); :meth:`Network.fit` returns the network. Training goes through the same
:class:`segdend.train.Trainer` as ``segdend train``, so a network trained here equals, bit for
bit, the run the command line makes from the same config.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from segdend.config import Config, build_config, check_key, dotted_keys, set_path, validate
from segdend.data.dataset import Dataset, load_dataset
from segdend.errors import ConfigError, DataError, RunError
from segdend.model.params import NetworkParams, initialise, load_params
from segdend.progress import bars_wanted

if TYPE_CHECKING:
    import pandas as pd

    from segdend.simulation import Simulation


def _settings(overrides: dict[str, Any]) -> dict[str, Any]:
    """Keyword overrides as dotted keys: ``model__apical_conductance`` → ``model.apical_...``."""
    return {key.replace("__", "."): value for key, value in overrides.items()}


def _as_dataset(data: Dataset | str | Path | None, config: Config,
                data_dir: Path | None) -> Dataset:
    if isinstance(data, Dataset):
        return data
    name = config.dataset if data is None else str(data)
    return load_dataset(name, data_dir, progress=lambda m: print(m, file=sys.stderr))


def _images(images: np.ndarray, n_inputs: int) -> np.ndarray:
    """Images as a (n, pixels) float array in [0, 1] (uint8 images are divided by 255)."""
    array = np.asarray(images)
    if array.ndim >= 2 and array.shape[-2:] == (28, 28) and n_inputs == 784:
        array = array.reshape(*array.shape[:-2], 784)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != n_inputs:
        raise DataError(f"expected images of {n_inputs} pixels, shape (n, {n_inputs}), got "
                        f"shape {np.asarray(images).shape}")
    if array.dtype == np.uint8:
        return Dataset.scale(array)
    array = array.astype(np.float64)
    if not np.isfinite(array).all() or array.min() < 0 or array.max() > 1:
        raise DataError("expected uint8 pixels (0–255) or floats in [0, 1]")
    return array


class Network:
    """A network of the segregated-dendrites model (Guerguiev et al. 2017).

    Parameters
    ----------
    hidden : list of int, optional
        Hidden-layer sizes (``model.hidden``): ``[]`` (784-10), ``[500]`` (784-500-10, the
        default) or ``[500, 100]``.
    preset : {"code", "paper"}, default "code"
        The authors' code or the paper's Methods read literally (PAPER.md §8).
    seed : int, optional
        Seed of every random number (initial weights, spikes, example order).
    engine : {"auto", "fast", "reference"}, optional
        The compiled engine (default when Numba works) or the NumPy oracle.
    mode : {"spiking", "rate"}, optional
        ``model.mode``: spiking neurons, or the authors' non-spiking mode.
    config : Config or path, optional
        A resolved config or a TOML file, used instead of ``preset`` as the base.
    settings : dict, optional
        Any config key in dotted form, e.g. ``{"model.apical_conductance": 0.05}``.
    **overrides
        The same with ``__`` for the dot: ``model__feedback="symmetric"``.

    Attributes
    ----------
    config : Config
        The resolved, validated configuration.
    params_ : NetworkParams
        Weights W, biases b and feedback weights Y, set by :meth:`fit`,
        :meth:`initialise` or :meth:`load_params`.
    history_ : pandas.DataFrame
        The ``metrics.csv`` of the last :meth:`fit`: one row per epoch (0 = before training).
    run_dir_ : Path or None
        The run directory of the last :meth:`fit` (None when it trained in memory).

    Examples
    --------
    >>> import segdend
    >>> net = segdend.Network(hidden=[500], preset="code", seed=1, mode="rate")
    >>> net.config.model.hidden
    [500]
    """

    def __init__(self, hidden: Sequence[int] | None = None, *, preset: str = "code",
                 seed: int | None = None, engine: str | None = None, mode: str | None = None,
                 config: Config | str | Path | None = None,
                 settings: dict[str, Any] | None = None, **overrides: Any):
        named = {"model.hidden": None if hidden is None else list(hidden), "seed": seed,
                 "engine": engine, "model.mode": mode}
        chosen = {k: v for k, v in named.items() if v is not None}
        chosen.update(settings or {})
        chosen.update(_settings(overrides))
        self._explicit = set(chosen) | ({"train.examples"} if config is not None else set())
        if isinstance(config, Config):
            self.config = with_settings(config, chosen)
        else:
            files = [] if config is None else [Path(config)]
            self.config = build_config(preset, files, settings=chosen)
        self.params_: NetworkParams
        self.history_: pd.DataFrame
        self.run_dir_: Path | None = None

    # ----------------------------------------------------------------- construction

    @classmethod
    def from_run(cls, run_dir: str | Path) -> Network:
        """The network of a run directory, with its final (or latest checkpointed) parameters."""
        from segdend.run import Run

        return Run(run_dir).network()

    def __repr__(self) -> str:
        default = build_config(self.config.preset if self.config.preset in ("code", "paper")
                               else "code")
        defaults = dotted_keys(default.model_dump(mode="json"))
        changed = {k: v for k, v in dotted_keys(self.config.model_dump(mode="json")).items()
                   if defaults.get(k) != v}
        inner = ", ".join(f"{k}={v!r}" for k, v in sorted(changed.items()))
        sizes = "-".join(str(n) for n in self.sizes)
        return f"Network({sizes}, preset={self.config.preset!r}" + (
            f", {inner})" if inner else ")")

    @property
    def sizes(self) -> list[int]:
        """Layer sizes, input first (784 for MNIST)."""
        if hasattr(self, "params_"):
            return self.params_.sizes
        return [784, *self.config.model.hidden, self.config.model.n_out]

    @property
    def is_fitted(self) -> bool:
        """Whether the network has parameters (trained, initialised or loaded)."""
        return hasattr(self, "params_")

    def set_params(self, settings: dict[str, Any] | None = None, **overrides: Any) -> Network:
        """Change config keys (dotted, or with ``__``) for what follows; keeps ``params_``.

        With ``fit(..., warm_start=True)`` this gives schedules, e.g. a lower learning rate
        after some epochs: ``net.set_params({"train.learning_rates": [0.05, 0.05]})``.

        Raises
        ------
        ConfigError
            An unknown key or an invalid value (one line, naming it).
        """
        chosen = {**(settings or {}), **_settings(overrides)}
        self.config = with_settings(self.config, chosen)
        self._explicit |= set(chosen)
        return self

    def initialise(self, n_inputs: int = 784) -> Network:
        """Draw the initial weights of ``config`` (``model.init``, PAPER.md §2.8); no training."""
        self.params_ = initialise(self.config, n_inputs)
        return self

    def _need_params(self) -> NetworkParams:
        if not self.is_fitted:
            raise RunError("the network has no parameters yet: call fit(), initialise() or "
                           "load_params() first")
        return self.params_

    # --------------------------------------------------------------------- training

    def fit(self, data: Dataset | str | Path | None = None, *, epochs: int | None = None,
            examples: int | None = None, run_dir: str | Path | None = None,
            warm_start: bool = False, init_params: str | Path | None = None,
            progress: bool | None = None,
            data_dir: str | Path | None = None,
            log: Callable[[str], None] | None = None) -> Network:
        """Train online (PAPER.md §2.9), then test after every epoch.

        Parameters
        ----------
        data : Dataset, str or path, optional
            A :class:`Dataset`, a data set name (``"mnist"``, ``"fashion-mnist"``) or an npz
            file. Default: ``config.dataset``.
        epochs, examples : int, optional
            ``train.epochs`` and ``train.examples`` (per epoch) for this fit. When neither
            ``examples`` nor the config sets ``train.examples`` and the data set has fewer
            training images than the default 60,000, an epoch is the whole training set.
        run_dir : path, optional
            Write a run directory, as ``segdend train --run-dir`` does: resumable, locked,
            checksummed. Default: train in a temporary directory that is removed afterwards.
        warm_start : bool, default False
            Start from the current parameters instead of new initial weights.
        init_params : path, optional
            Start from the parameters of this npz file (``W0``, ``b0``, …, ``Y0``, …), as
            ``segdend train --init-params``.
        progress : bool, optional
            Show progress bars (default: in a terminal or a Jupyter notebook).
        data_dir : path, optional
            Where the data set's IDX files are (as ``--data-dir``).
        log : callable, optional
            Receives one line per epoch (default: stderr, unless ``progress=False``).

        Returns
        -------
        Network
            ``self``, with ``params_``, ``history_`` and ``run_dir_`` set.

        Raises
        ------
        DivergenceError
            A potential became NaN or infinite (the last good checkpoint is kept).
        RunError
            ``run_dir`` already holds a run (resume it with :meth:`Run.resume`).
        """
        from segdend.run import read_table
        from segdend.train import run_training, save_params_atomic

        settings: dict[str, Any] = {}
        if epochs is not None:
            settings["train.epochs"] = epochs
        if examples is not None:
            settings["train.examples"] = examples
        if isinstance(data, str | Path):
            settings["dataset"] = str(data)
        config = with_settings(self.config, settings)
        dataset = _as_dataset(data, config, None if data_dir is None else Path(data_dir))
        if examples is None and "train.examples" not in self._explicit and (
                config.train.examples > len(dataset.train_labels)):
            config = with_settings(config, {"train.examples": len(dataset.train_labels)})
        if config.train.examples > len(dataset.train_labels):
            raise ConfigError(f"config key 'train.examples' = {config.train.examples}: the data "
                              f"set has only {len(dataset.train_labels)} training images")
        quiet = not bars_wanted() if progress is None else not progress
        if log is None and progress is False:
            log = _silent
        with tempfile.TemporaryDirectory(prefix="segdend-") as scratch:
            directory = Path(run_dir) if run_dir is not None else Path(scratch) / "run"
            init = None if init_params is None else Path(init_params)
            if warm_start:
                init = Path(scratch) / "init.npz"
                save_params_atomic(self._need_params(), init)
            run_training(config, directory, quiet=quiet, init_params=init, log=log,
                         dataset=dataset)
            self.params_ = load_params(directory / "params.npz")
            self.history_ = read_table(directory / "metrics.csv")
        self.config = config
        self.run_dir_ = None if run_dir is None else Path(run_dir)
        return self

    # ---------------------------------------------------------------------- testing

    def _engine(self):
        from segdend.engines import make_engine

        return make_engine(self.config)

    def test_error(self, data: Dataset | str | Path | None = None, *,
                   examples: int | None = None, repeat: int = 0,
                   data_dir: str | Path | None = None) -> float:
        """Test error (%) on the test images (PAPER.md §2.9): one forward phase per image.

        Parameters
        ----------
        data : Dataset, str or path, optional
            The data set (default ``config.dataset``).
        examples : int, optional
            The first ``examples`` test images (default ``test.examples``).
        repeat : int, default 0
            Which repeated test: each draws fresh spikes. ``repeat=r`` equals the r-th test of
            :meth:`test_errors` and of ``segdend test``.
        """
        return self.test_errors(data, examples=examples, repeats=1, first=repeat,
                                data_dir=data_dir)[0]

    def test_errors(self, data: Dataset | str | Path | None = None, *,
                    examples: int | None = None, repeats: int | None = None, first: int = 0,
                    data_dir: str | Path | None = None,
                    progress: bool | None = None) -> list[float]:
        """The paper's repeated weight tests: the same weights tested ``repeats`` times.

        Returns one test error (%) per repeat (default ``test.repeats``, n = 20 in the paper).
        """
        from segdend.evaluate import REPEATED_TEST, test_error
        from segdend.progress import Progress

        params = self._need_params()
        dataset = _as_dataset(data, self.config, None if data_dir is None else Path(data_dir))
        n = min(examples or self.config.test.examples, len(dataset.test_labels))
        repeats = self.config.test.repeats if repeats is None else repeats
        if repeats < 1:
            raise ConfigError(f"repeats = {repeats}: expected at least 1")
        engine = self._engine()
        quiet = not bars_wanted() if progress is None else not progress
        images, labels = dataset.test_images[:n], dataset.test_labels[:n]
        with Progress(n * repeats, "test", quiet, unit="img") as bar:
            return [test_error(engine, params, images, labels, (REPEATED_TEST, r),
                               progress=bar.update) for r in range(first, first + repeats)]

    def predict(self, images: np.ndarray, *, repeat: int = 0) -> np.ndarray:
        """Predicted category of each image: the output units' highest mean potential (§2.9).

        Parameters
        ----------
        images : array, shape (n, pixels) or (n, 28, 28)
            uint8 pixels (0–255) or floats in [0, 1].
        repeat : int, default 0
            Key of the spike draws (as in :meth:`test_error`).

        Returns
        -------
        ndarray of int, shape (n,)
        """
        from segdend.evaluate import REPEATED_TEST

        params = self._need_params()
        batch = _images(images, params.sizes[0])
        return self._engine().predict(params, batch, (REPEATED_TEST, repeat, 0))

    def score(self, images: np.ndarray, labels: np.ndarray) -> float:
        """Accuracy (fraction correct) of :meth:`predict` on ``images`` (scikit-learn's score)."""
        predicted = self.predict(images)
        labels = np.asarray(labels)
        if labels.shape != predicted.shape:
            raise DataError(f"expected {len(predicted)} labels, got shape {labels.shape}")
        return float(np.mean(predicted == labels))

    # ---------------------------------------------------------------- inside a neuron

    def simulate(self, image: np.ndarray, label: int, *, forward_ms: int | None = None,
                 target_ms: int | None = None) -> Simulation:
        """Simulate one example (forward, then target phase) from rest and keep every potential.

        Uses the reference engine (the equations of PAPER.md §1–2 step by step); the network's
        weights are not changed.

        Parameters
        ----------
        image : array, shape (pixels,) or (28, 28)
            uint8 pixels or floats in [0, 1].
        label : int
            The category taught in the target phase.
        forward_ms, target_ms : int, optional
            Phase lengths (default ``phases.min_length``, 50 ms).

        Returns
        -------
        Simulation
            Apical, basal and somatic potentials and spikes of every layer, dims (time, neuron).
        """
        from segdend.simulation import Simulation
        from segdend.traces import record_traces

        if self.config.model.mode != "spiking":
            raise ConfigError("simulate needs model.mode = 'spiking' (rate mode has no dynamics)")
        params = self._need_params()
        if not 0 <= int(label) < self.config.model.n_out // self.config.model.units_per_class:
            raise DataError(f"label {label} out of range")
        pixels = _images(image, params.sizes[0])[0]
        length = self.config.phases.min_length
        forward, target = forward_ms or length, target_ms or length
        traces = record_traces(self.config, params, pixels, int(label), forward, target)
        phases = self.config.phases
        windows = tuple(
            (steps - phases.window, steps) if phases.averaging == "last-steps"
            else (phases.settling, steps) for steps in (forward, target))
        return Simulation.from_traces(traces, self.config.model.apical_conductance, windows)

    # ------------------------------------------------------------------ parameters

    def save_params(self, path: str | Path) -> Path:
        """Write W, b, Y (and feedback biases, masks) to an npz file (no pickle)."""
        from segdend.train import save_params_atomic

        path = Path(path)
        save_params_atomic(self._need_params(), path)
        return path

    def load_params(self, path: str | Path) -> Network:
        """Read parameters from an npz file (``W0``, ``b0``, …), checking their shapes."""
        params = load_params(Path(path))
        expected = self.config.model.hidden
        if params.sizes[1:-1] != list(expected):
            raise DataError(f"parameter file '{path}' has hidden layers {params.sizes[1:-1]}, "
                            f"the network {list(expected)}")
        self.params_ = params
        return self


def _silent(_message: str) -> None:
    pass


def with_settings(config: Config, settings: dict[str, Any]) -> Config:
    """``config`` with dotted keys changed (``{"train.epochs": 2}``), validated again.

    Raises
    ------
    ConfigError
        An unknown key or an invalid value (one line, naming it).
    """
    if not settings:
        return config
    tree = config.model_dump()
    for key, value in settings.items():
        check_key(key)
        set_path(tree, key, value)
    return validate(tree)
