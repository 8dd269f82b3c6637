"""Voltage traces of chosen neurons through a forward and a target phase (Figs 3C and 9A).

For a trained run (its ``params.npz``) or a fresh network of a preset, one training example is
simulated by the reference engine with recording on: the apical, basal and somatic potentials and
the spikes of every neuron at every step. Chosen neurons are plotted and (optionally) written as
CSV. The network's weights are not changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segdend.config import Config
from segdend.data.dataset import Dataset
from segdend.engines.base import ExampleSchedule
from segdend.engines.reference import PhaseRecord, ReferenceEngine
from segdend.model.params import NetworkParams


@dataclass
class Traces:
    """Per-step potentials of every layer over both phases (rows = steps)."""

    forward_length: int
    basal: list[np.ndarray]
    apical: list[np.ndarray]
    soma: list[np.ndarray]
    spikes: list[np.ndarray]
    """Spike counts per layer (hidden layers and output; the input is left out)."""
    label: int


def record_traces(config: Config, params: NetworkParams, image: np.ndarray, label: int,
                  forward_length: int = 50, target_length: int = 50) -> Traces:
    """Simulate one example (forward, then target phase) from rest and keep every potential."""
    engine = ReferenceEngine(config.model_copy(update={"engine": "reference"}))
    state = engine.new_state(params)
    schedule = ExampleSchedule(index=0, forward_length=forward_length,
                               target_length=target_length)
    _, records = engine.simulate_example(params.copy(), state, image, engine.target_vector(label),
                                         schedule, voltages=True)
    forward, target = records

    def both(get) -> list[np.ndarray]:
        return [np.vstack([a, b]) for a, b in zip(get(forward), get(target), strict=True)]

    def apical(record: PhaseRecord) -> list[np.ndarray]:
        return [*record.apical, np.zeros_like(record.soma[-1])]  # the output has no apical

    return Traces(forward_length, both(lambda r: r.basal), both(apical),
                  both(lambda r: r.soma), both(lambda r: r.spikes[1:]), label)


def write_csv(traces: Traces, neurons: dict[int, list[int]], path: Path) -> None:
    """step,phase,layer,neuron,basal,apical,soma,spikes for the chosen neurons."""
    from segdend.runs import atomic_write_text

    lines = ["step,phase,layer,neuron,basal,apical,soma,spikes"]
    for layer, indices in neurons.items():
        for j in indices:
            for t in range(traces.soma[layer].shape[0]):
                phase = "forward" if t < traces.forward_length else "target"
                lines.append(
                    f"{t},{phase},{layer},{j},{traces.basal[layer][t, j]:.6g},"
                    f"{traces.apical[layer][t, j]:.6g},{traces.soma[layer][t, j]:.6g},"
                    f"{int(traces.spikes[layer][t, j])}"
                )
    atomic_write_text(path, "\n".join(lines) + "\n")


def plot(traces: Traces, neurons: dict[int, list[int]], path: Path, title: str) -> None:
    """Save :func:`make_figure` as a PNG at ``path`` (on the non-interactive Agg backend)."""
    from segdend.experiments.common import pyplot

    plt = pyplot()
    fig = make_figure(traces, neurons, title)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def make_figure(traces: Traces, neurons: dict[int, list[int]], title: str, **options):
    """One panel per chosen neuron: apical, basal and somatic potentials with spike ticks.

    ``options`` go to :func:`matplotlib.pyplot.subplots`. Returns the figure (left open).
    """
    import matplotlib.pyplot as plt  # the session's backend (inline in Jupyter, Agg headless)

    panels = [(layer, j) for layer, indices in neurons.items() for j in indices]
    n_out_layer = len(traces.soma) - 1
    options.setdefault("figsize", (9, 2.2 * len(panels)))
    fig, axes = plt.subplots(len(panels), 1, sharex=True, squeeze=False, **options)
    steps = np.arange(traces.soma[0].shape[0])
    for ax, (layer, j) in zip(axes[:, 0], panels, strict=True):
        is_output = layer == n_out_layer
        if not is_output:
            ax.plot(steps, traces.apical[layer][:, j], color="C2", lw=1, label="apical")
        ax.plot(steps, traces.basal[layer][:, j], color="C0", lw=1,
                label="dendrite" if is_output else "basal")
        ax.plot(steps, traces.soma[layer][:, j], color="k", lw=1.2, label="soma")
        for t in np.flatnonzero(traces.spikes[layer][:, j]):
            ax.axvline(t, ymin=0.92, ymax=1.0, color="C3", lw=1)
        ax.axvline(traces.forward_length, color="0.6", ls="--", lw=0.8)
        name = "output" if is_output else f"hidden {layer}"
        ax.set_ylabel(f"{name}, #{j}")
        ax.legend(loc="upper left", fontsize=7, frameon=False, ncol=3)
    axes[-1, 0].set_xlabel("time (ms): forward phase | target phase")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def choose_neurons(params: NetworkParams, per_layer: int, label: int) -> dict[int, list[int]]:
    """The first ``per_layer`` neurons of every hidden layer, and the label's output unit(s)."""
    neurons: dict[int, list[int]] = {}
    for k in range(params.n_hidden):
        neurons[k] = list(range(min(per_layer, params.weights[k].shape[0])))
    units = params.weights[-1].shape[0] // 10
    neurons[params.n_hidden] = [label * units, ((label + 1) % 10) * units]
    return neurons


