"""The test procedure (PAPER.md §2.9) and repeated weight tests.

A test shows each image once, in a forward phase without teaching signal or learning, from a
network at rest; the prediction is the output category with the highest mean somatic potential.
Tests draw their spikes from their own random stream, so they never perturb training.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from segdend.data.dataset import Dataset
from segdend.engines.base import Engine
from segdend.model.params import NetworkParams

#: First key part of each kind of test (the RNG stream is ``rng.STREAM_TEST``).
FULL_TEST, QUICK_TEST, REPEATED_TEST = 0, 1, 2


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
