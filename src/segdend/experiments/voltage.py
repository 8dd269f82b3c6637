"""Voltage traces of chosen neurons through one forward and one target phase (Figs 3C, 9A)."""

from __future__ import annotations

from segdend.experiments.context import FigureContext
from segdend.model.constants import sigmoid
from segdend.traces import example_image, plot, record_traces, write_csv


def trace_panels(ctx: FigureContext, label: str, prefix: str, title: str,
                 neurons_per_layer: int = 2) -> None:
    """``{prefix}_traces.csv`` and ``{prefix}.png`` for test image 0 and run ``label``.

    Also reports each plotted hidden neuron's plateaus α^f and α^t: σ of the mean apical
    potential over the last ``phases.window`` steps of each phase (Eq. 5, Fig 3C right).
    """
    config = ctx.config(label)
    params = ctx.params(label)
    image, digit = example_image(ctx.dataset, 0)
    traces = record_traces(config, params, image, digit)
    neurons = {0: list(range(neurons_per_layer)),
               params.n_hidden: [digit * config.model.units_per_class]}
    write_csv(traces, neurons, ctx.out / f"{prefix}_traces.csv")
    plot(traces, neurons, ctx.out / f"{prefix}.png", title)
    ctx.written += [f"{prefix}_traces.csv", f"{prefix}.png"]
    window = config.phases.window
    end_f = traces.forward_length
    for j in neurons[0]:
        apical = traces.apical[0][:, j]
        alpha_f = float(sigmoid(apical[end_f - window : end_f].mean()))
        alpha_t = float(sigmoid(apical[-window:].mean()))
        ctx.add_value(f"{prefix}: hidden neuron {j}, plateaus α^f / α^t (test image 0, "
                      f"digit {digit})", f"{alpha_f:.3f} / {alpha_t:.3f}",
                      "illustration (no number reported)")
