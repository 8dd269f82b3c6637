"""One simulated example, as arrays with named dimensions: what :meth:`Network.simulate` returns.

Every layer's apical, basal and somatic potentials and spikes at every 1-ms step of a forward
and a target phase (PAPER.md §2.1; Eqs. 1–4 hidden, Eqs. 19–20 output). The arrays of a layer
have the dimensions ``("time", "neuron")``; :meth:`Simulation.to_dataframe` gives the same data
as a long pandas table, and :meth:`Simulation.plot` draws chosen neurons as in Figs 3C and 9A.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from segdend.traces import Traces

DIMS = ("time", "neuron")
"""The dimensions of every per-layer array of a :class:`Simulation`."""


@dataclass(frozen=True)
class Simulation:
    """Potentials and spikes of every layer through one example's forward and target phases.

    Attributes
    ----------
    layers : list of str
        Layer names, first hidden layer first: ``["hidden1", ..., "output"]``.
    time_ms : ndarray, shape (steps,)
        Time of each step in ms (``dt`` = 1 ms), 0 at the start of the forward phase.
    phase : ndarray of str, shape (steps,)
        ``"forward"`` or ``"target"`` for each step.
    apical : list of ndarray, each (steps, neurons)
        Apical potentials V^0a (Eq. 3); zero for the output layer, which has no apical dendrite.
    basal : list of ndarray, each (steps, neurons)
        Basal potentials V^0b (Eq. 2); for the output layer its dendritic potential V^1b.
    soma : list of ndarray, each (steps, neurons)
        Somatic potentials V^0 (Eq. 1) and V^1 (Eq. 19).
    spikes : list of ndarray, each (steps, neurons)
        Spike counts of each step (Poisson, rate φ_max σ(V), Eq. 5).
    label : int
        The category taught in the target phase.
    apical_conductance : float
        g_a of the simulated network (0: segregated dendrites).
    """

    layers: list[str]
    time_ms: np.ndarray
    phase: np.ndarray
    apical: list[np.ndarray]
    basal: list[np.ndarray]
    soma: list[np.ndarray]
    spikes: list[np.ndarray]
    label: int
    apical_conductance: float = 0.0
    averaging_windows: tuple[tuple[int, int], ...] = ()
    """(start, stop) step of each phase's averaging window, counted from the phase's start
    (§2.2): the last ``phases.window`` steps (code preset) or from Δt_s on (paper preset)."""
    dims: tuple[str, str] = DIMS

    @classmethod
    def from_traces(cls, traces: Traces, apical_conductance: float = 0.0,
                    averaging_windows: tuple[tuple[int, int], ...] = ()) -> Simulation:
        """Wrap the per-step records of :func:`segdend.traces.record_traces`."""
        steps = traces.soma[0].shape[0]
        n_hidden = len(traces.soma) - 1
        phase = np.where(np.arange(steps) < traces.forward_length, "forward", "target")
        return cls([*(f"hidden{k + 1}" for k in range(n_hidden)), "output"],
                   np.arange(steps, dtype=float), phase, traces.apical, traces.basal,
                   traces.soma, traces.spikes, traces.label, apical_conductance,
                   averaging_windows)

    def plateaus(self) -> list[np.ndarray]:
        """The plateau potentials of every hidden layer (Eq. 5, synchronized plateaus).

        Returns
        -------
        list of ndarray, each (2, neurons)
            α^f (forward phase) and α^t (target phase): σ of the mean apical potential over
            each phase's averaging window.
        """
        from segdend.model.constants import sigmoid

        if not self.averaging_windows:
            raise ValueError("this simulation does not know its averaging windows")
        starts = (0, self.forward_length)
        result = []
        for apical in self.apical[:-1]:
            means = [apical[begin + a: begin + b].mean(axis=0)
                     for begin, (a, b) in zip(starts, self.averaging_windows, strict=True)]
            result.append(sigmoid(np.vstack(means)))
        return result

    @property
    def forward_length(self) -> int:
        """Steps of the forward phase."""
        return int(np.count_nonzero(self.phase == "forward"))

    def layer_index(self, layer: int | str) -> int:
        """Index of ``layer``, given by position (0 = first hidden layer, -1 = output) or name."""
        if isinstance(layer, str):
            if layer not in self.layers:
                raise KeyError(f"unknown layer '{layer}': expected one of {self.layers}")
            return self.layers.index(layer)
        if not -len(self.layers) <= layer < len(self.layers):
            raise IndexError(f"layer {layer} out of range: {len(self.layers)} layers")
        return layer % len(self.layers)

    def traces(self) -> Traces:
        """The same records as :class:`segdend.traces.Traces` (for its CSV writer)."""
        from segdend.traces import Traces

        return Traces(self.forward_length, self.basal, self.apical, self.soma, self.spikes,
                      self.label)

    def to_dataframe(self, layer: int | str | None = None,
                     neurons: list[int] | None = None) -> pd.DataFrame:
        """A long table: one row per (step, layer, neuron).

        Parameters
        ----------
        layer : int or str, optional
            Only this layer (default: every layer).
        neurons : list of int, optional
            Only these neurons of each selected layer (default: all).

        Returns
        -------
        pandas.DataFrame
            Columns ``time_ms, phase, layer, neuron, apical, basal, soma, spikes``.
        """
        import pandas as pd

        chosen = range(len(self.layers)) if layer is None else [self.layer_index(layer)]
        frames = []
        for k in chosen:
            index = np.arange(self.soma[k].shape[1]) if neurons is None else np.asarray(neurons)
            steps = len(self.time_ms)
            frames.append(pd.DataFrame({
                "time_ms": np.repeat(self.time_ms, len(index)),
                "phase": np.repeat(self.phase, len(index)),
                "layer": self.layers[k],
                "neuron": np.tile(index, steps),
                "apical": self.apical[k][:, index].ravel(),
                "basal": self.basal[k][:, index].ravel(),
                "soma": self.soma[k][:, index].ravel(),
                "spikes": self.spikes[k][:, index].ravel().astype(int),
            }))
        return pd.concat(frames, ignore_index=True)

    def plot(self, neurons: dict[int | str, list[int]] | None = None,
             title: str | None = None, **figure_options: Any) -> Figure:
        """Apical, basal and somatic potentials with spike ticks, one panel per neuron.

        Parameters
        ----------
        neurons : dict, optional
            Layer (index or name) → neuron indices. Default: the first three neurons of each
            hidden layer and the output units of the taught category and the next one.
        title : str, optional
            Figure title.
        **figure_options
            Passed to :func:`matplotlib.pyplot.subplots` (e.g. ``figsize``).

        Returns
        -------
        matplotlib.figure.Figure
        """
        from segdend.traces import make_figure

        if neurons is None:
            chosen = {k: list(range(min(3, self.soma[k].shape[1])))
                      for k in range(len(self.layers) - 1)}
            units = max(self.soma[-1].shape[1] // 10, 1)
            chosen[len(self.layers) - 1] = [self.label * units, ((self.label + 1) % 10) * units]
        else:
            chosen = {self.layer_index(k): list(v) for k, v in neurons.items()}
        return make_figure(self.traces(), chosen, title or f"label {self.label}, g_a = "
                           f"{self.apical_conductance}", **figure_options)
