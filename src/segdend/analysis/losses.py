"""Hidden and output losses of chosen examples, without learning (Fig 5B)."""

from __future__ import annotations

import numpy as np

from segdend.config import Config
from segdend.model.params import NetworkParams

#: Epoch number of the probe's schedules: beyond any training epoch (train.epochs ≤ 100,000), so
#: the probe's spikes, phase lengths and plateau times never repeat a training example's.
PROBE_EPOCH = 1_000_000


def example_losses(config: Config, params: NetworkParams, images: np.ndarray,
                   labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(L^k per hidden layer, L¹) for each image shown with its target, weights unchanged.

    Each image runs through a forward and a target phase exactly as in training (random phase
    lengths, plateaus, teaching signal; Eqs. 23 and 32), from a network at rest, with learning
    switched off. ``images`` are scaled to [0, 1].
    """
    from segdend.engines import make_engine
    from segdend.train import make_schedules, phase_lengths

    probe = config.model_copy(
        update={"train": config.train.model_copy(update={"examples": max(len(images), 1)})})
    lengths = phase_lengths(probe, PROBE_EPOCH)
    schedules = make_schedules(probe, PROBE_EPOCH, range(len(images)), lengths,
                               config.model.hidden)
    engine = make_engine(config)
    result = engine.train(params.copy(), engine.new_state(params), images,
                          np.asarray(labels), schedules, learn=False)
    return result.hidden_loss[: result.completed], result.output_loss[: result.completed]
