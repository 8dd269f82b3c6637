"""Training runs: epochs, shuffles, phase lengths, plateau times, tests, checkpoints, resume.

The training loop is engine-independent. Everything random except the spikes is drawn here from
counter-based generators keyed by (seed, purpose, epoch or example), so a resumed run recomputes
exactly what an uninterrupted run would have used (DESIGN.md, "Engines").
"""

from __future__ import annotations

import io
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from segdend import rng
from segdend.config import Config, dump_toml, load_config
from segdend.data.dataset import Dataset, load_dataset
from segdend.engines import make_engine
from segdend.engines.base import Engine, ExampleSchedule, VoltageRequest
from segdend.errors import DataError, DivergenceError, RunError
from segdend.evaluate import FULL_TEST, QUICK_TEST, test_error
from segdend.model.params import NetworkParams, initialise, load_params
from segdend.progress import Progress
from segdend.recording import (
    RECORDING_FILES,
    JacobianRecorder,
    Recorders,
    recorded_neurons,
    voltage_positions,
)
from segdend.runs import (
    Checkpoints,
    RunLock,
    append_event,
    append_text,
    atomic_write_bytes,
    atomic_write_text,
    ensure_writable,
    file_size,
    remove_stale_temporaries,
    truncate_to,
)

METRICS_HEADER = "epoch,test_error,train_error,seconds,examples\n"
QUICK_HEADER = "epoch,example,examples_total,test_error\n"
STREAMED = ("metrics.csv", "quick_tests.csv", *RECORDING_FILES)
#: Most examples per engine call: the progress bar and divergence checks move this often, and
#: the fast engine's packing of the weights (about 1.5 ms for 784-500-10) is paid once per call.
ENGINE_CALL_EXAMPLES = 1000


# ------------------------------------------------------------------------ schedules


def load_order_file(path: Path, n_train: int) -> np.ndarray:
    """Training-set indices from a text file (whitespace-separated) or an .npy file."""
    path = Path(path)
    try:
        if path.suffix == ".npy":
            order = np.load(path, allow_pickle=False)
        else:
            order = np.array(path.read_text().split(), dtype=np.int64)
    except FileNotFoundError:
        raise DataError(f"order file '{path}' does not exist") from None
    except (OSError, ValueError, EOFError) as error:
        raise DataError(f"order file '{path}' must hold integer indices: {error}") from None
    order = np.asarray(order)
    if order.ndim != 1 or order.size == 0 or order.dtype.kind not in "iu":
        raise DataError(f"order file '{path}' must hold a non-empty list of integer indices")
    if order.min() < 0 or order.max() >= n_train:
        raise DataError(
            f"order file '{path}' has indices outside 0..{n_train - 1} (the training set size)"
        )
    return order.astype(np.int64)


def epoch_order(config: Config, epoch: int, n_train: int, order: np.ndarray | None) -> np.ndarray:
    """Indices of the training examples of ``epoch`` (0-based), in presentation order."""
    n = config.train.examples
    if order is not None:
        positions = (np.arange(n) + epoch * n) % order.size
        return order[positions]
    rounds = math.ceil(n / n_train)
    perms = [
        rng.generator(config.seed, rng.STREAM_SHUFFLE, epoch, r).permutation(n_train)
        for r in range(rounds)
    ]
    return np.concatenate(perms)[:n]


def phase_lengths(config: Config, epoch: int) -> np.ndarray:
    """Forward and target phase lengths of every example of an epoch (PAPER.md §2.1).

    50 ms plus a Wald(mean 2, scale 1) extra length, floored to whole steps.
    """
    phases = config.phases
    n = config.train.examples
    if not phases.random_lengths:
        return np.full((n, 2), phases.min_length, dtype=np.int64)
    gen = rng.generator(config.seed, rng.STREAM_PHASES, epoch)
    extra = gen.wald(phases.extra_mean, phases.extra_scale, size=(n, 2))
    return phases.min_length + np.floor(extra).astype(np.int64)


