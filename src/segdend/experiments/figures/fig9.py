"""Figure 9: dendritic segregation is necessary (784-500-100-10, PAPER.md §1.9, §3).

9A: apical and somatic potentials of a hidden neuron with strong attenuation (g_a = 0.05).
9B: total segregation (g_a = 0) against g_a = 0.05 and g_a = 0.6.
"""

from __future__ import annotations

from segdend.experiments.common import error_panels
from segdend.experiments.context import FigureContext
from segdend.experiments.figures.runs import TWO_HIDDEN
from segdend.experiments.spec import FigureSpec, run
from segdend.experiments.voltage import trace_panels

STRONG = run("strong", "g_a = 0.05", model__hidden=[500, 100],
             model__apical_conductance=0.05)
WEAK = run("weak", "g_a = 0.6", model__hidden=[500, 100], model__apical_conductance=0.6)


def make(ctx: FigureContext) -> None:
    """Fig_9A_traces.csv, Fig_9A.png, Fig_9B_errors.csv, Fig_9B_final_errors.csv, Fig_9B.png."""
    trace_panels(ctx, "strong", "Fig_9A",
                 "Fig 9A: hidden neuron with strong apical attenuation (g_a = 0.05)")
    error_panels(ctx, "Fig_9B", {"two_hidden": "g_a = 0 (regular)", "strong": "g_a = 0.05",
                                 "weak": "g_a = 0.6"},
                 {"two_hidden": "not reported (figure only)",
                  "strong": "about the same as g_a = 0 (figure only)",
                  "weak": "significantly worse (figure only)"},
                 {("two_hidden", "strong"): "t38 = −4.00, p = 8.4e-4",
                  ("two_hidden", "weak"): "t38 = −95.24, p = 2.4e-46",
                  ("strong", "weak"): "t38 = −92.51, p = 7.1e-46"},
                 "Fig 9B: apical attenuation")


FIGURE = FigureSpec(
    "fig9", "Figure 9: dendritic segregation is necessary",
    [TWO_HIDDEN, STRONG, WEAK], make,
    ["Fig_9A_traces.csv", "Fig_9A.png", "Fig_9B_errors.csv", "Fig_9B_final_errors.csv",
     "Fig_9B.png"],
)