def example_image(dataset: Dataset, index: int) -> tuple[np.ndarray, int]:
    """Test image ``index`` scaled to [0, 1], and its label."""
    return Dataset.scale(dataset.test_images[index]), int(dataset.test_labels[index])


def traces_from_recording(recording: dict[str, np.ndarray], epoch: int, example: int,
                          n_layers: int) -> tuple[Traces, dict[int, list[int]]]:
    """One recorded training example (``record.voltages``) as :class:`Traces`, for :func:`plot`.

    Parameters
    ----------
    recording : dict of str to numpy.ndarray
        Columns as returned by :func:`segdend.recording.read_voltages`.
    epoch : int
        The epoch (1-based, as in the file).
    example : int
        The example's position within the epoch.
    n_layers : int
        Hidden layers plus one (the output is layer ``n_layers - 1``).

    Returns
    -------
    traces : Traces
        Per-layer arrays as wide as the highest recorded neuron; neurons not recorded are NaN.
    neurons : dict of int to list of int
        The recorded neurons by layer, in the file's order (the ``neurons`` of :func:`plot`).

    Raises
    ------
    ValueError
        If the recording holds no such example.
    """
    rows = (recording["epoch"] == epoch) & (recording["example"] == example)
    if not rows.any():
        raise ValueError(f"the recording has no example {example} of epoch {epoch}")
    steps = int(recording["step"][rows].max()) + 1
    forward = int(np.count_nonzero(rows & (recording["phase"] == "forward")))
    neurons: dict[int, list[int]] = {}
    for layer, j in zip(recording["layer"][rows].tolist(), recording["neuron"][rows].tolist(),
                        strict=True):
        if j not in neurons.setdefault(layer, []):
            neurons[layer].append(j)
    forward //= sum(len(v) for v in neurons.values())
    columns = {name: [np.full((steps, max(neurons.get(k, [-1])) + 1), np.nan)
                      for k in range(n_layers)] for name in ("apical", "basal", "soma", "spikes")}
    for layer, indices in neurons.items():
        for j in indices:
            sel = rows & (recording["layer"] == layer) & (recording["neuron"] == j)
            for name, arrays in columns.items():
                arrays[layer][recording["step"][sel], j] = recording[name][sel]
    label = int(recording["label"][rows][0])
    return Traces(forward, columns["basal"], columns["apical"], columns["soma"],
                  [np.nan_to_num(s) for s in columns["spikes"]], label), neurons