def plateau_offsets(config: Config, example_index: int, sizes: list[int]) -> list[np.ndarray]:
    """Stochastic plateau times (Fig 6S1): steps before the phase end, per hidden neuron.

    |N(0, sd)| truncated toward zero to whole steps; values above the maximum are clipped (code)
    or redrawn (paper), PAPER.md §2.3 and §8 item 5.
    """
    model = config.model
    gen = rng.generator(config.seed, rng.STREAM_PLATEAUS, example_index)
    out = []
    for n in sizes:
        draws = np.abs(gen.normal(0.0, model.plateau_offset_sd, size=n)).astype(np.int64)
        if model.plateau_offset_truncation == "clip":
            draws = np.minimum(draws, model.plateau_offset_max)
        else:
            bad = draws > model.plateau_offset_max
            while bad.any():
                redraw = np.abs(gen.normal(0.0, model.plateau_offset_sd, size=int(bad.sum())))
                draws[bad] = redraw.astype(np.int64)
                bad = draws > model.plateau_offset_max
        out.append(draws)
    return out


def make_schedules(
    config: Config, epoch: int, positions: range, lengths: np.ndarray, hidden: list[int]
) -> list[ExampleSchedule]:
    """Schedules of the examples at ``positions`` within ``epoch``."""
    stochastic = config.model.plateaus == "stochastic" and config.model.mode == "spiking"
    out = []
    for pos in positions:
        index = epoch * config.train.examples + pos
        schedule = ExampleSchedule(index, int(lengths[pos, 0]), int(lengths[pos, 1]))
        if stochastic and hidden:
            both = plateau_offsets(config, index, hidden + hidden)
            schedule.plateau_offsets_forward = both[: len(hidden)]
            schedule.plateau_offsets_target = both[len(hidden) :]
        out.append(schedule)
    return out


# ----------------------------------------------------------------------------- trainer


@dataclass
class Position:
    """Where training stands: epoch (0-based) and examples done within it."""

    epoch: int = 0
    example: int = 0
    seconds: float = 0.0
    """Wall seconds of the epoch so far (carried over a resume)."""
    cpu_seconds: float = 0.0
    """CPU seconds of the epoch so far (``time.process_time``: unaffected by other processes on
    a shared machine; every thread of the process counts)."""
    correct: int = 0
    seen: int = 0


