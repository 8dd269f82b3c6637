"""Plateau times of hidden neurons (Fig 6S1A)."""

from __future__ import annotations

import numpy as np

from segdend.config import Config


def plateau_times(config: Config, lengths: np.ndarray, examples: int,
                  neurons: int) -> list[tuple[int, str, int, float]]:
    """(example, phase, neuron, time in ms from the first example's start) of each plateau.

    Synchronized plateaus all fall at the end of each phase; stochastic ones ``offset`` steps
    before it, with the per-neuron offsets the training loop draws (PAPER.md §2.3).
    ``lengths`` holds the (forward, target) phase lengths of each example.
    """
    from segdend.train import plateau_offsets

    hidden = config.model.hidden[0]
    stochastic = config.model.plateaus == "stochastic"
    rows: list[tuple[int, str, int, float]] = []
    start = 0
    for example in range(examples):
        if stochastic:
            forward, target = plateau_offsets(config, example, [hidden, hidden])
        else:
            forward = target = np.zeros(hidden, dtype=np.int64)
        for phase, offsets, length in (("forward", forward, lengths[example, 0]),
                                       ("target", target, lengths[example, 1])):
            times = start + int(length) - offsets[:neurons]
            rows += [(example, phase, j, float(t)) for j, t in enumerate(times)]
            start += int(length)
    return rows
