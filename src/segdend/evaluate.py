"""The test procedure (PAPER.md §2.9) and repeated weight tests.

A test shows each image once, in a forward phase without teaching signal or learning, from a
network at rest; the prediction is the output category with the highest mean somatic potential.
Tests draw their spikes from their own random stream, so they never perturb training.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from segdend.csvio import load_table
from segdend.data.dataset import Dataset
from segdend.engines.base import Engine
from segdend.model.params import NetworkParams
from segdend.runs import append_event

#: First key part of each kind of test (the RNG stream is ``rng.STREAM_TEST``).
FULL_TEST, QUICK_TEST, REPEATED_TEST = 0, 1, 2
#: Where the repeated weight tests of a run are kept.
REPEATED_FILE = "repeated_tests.csv"


def test_error(
    engine: Engine,
    params: NetworkParams,
    images: np.ndarray,
    labels: np.ndarray,
    key_parts: tuple[int, ...],
    chunk: int = 500,
    progress: Callable[[int], None] | None = None,
) -> float:
    """Percentage of ``images`` (uint8) misclassified."""
    wrong = 0
    for start in range(0, len(images), chunk):
        batch = Dataset.scale(images[start : start + chunk])
        predicted = engine.predict(params, batch, (*key_parts, start))
        wrong += int(np.count_nonzero(predicted != labels[start : start + chunk]))
        if progress is not None:
            progress(len(batch))
    return 100.0 * wrong / len(images)


def repeated_test_errors(
    engine: Engine,
    params: NetworkParams,
    dataset: Dataset,
    n_images: int,
    repeats: int,
    progress: Callable[[int], None] | None = None,
) -> list[float]:
    """Test the same weights ``repeats`` times with fresh spikes (the paper's n = 20 tests)."""
    images, labels = dataset.test_images[:n_images], dataset.test_labels[:n_images]
    return [
        test_error(engine, params, images, labels, (REPEATED_TEST, r), progress=progress)
        for r in range(repeats)
    ]


def write_repeated_tests(run_dir: Path, repeats: int, n_images: int | None = None,
                         data_dir: Path | None = None,
                         progress: Callable[[int], None] | None = None) -> list[float]:
    """Repeated weight tests of a finished run's ``params.npz``, kept in ``repeated_tests.csv``.

    Uses the run's own config, data set and ``test.examples`` (unless ``n_images``).
    """
    from segdend.config import load_config
    from segdend.data.dataset import load_dataset
    from segdend.engines import make_engine
    from segdend.model.params import load_params

    run_dir = Path(run_dir)
    config = load_config(run_dir / "config.toml")
    params = load_params(run_dir / "params.npz")
    dataset = load_dataset(config.dataset, data_dir)
    n = min(n_images or config.test.examples, len(dataset.test_labels))
    began, cpu_began = time.perf_counter(), time.process_time()
    errors = repeated_test_errors(make_engine(config), params, dataset, n, repeats, progress)
    save_repeated_tests(run_dir, errors, n, time.perf_counter() - began,
                        time.process_time() - cpu_began)
    return errors


def save_repeated_tests(run_dir: Path, errors: list[float], images: int,
                        seconds: float, cpu_seconds: float | None = None) -> Path:
    """Write ``repeated_tests.csv`` (repeat, test_error) atomically.

    The tests' size, wall time and CPU time (``time.process_time``, when given) go to
    ``events.jsonl`` (event ``repeated_tests``).
    """
    from segdend.runs import atomic_write_text

    lines = ["repeat,test_error"] + [f"{i},{e:.4f}" for i, e in enumerate(errors)]
    path = Path(run_dir) / REPEATED_FILE
    atomic_write_text(path, "\n".join(lines) + "\n")
    cpu = {} if cpu_seconds is None else {"cpu_seconds": round(cpu_seconds, 3)}
    append_event(run_dir, "repeated_tests", repeats=len(errors), images=images,
                 seconds=round(seconds, 3), **cpu)
    return path


def read_repeated_tests(run_dir: Path) -> np.ndarray:
    """The test errors of ``repeated_tests.csv`` (or ``repeated_tests.csv.gz``)."""
    path = Path(run_dir) / REPEATED_FILE
    return load_table(path)[:, 1]
