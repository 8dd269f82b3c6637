"""What every engine provides, and the per-example schedule the training loop hands it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

from segdend.config import Config
from segdend.model.constants import derive_constants
from segdend.model.params import NetworkParams


@dataclass
class ExampleSchedule:
    """Everything random about one training example except its spikes (PAPER.md §2.1–2.3)."""

    index: int
    """Global example counter (epoch × examples per epoch + position): the spike RNG counter."""
    forward_length: int
    target_length: int
    plateau_offsets_forward: list[np.ndarray] | None = None
    """Stochastic plateaus: steps before the end of the forward phase, per hidden neuron."""
    plateau_offsets_target: list[np.ndarray] | None = None


#: Columns of a recorded example's array (:attr:`ChunkResult.voltages`).
VOLTAGE_COLUMNS = ("apical", "basal", "soma", "spikes")


@dataclass
class VoltageRequest:
    """Neurons whose potentials and spikes are recorded at every step of chosen examples."""

    layers: np.ndarray
    """Layer of each recorded neuron (0 = first hidden layer, ``n_hidden`` = output), int64."""
    neurons: np.ndarray
    """Index of each recorded neuron within its layer, int64."""
    positions: frozenset[int]
    """Positions within the chunk (0 = its first example) of the examples to record."""


@dataclass
class ChunkResult:
    """Per-example outcomes of a chunk of training examples (engine-independent recorders)."""

    predicted: np.ndarray
    """Predicted category from the forward phase (training error)."""
    output_loss: np.ndarray
    """L¹ = ‖φ^{1*} − φ_max σ(V̄^{1,f})‖² (Eq. 23)."""
    hidden_loss: np.ndarray
    """L^k ≈ ‖α^t − α^f‖² per hidden layer (Eq. 32), shape (examples, hidden layers)."""
    backprop_angle: np.ndarray
    """Angle (degrees) between the local and the backprop update of hidden layer 0 (Fig 7A);
    NaN when not recorded."""
    output_forward: np.ndarray
    """V̄^{1,f}: mean output somatic potential of the forward phase, shape (examples, outputs)
    (the Jacobians of Fig 5S1)."""
    completed: int
    """Examples completed; fewer than the chunk when the run diverged."""
    diverged_layer: int = -1
    """Layer whose potential became NaN or infinite, or −1."""
    voltages: dict[int, np.ndarray] = field(default_factory=dict)
    """Recorded examples (:class:`VoltageRequest`), by position in the chunk: an array of shape
    (forward + target steps, recorded neurons, 4) with the columns :data:`VOLTAGE_COLUMNS`
    (spikes as counts; NaN apical for output neurons). Only completed examples."""

    @classmethod
    def empty(cls, n: int, n_hidden: int, n_out: int) -> ChunkResult:
        """A result to be filled in."""
        return cls(np.zeros(n, np.int64), np.zeros(n), np.zeros((n, n_hidden)),
                   np.full(n, np.nan), np.zeros((n, n_out)), 0)


class Engine(ABC):
    """A simulator of the network. Same config and seed → same spikes, whatever the engine."""

    name: str = "abstract"

    def __init__(self, config: Config):
        self.config = config
        self.const = derive_constants(config.model)

    @abstractmethod
    def new_state(self, params: NetworkParams) -> dict[str, np.ndarray]:
        """A resting network state (all potentials and spike histories at zero)."""

    @abstractmethod
    def train(
        self,
        params: NetworkParams,
        state: dict[str, np.ndarray],
        images: np.ndarray,
        labels: np.ndarray,
        schedules: list[ExampleSchedule],
        record_angle: bool = False,
        learn: bool = True,
        voltages: VoltageRequest | None = None,
    ) -> ChunkResult:
        """Train online on ``images`` in order, updating ``params`` and ``state`` in place.

        With ``learn=False`` the examples run through both phases (losses, predictions) but no
        weight changes: the loss probe of Fig 5B. Stops early (``completed`` < len(images)) if a
        potential becomes NaN or infinite. ``voltages`` (spiking mode only) records the chosen
        neurons of the chosen examples in ``ChunkResult.voltages``; it never changes a result.
        """

    @abstractmethod
    def output_potentials(
        self, params: NetworkParams, images: np.ndarray, key_parts: tuple[int, ...]
    ) -> np.ndarray:
        """Mean output somatic potentials of each test image (one forward phase, §2.9).

        Each image starts from rest; image ``i`` draws its spikes under ``(*key_parts, i)``.
        """

    def predict(
        self, params: NetworkParams, images: np.ndarray, key_parts: tuple[int, ...]
    ) -> np.ndarray:
        """Predicted category of each test image: the highest mean somatic potential (§2.9)."""
        potentials = self.output_potentials(params, images, key_parts)
        units = self.config.model.units_per_class
        return potentials.reshape(len(images), -1, units).mean(axis=2).argmax(axis=1)
