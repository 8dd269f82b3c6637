"""A longer run continued from a finished shorter run with the same settings.

Fig 8S1's 20-epoch networks (regular and sparse ×5 feedback) have exactly the settings of the
60-epoch networks of Figs 6 and 8 but for ``train.epochs``. Nothing a run does in its first
epochs depends on how many epochs follow (shuffles, phase lengths, plateau times and initial
weights come from counter-based random numbers keyed by seed, epoch and example; DESIGN.md),
so the 60-epoch run's first 20 epochs *are* the 20-epoch run. Training both from scratch
computes those 20 epochs twice (issue 14, item 7: "a test or an analysis that runs twice").

:func:`extend_run` makes the longer run's directory from the shorter one's: the shorter run's
files (metrics, quick tests, recordings, initial parameters, checkpoints) with the longer run's
``config.toml``. Resuming it (``segdend.train.resume_training``) then trains only the
remaining epochs, and the result is bit for bit that of training the longer run from scratch
(``tests/test_continuation.py``). ``events.jsonl`` keeps the shorter run's training events and
ends with an ``extended`` event naming the run and its epochs, so that the compute of the
shared epochs is counted once (``segdend.results.timing``).

The shorter run may also have *measurement-only* recorders that the longer run lacks
(:data:`MEASUREMENT_ONLY`): they write what the network does, never change it. Fig 7's 10-epoch
network with ``record.backprop_angle`` is the first 10 epochs of the 20-epoch network of Fig 8S1,
which is the first 20 of the 60-epoch network of Figs 6 and 8, so the three train as one
continued run. The longer run does not take those recorders' files, and its starting checkpoint
is rewritten without them (:func:`extend_run`). A recorder of the longer run must have run in
the shared epochs, so the shorter run must have every recorder the longer one has.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from segdend.config import Config, dump_toml, load_config
from segdend.recording import ANGLES
from segdend.runs import EVENTS_FILE, Checkpoints, append_event, atomic_write_text, read_events

SKIPPED = {"config.toml", EVENTS_FILE, "params.npz", "repeated_tests.csv", ".lock",
           "sweep_error.txt"}
"""Files of the shorter run that the longer one does not take: its config (replaced), its
events (filtered), its final parameters and repeated tests (made after its last epoch), its
lock and error note."""
TRAINING_EVENTS = {"start", "initial_test", "epoch", "resume", "warning", "extended"}
"""Events that describe the shorter run's training and so also the longer run's."""


MEASUREMENT_ONLY: dict[str, tuple[str, ...]] = {"backprop_angle": (ANGLES,)}
"""``record`` keys that only measure the network (the backprop angle of Fig 7A), with the files
they write. Training is bit for bit the same with or without them on both engines
(``tests/test_continuation.py``), so a shorter run that had one may be continued by a longer run
that has not. ``record.jacobians`` is not one: it trains one example per engine call, and the
fast engine's weights then differ in the last bits (about 1e-16) from training 1,000 examples
per call."""


def measurement_recorders(config: Config) -> list[str]:
    """The measurement-only recorders (:data:`MEASUREMENT_ONLY`) that ``config`` turns on."""
    return [key for key in MEASUREMENT_ONLY if getattr(config.record, key)]


def dropped_recorders(short: Config, long: Config) -> list[str]:
    """The measurement-only recorders that ``short`` has and ``long`` lacks."""
    return [key for key in measurement_recorders(short) if not getattr(long.record, key)]


def same_but_epochs(short: Config, long: Config) -> bool:
    """Whether ``long`` is ``short`` trained for more epochs (every other setting equal).

    Parameters
    ----------
    short, long : Config
        The two runs' configurations.

    Returns
    -------
    bool
        True if ``long.train.epochs > short.train.epochs`` and the configurations agree on
        everything else, the ``record`` section included (a recorder of the longer run must
        have run in the shared epochs too), except that ``short`` may have measurement-only
        recorders (:data:`MEASUREMENT_ONLY`) that ``long`` lacks.
    """
    if long.train.epochs <= short.train.epochs:
        return False
    a, b = short.model_dump(), long.model_dump()
    a["train"]["epochs"] = b["train"]["epochs"] = 0
    for key in dropped_recorders(short, long):
        a["record"][key] = b["record"][key]
    return a == b


def finished_at_epoch(run_dir: Path, epochs: int) -> bool:
    """Whether ``run_dir``'s newest checkpoint is the end of epoch ``epochs``."""
    loaded = Checkpoints(run_dir).load_latest()
    if loaded is None:
        return False
    position = loaded[1].get("position", {})
    return position.get("epoch") == epochs and position.get("example") == 0


