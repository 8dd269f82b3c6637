"""Figure 4: the forward and target phases and their lengths (PAPER.md §2.1).

4A: the phase structure of three examples, with the ends of the averaging windows where α^f and
α^t are computed. 4B: the distribution of sampled phase lengths (50 ms plus a Wald(2, 1) extra
length, floored to whole steps).
"""

from __future__ import annotations

import numpy as np

from segdend.config import build_config
from segdend.experiments.common import pyplot
from segdend.experiments.context import FigureContext
from segdend.experiments.spec import FigureSpec
from segdend.train import phase_lengths


def make(ctx: FigureContext) -> None:
    """Fig_4B_phase_lengths.csv and Fig_4.png."""
    config = build_config(ctx.preset, overrides=[f"train.examples={ctx.scale.examples}"])
    lengths = phase_lengths(config, 0)
    ctx.write_csv("Fig_4B_phase_lengths.csv", ["example", "forward_ms", "target_ms"],
                  ([str(i), str(f), str(t)] for i, (f, t) in enumerate(lengths)))
    plt = pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 5))
    start = 0
    window = config.phases.window
    for i, (forward, target) in enumerate(lengths[:3]):
        top.broken_barh([(start, forward)], (0, 1), color="C0")
        top.broken_barh([(start + forward, target)], (0, 1), color="C1")
        for end, name in ((start + forward, "α^f"), (start + forward + target, "α^t")):
            top.axvspan(end - window, end, ymin=0, ymax=1, color="k", alpha=0.15)
            top.text(end - window / 2, 1.1, name, ha="center", fontsize=8)
        top.text(start + 2, 0.4, f"example {i + 1}", fontsize=8, color="w")
        start += forward + target
    top.set_ylim(0, 1.4)
    top.set_yticks([])
    top.set_xlabel("time (ms): forward (blue), target (orange); shaded: averaging windows")
    values = lengths.ravel()
    bins = np.arange(values.min(), values.max() + 2) - 0.5
    bottom.hist(values, bins=bins, color="C2")
    bottom.set_xlabel("phase length (ms)")
    bottom.set_ylabel("phases")
    fig.suptitle("Fig 4: phases and their lengths")
    fig.tight_layout()
    ctx.save_figure(fig, "Fig_4.png")
    ctx.add_value("4B: shortest sampled phase (ms)", str(int(values.min())), "50 (minimum)")
    ctx.add_value("4B: mean phase length (ms)", f"{values.mean():.2f}",
                  "50 + Wald(mean 2, scale 1), floored (PAPER.md §2.1)")


FIGURE = FigureSpec("fig4", "Figure 4: phases", [], make,
                    ["Fig_4B_phase_lengths.csv", "Fig_4.png"])
