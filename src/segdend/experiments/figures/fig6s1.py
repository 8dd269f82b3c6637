"""Figure 6—figure supplement 1: stochastic plateau times (PAPER.md §2.3, §3).

6S1A: raster of the plateau times of 100 hidden neurons over two training examples.
6S1B: synchronized against stochastic plateaus, 784-500-10.
"""

from __future__ import annotations

import numpy as np

from segdend.analysis.plateaus import plateau_times
from segdend.experiments.common import error_panels, pyplot
from segdend.experiments.context import FigureContext
from segdend.experiments.figures.runs import REGULAR
from segdend.experiments.spec import FigureSpec, run
from segdend.train import phase_lengths

STOCHASTIC = run("stochastic", "stochastic plateaus", model__hidden=[500],
                 model__plateaus="stochastic")
NEURONS = 100


def make(ctx: FigureContext) -> None:
    """Fig_6S1A.csv, Fig_6S1A.png, Fig_6S1B_errors.csv, Fig_6S1B_final_errors.csv, PNG."""
    config = ctx.config("stochastic")
    lengths = phase_lengths(config, 0)
    rows = plateau_times(config, lengths, 2, NEURONS)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 3.5))
    times = np.array([row[3] for row in rows])
    ax.scatter(times, [row[2] for row in rows], s=4, color="C3")
    ends = np.cumsum(lengths[:2].ravel())
    for end in ends:
        ax.axvline(end, color="0.6", lw=0.8, ls="--")
    ax.set_xlim(0, ends[-1] + 2)
    ctx.write_csv("Fig_6S1A.csv", ["example", "phase", "neuron", "plateau_time_ms"],
                  ([str(e), p, str(j), t] for e, p, j, t in rows))
    ax.set_xlabel("time (ms), two training examples (forward, target, forward, target)")
    ax.set_ylabel("hidden neuron")
    ax.set_title("Fig 6S1A: plateau times, stochastic (folded normal, at most "
                 f"{config.model.plateau_offset_max} ms before the phase ends)")
    fig.tight_layout()
    ctx.save_figure(fig, "Fig_6S1A.png")
    error_panels(ctx, "Fig_6S1B", {"regular": "synchronized", "stochastic": "stochastic"},
                 {"regular": "4.1", "stochastic": "similar to synchronized (figure only)"},
                 {}, "Fig 6S1B: synchronized against stochastic plateaus")


FIGURE = FigureSpec(
    "fig6s1", "Figure 6—figure supplement 1: stochastic plateau times",
    [REGULAR, STOCHASTIC], make,
    ["Fig_6S1A.csv", "Fig_6S1A.png", "Fig_6S1B_errors.csv", "Fig_6S1B_final_errors.csv",
     "Fig_6S1B.png"],
)
