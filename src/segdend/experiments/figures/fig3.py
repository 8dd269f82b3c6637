"""Figure 3C: the transmit and plateau computations of a hidden neuron (PAPER.md §1.4, §2.2).

Traces of the apical, basal and somatic potentials and the spikes of two hidden neurons and the
label's output neuron of the trained 784-500-10 network, through a 50-ms forward phase and a
50-ms target phase, with the plateaus α^f, α^t computed from them.
"""

from __future__ import annotations

from segdend.experiments.context import FigureContext
from segdend.experiments.figures.runs import REGULAR
from segdend.experiments.spec import FigureSpec
from segdend.experiments.voltage import trace_panels


def make(ctx: FigureContext) -> None:
    """Fig_3C_traces.csv and Fig_3C.png."""
    trace_panels(ctx, "regular", "Fig_3C",
                 "Fig 3C: apical, basal and somatic potentials (g_a = 0), forward | target")
    ctx.note("With g_a = 0 the soma follows the basal potential (transmit) while the apical "
             "potential carries the feedback; α = σ(mean apical potential) over the window "
             "(plateau).")


FIGURE = FigureSpec("fig3", "Figure 3C: model illustration", [REGULAR], make,
                    ["Fig_3C_traces.csv", "Fig_3C.png"])