class Trainer:
    """Runs (or resumes) one training run in a run directory."""

    def __init__(
        self,
        config: Config,
        run_dir: Path,
        dataset: Dataset,
        quiet: bool = False,
        log: Callable[[str], None] | None = None,
    ):
        self.config = config
        self.run_dir = Path(run_dir)
        self.dataset = dataset
        self.engine: Engine = make_engine(config)
        self.quiet = quiet
        self.log = log or (lambda message: print(message, file=sys.stderr))
        self.checkpoints = Checkpoints(self.run_dir)
        self.order: np.ndarray | None = None
        if config.train.order_file is not None:
            self.order = load_order_file(config.train.order_file, len(dataset.train_labels))
        self.params: NetworkParams | None = None
        self.state: dict[str, np.ndarray] = {}
        self.position = Position()
        self.quick_test_seconds = 0.0
        """Wall time of this epoch's quick tests (in this process)."""
        self.jacobians: JacobianRecorder | None = None
        if config.record.jacobians and config.model.hidden:
            self.jacobians = JacobianRecorder(config.model.n_out, config.model.hidden[-1],
                                              self.engine.const)

    # --------------------------------------------------------------------- events

    def event(self, kind: str, **data: Any) -> None:
        """Append an event to events.jsonl."""
        append_event(self.run_dir, kind, **data)

    def warn(self, message: str) -> None:
        """Report a warning on stderr and in events.jsonl."""
        self.log(f"warning: {message}")
        self.event("warning", message=message)

    # ------------------------------------------------------------------ new / resume

    def start(self, init_params: Path | None = None) -> None:
        """Create the run directory and write the config, initial parameters and row 0."""
        ensure_writable(self.run_dir)
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise RunError(
                f"cannot create run directory '{self.run_dir}': {error.strerror}"
            ) from None
        if (self.run_dir / "config.toml").exists():
            raise RunError(
                f"run directory '{self.run_dir}' already holds a run; use "
                f"'segdend train --resume {self.run_dir}' or choose another --run-dir"
            )
        sizes = [self.dataset.n_inputs, *self.config.model.hidden, self.config.model.n_out]
        if init_params is not None:
            params = load_params(init_params, sizes)
            self._complete_params(params, init_params)
        else:
            params = initialise(self.config, self.dataset.n_inputs)
        # The initial parameters are on disk before config.toml marks the directory as a run, so
        # a run killed at any moment can be resumed (from its first checkpoint, or from scratch).
        save_params_atomic(params, self.run_dir / "initial_params.npz")
        atomic_write_text(self.run_dir / "config.toml", dump_toml(self.config))
        self._begin(params)

    def _begin(self, params: NetworkParams) -> None:
        """Row 0 and the first checkpoint of a run that starts from ``params``."""
        self.params = params
        self.state = self.engine.new_state(params)
        self.position = Position()
        for name in STREAMED:
            (self.run_dir / name).unlink(missing_ok=True)
        atomic_write_text(self.run_dir / "metrics.csv", METRICS_HEADER)
        self.event("start", engine=self.engine.name, dataset=self.dataset.origin)
        if self.config.train.initial_test:
            began, cpu_began = time.perf_counter(), time.process_time()
            error = self.full_test(0)
            seconds = time.perf_counter() - began
            append_text(self.run_dir / "metrics.csv", f"0,{error:.4f},,{seconds:.3f},0\n")
            self.event("initial_test", test_error=error, seconds=round(seconds, 3),
                       cpu_seconds=round(time.process_time() - cpu_began, 3))
            self.log(f"epoch 0 (before training): test error {error:.2f} %")
        self.save_checkpoint()

    def _complete_params(self, params: NetworkParams, path: Path) -> None:
        model = self.config.model
        if model.feedback_bias and len(params.feedback_biases) != len(params.feedback):
            raise DataError(f"parameter file '{path}' lacks feedback biases c0, ... "
                            "(model.feedback_bias is on)")
        if not model.feedback_bias:
            params.feedback_biases = []
        if model.feedback in ("sparse", "sparse-unamplified") and not params.sparse_masks:
            params.sparse_masks = [y != 0 for y in params.feedback]

    def resume(self) -> None:
        """Load the newest valid checkpoint and cut streamed files back to it."""
        ensure_writable(self.run_dir)
        remove_stale_temporaries(self.run_dir)
        self.checkpoints.remove_orphans()
        loaded = self.checkpoints.load_latest(warn=self.warn)
        if loaded is None:
            initial = self.run_dir / "initial_params.npz"
            if not initial.is_file():
                raise RunError(f"run directory '{self.run_dir}' has no usable checkpoint")
            self.warn("no usable checkpoint; starting the run again from its initial parameters")
            sizes = [self.dataset.n_inputs, *self.config.model.hidden, self.config.model.n_out]
            self._begin(load_params(initial, sizes))
            return
        arrays, meta = loaded
        params_arrays = {k[2:]: v for k, v in arrays.items() if k.startswith("p_")}
        self.params = params_from_arrays(params_arrays)
        self.state = {k[2:]: v for k, v in arrays.items() if k.startswith("s_")}
        if self.jacobians is not None:
            self.jacobians.restore({k[2:]: v for k, v in arrays.items() if k.startswith("r_")})
        self.position = Position(**meta["position"])
        for name, size in meta["files"].items():
            truncate_to(self.run_dir / name, int(size))
        self.event("resume", epoch=self.position.epoch, example=self.position.example)

    def save_checkpoint(self) -> None:
        """Flush recorders, then write a checkpoint that records every streamed file's size."""
        assert self.params is not None
        arrays = {f"p_{k}": v for k, v in self.params.arrays().items()}
        arrays.update({f"s_{k}": v for k, v in self.state.items()})
        if self.jacobians is not None:
            arrays.update({f"r_{k}": v for k, v in self.jacobians.arrays().items()})
        meta = {
            "position": self.position.__dict__,
            "files": {name: file_size(self.run_dir / name) for name in STREAMED},
            "engine": self.engine.name,
        }
        label = f"e{self.position.epoch:04d}-x{self.position.example:07d}"
        self.checkpoints.save(arrays, meta, label)

    # ----------------------------------------------------------------------- tests

    def full_test(self, epoch: int) -> float:
        """Test error on ``test.examples`` test images (at the end of an epoch)."""
        n = min(self.config.test.examples, len(self.dataset.test_labels))
        with Progress(n, f"test {epoch}", self.quiet, unit="img") as bar:
            return test_error(
                self.engine, self.params, self.dataset.test_images[:n],
                self.dataset.test_labels[:n], (FULL_TEST, epoch), progress=bar.update,
            )

    def quick_test(self, total: int) -> float:
        """Test error on a random subset of test images (every 1,000 examples, §2.9).

        Its wall time is added to ``quick_test_seconds`` (reported in the epoch's event).
        """
        began = time.perf_counter()
        n = min(self.config.train.quick_test_examples, len(self.dataset.test_labels))
        gen = rng.generator(self.config.seed, rng.STREAM_TEST, QUICK_TEST, total)
        pick = gen.permutation(len(self.dataset.test_labels))[:n]
        error = test_error(
            self.engine, self.params, self.dataset.test_images[pick],
            self.dataset.test_labels[pick], (QUICK_TEST, total),
        )
        self.quick_test_seconds += time.perf_counter() - began
        return error

    # ------------------------------------------------------------------------- loop

    def train(self) -> None:
        """Train from the current position to the last epoch."""
        cfg = self.config.train
        n = cfg.examples
        n_hidden, n_out = len(self.config.model.hidden), self.config.model.n_out
        while self.position.epoch < cfg.epochs:
            epoch = self.position.epoch
            order = epoch_order(self.config, epoch, len(self.dataset.train_labels), self.order)
            lengths = phase_lengths(self.config, epoch)
            recorders = Recorders(self.config, epoch, order, self.dataset.train_labels[order],
                                  forward_lengths=lengths[:, 0])
            recorders.correct, recorders.seen = self.position.correct, self.position.seen
            began = time.perf_counter() - self.position.seconds
            cpu_began = time.process_time() - self.position.cpu_seconds
            self.quick_test_seconds = 0.0  # of this process's share of the epoch
            with Progress(n, f"epoch {epoch + 1}/{cfg.epochs}", self.quiet,
                          initial=self.position.example) as bar:
                while self.position.example < n:
                    start = self.position.example
                    stop = self._next_stop(start, n)
                    before = self._jacobian_weights()
                    result = self.engine.train(
                        self.params, self.state,
                        Dataset.scale(self.dataset.train_images[order[start:stop]]),
                        self.dataset.train_labels[order[start:stop]],
                        make_schedules(self.config, epoch, range(start, stop), lengths,
                                       self.config.model.hidden),
                        record_angle=self.config.record.backprop_angle,
                        voltages=self._voltage_request(start, stop),
                    )
                    recorders.add(start, result)
                    if before is not None and result.completed:
                        self.jacobians.record(recorders, epoch + 1, start, *before,
                                              result.output_forward[0], stop == n)
                    if result.completed < stop - start:
                        raise DivergenceError(
                            f"the run diverged: NaN or inf somatic potential in layer "
                            f"{result.diverged_layer} at epoch {epoch + 1}, example "
                            f"{start + result.completed}; the last good checkpoint is kept"
                        )
                    self.position.example = stop
                    self.position.correct, self.position.seen = recorders.correct, recorders.seen
                    bar.update(stop - start)
                    self._check_params(epoch, stop)
                    total = epoch * n + stop
                    if cfg.quick_test_every and stop % cfg.quick_test_every == 0 and stop < n:
                        error = self.quick_test(total)
                        bar.note(f"quick test {error:.1f} %")
                        self._append_quick_test(f"{epoch + 1},{stop},{total},{error:.4f}\n")
                    if stop < n and cfg.checkpoint_every and stop % cfg.checkpoint_every == 0:
                        self.position.seconds = time.perf_counter() - began
                        self.position.cpu_seconds = time.process_time() - cpu_began
                        recorders.flush(self.run_dir, n_hidden, n_out)
                        self.save_checkpoint()
            test_began = time.perf_counter()
            error = self.full_test(epoch + 1)
            test_seconds = time.perf_counter() - test_began
            seconds = time.perf_counter() - began
            cpu_seconds = time.process_time() - cpu_began
            train_error = 100.0 * (1 - recorders.correct / max(recorders.seen, 1))
            recorders.flush(self.run_dir, n_hidden, n_out)
            append_text(self.run_dir / "metrics.csv",
                        f"{epoch + 1},{error:.4f},{train_error:.4f},{seconds:.3f},"
                        f"{(epoch + 1) * n}\n")
            self.log(f"epoch {epoch + 1}: test error {error:.2f} %, training error "
                     f"{train_error:.2f} %, {seconds:.1f} s")
            self.event("epoch", epoch=epoch + 1, test_error=error, train_error=train_error,
                       test_seconds=round(test_seconds, 3),
                       quick_test_seconds=round(self.quick_test_seconds, 3),
                       cpu_seconds=round(cpu_seconds, 3))
            if epoch + 1 in self.config.record.params_epochs:
                (self.run_dir / "recordings").mkdir(exist_ok=True)
                save_params_atomic(self.params, epoch_params_path(self.run_dir, epoch + 1))
            self.position = Position(epoch + 1)
            self.save_checkpoint()
        save_params_atomic(self.params, self.run_dir / "params.npz")
        self.event("finished")

    def _voltage_request(self, start: int, stop: int) -> VoltageRequest | None:
        """The examples of ``start:stop`` whose voltages are recorded (``record.voltages``)."""
        positions = voltage_positions(self.config, start, stop)
        if not positions:
            return None
        neurons = recorded_neurons(self.config)
        return VoltageRequest(np.array([layer for layer, _ in neurons], np.int64),
                              np.array([j for _, j in neurons], np.int64),
                              frozenset(pos - start for pos in positions))

    def _append_quick_test(self, row: str) -> None:
        path = self.run_dir / "quick_tests.csv"
        append_text(path, ("" if file_size(path) else QUICK_HEADER) + row)

    def _jacobian_weights(self) -> tuple[np.ndarray, np.ndarray] | None:
        """W¹ and Y of the top hidden layer before the next example (Fig 5S1), if recorded."""
        if self.jacobians is None:
            return None
        return self.params.weights[-1].copy(), self.params.feedback[-1].copy()

    def _next_stop(self, start: int, n: int) -> int:
        cfg = self.config.train
        if self.jacobians is not None:
            return start + 1  # the Jacobians need the weights before every example
        stop = n
        for every in (cfg.quick_test_every, cfg.checkpoint_every, ENGINE_CALL_EXAMPLES):
            if every:
                stop = min(stop, (start // every + 1) * every)
        return stop

    def _check_params(self, epoch: int, example: int) -> None:
        assert self.params is not None
        for name, array in self.params.arrays().items():
            if array.dtype.kind == "f" and not np.isfinite(array).all():
                raise DivergenceError(
                    f"the run diverged: NaN or inf in {name} (layer {name[1:]}) at epoch "
                    f"{epoch + 1}, example {example}; the last good checkpoint is kept"
                )


def epoch_params_path(run_dir: Path, epoch: int) -> Path:
    """Where ``record.params_epochs`` keeps the parameters after ``epoch`` (1-based)."""
    return Path(run_dir) / "recordings" / f"params-epoch{epoch:04d}.npz"


def params_from_arrays(arrays: dict[str, np.ndarray]) -> NetworkParams:
    """Rebuild :class:`NetworkParams` from its named arrays."""
    n_layers = sum(1 for name in arrays if name.startswith("W"))
    n_hidden = n_layers - 1

    def series(prefix: str, count: int) -> list[np.ndarray]:
        return [arrays[f"{prefix}{k}"] for k in range(count) if f"{prefix}{k}" in arrays]

    return NetworkParams(
        series("W", n_layers), series("b", n_layers), series("Y", n_hidden),
        series("c", n_hidden), [m.astype(bool) for m in series("mask", n_hidden)],
    )


def save_params_atomic(params: NetworkParams, path: Path) -> None:
    """Save parameters as npz without ever leaving a half-written file."""
    buffer = io.BytesIO()
    np.savez(buffer, **params.arrays())
    atomic_write_bytes(path, buffer.getvalue())


def run_training(
    config: Config,
    run_dir: Path,
    quiet: bool = False,
    init_params: Path | None = None,
    data_dir: Path | None = None,
    log: Callable[[str], None] | None = None,
    dataset: Dataset | None = None,
) -> Path:
    """Train a new run in ``run_dir`` (created) and return it.

    ``dataset`` is used when given (it must be what ``config.dataset`` names); otherwise the
    data set is loaded by that name.
    """
    if dataset is None:
        dataset = load_dataset(config.dataset, data_dir,
                               progress=lambda m: print(m, file=sys.stderr))
    run_dir = Path(run_dir)
    trainer = Trainer(config, run_dir, dataset, quiet, log)
    ensure_writable(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RunError(f"cannot create run directory '{run_dir}': {error.strerror}") from None
    with RunLock(run_dir):
        trainer.start(init_params)
        trainer.train()
    return run_dir


def resume_training(run_dir: Path, quiet: bool = False, data_dir: Path | None = None,
                    log: Callable[[str], None] | None = None) -> Path:
    """Continue a run from its newest valid checkpoint."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.toml").is_file():
        raise RunError(f"'{run_dir}' is not a run directory (no config.toml)")
    config = load_config(run_dir / "config.toml")
    dataset = load_dataset(config.dataset, data_dir, progress=lambda m: print(m, file=sys.stderr))
    trainer = Trainer(config, run_dir, dataset, quiet, log)
    with RunLock(run_dir):
        trainer.resume()
        trainer.train()
    return run_dir