def extend_run(short_dir: Path, long_dir: Path, long_config: Config) -> bool:
    """Start the longer run ``long_dir`` from the finished shorter run ``short_dir``.

    Parameters
    ----------
    short_dir : path
        A finished run (``params.npz`` written) whose settings are ``long_config``'s but for
        fewer epochs.
    long_dir : path
        The longer run's directory; must not exist yet (or be empty).
    long_config : Config
        The longer run's configuration, written as its ``config.toml``.

    Returns
    -------
    bool
        True if ``long_dir`` now holds the shorter run's training, ready to be resumed; False
        (and nothing written) if the shorter run is not finished, its settings differ, its
        newest checkpoint is not the end of its last epoch, or ``long_dir`` already holds a
        run. The directory appears in one rename, so an interrupted copy leaves nothing.
    """
    short_dir, long_dir = Path(short_dir), Path(long_dir)
    if not (short_dir / "params.npz").is_file() or (long_dir / "config.toml").exists():
        return False
    if long_dir.exists() and any(long_dir.iterdir()):
        return False
    short_config = load_config(short_dir / "config.toml")
    if not same_but_epochs(short_config, long_config):
        return False
    if not finished_at_epoch(short_dir, short_config.train.epochs):
        return False
    long_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{long_dir.name}.", dir=long_dir.parent))
    try:
        for item in short_dir.iterdir():
            if item.name in SKIPPED or item.name.startswith("."):
                continue
            if item.is_dir():
                shutil.copytree(item, staging / item.name)
            else:
                shutil.copy2(item, staging / item.name)
        dropped = dropped_recorders(short_config, long_config)
        if dropped:
            _drop_recorders(staging, dropped)
        events = _training_events(short_dir)
        atomic_write_text(staging / EVENTS_FILE, "".join(json.dumps(e) + "\n" for e in events))
        append_event(staging, "extended", run=short_dir.name,
                     epochs=short_config.train.epochs)
        atomic_write_text(staging / "config.toml", dump_toml(long_config))
        if long_dir.exists():
            long_dir.rmdir()  # empty (checked above)
        staging.rename(long_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return True


def _drop_recorders(run_dir: Path, recorders: list[str]) -> None:
    """Remove the files of measurement-only ``recorders`` from a copied run, and replace its
    checkpoints by its newest one with their streamed sizes set to 0, so that resuming does not
    expect them."""
    for key in recorders:
        for name in MEASUREMENT_ONLY[key]:
            (run_dir / name).unlink(missing_ok=True)
    loaded = Checkpoints(run_dir).load_latest()
    if loaded is None:  # (checked by finished_at_epoch on the original)
        raise OSError(f"'{run_dir}' has no readable checkpoint")
    arrays, meta = loaded
    dropped_files = {name for key in recorders for name in MEASUREMENT_ONLY[key]}
    meta["files"] = {name: (0 if name in dropped_files else size)
                     for name, size in meta.get("files", {}).items()}
    position = meta["position"]
    shutil.rmtree(run_dir / "checkpoints")
    Checkpoints(run_dir).save(arrays, meta,
                              f"e{position['epoch']:04d}-x{position['example']:07d}")


def _training_events(run_dir: Path) -> list[dict[str, Any]]:
    """The training events of a run's ``events.jsonl`` (unreadable lines left out)."""
    return [e for e in read_events(run_dir) if e.get("event") in TRAINING_EVENTS]


def extended_epochs(events: list[dict[str, Any]]) -> int:
    """Epochs a run took over from a shorter run (its ``extended`` event), else 0."""
    taken = [int(e.get("epochs", 0)) for e in events if e.get("event") == "extended"]
    return max(taken, default=0)
