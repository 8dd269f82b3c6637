"""Figure 7: comparison with backprop (784-500-10, PAPER.md §3).

7A: angle between the local ΔW⁰ and the backprop ΔW⁰_BP for every training example, averaged
over a 100-image sliding window, with spiking feedback and with rate feedback (φ¹(t) through Y).
7B: receptive fields (rows of W⁰) of the local rule and of a backprop-trained network.
7C: each local field's maximum Pearson r with all backprop fields, real and shuffled.
"""

from __future__ import annotations

import math

import numpy as np

from segdend import rng
from segdend.analysis.angles import sliding_mean
from segdend.analysis.correlation import max_field_correlations, shuffled_fields
from segdend.csvio import load_table
from segdend.experiments.common import pyplot
from segdend.experiments.context import FigureContext
from segdend.experiments.figures.runs import REGULAR
from segdend.experiments.spec import FigureSpec, run
from segdend.recording import ANGLES

ANGLE_SPIKING = run("angle_spiking", "spiking feedback", "angle", model__hidden=[500],
                    record__backprop_angle=True)
ANGLE_RATE = run("angle_rate", "rate feedback", "angle", model__hidden=[500],
                 model__feedback_signal="rates", record__backprop_angle=True)
BACKPROP = run("backprop", "backprop", model__hidden=[500], model__learning_rule="backprop",
               seed=1)
"""Its own seed: independent initial weights, so that similar receptive fields come from
learning, not from a shared starting point."""
WINDOW = 100
SETTLED = 1000
"""Examples after which the smoothed angle is judged ('stays below 90°' in RESULTS.md)."""
ANALYSIS_STREAM = 11


def _angles(ctx: FigureContext, label: str) -> np.ndarray:
    path = ctx.run_dirs[label] / ANGLES
    return load_table(path)[:, 2]


def make(ctx: FigureContext) -> None:
    """Fig_7A.csv, Fig_7A.png, Fig_7B.png, Fig_7C.csv, Fig_7C.png."""
    spiking = sliding_mean(_angles(ctx, "angle_spiking"), WINDOW)
    rate = sliding_mean(_angles(ctx, "angle_rate"), WINDOW)
    n = min(len(spiking), len(rate))
    ctx.write_csv("Fig_7A.csv", ["example", "spiking_feedback", "rate_feedback"],
                  ([str(i), spiking[i], rate[i]] for i in range(n)))
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.4))
    ax.plot(spiking[:n], lw=0.8, label="spiking feedback", color="C0")
    ax.plot(rate[:n], lw=0.8, label="rate feedback", color="C3")
    ax.axhline(90, color="0.5", ls="--", lw=0.8)
    ax.set_xlabel("training example")
    ax.set_ylabel(f"∠(ΔW⁰, ΔW⁰_BP), {WINDOW}-image mean (°)")
    ax.legend(frameon=False)
    ax.set_title("Fig 7A: alignment of the local rule with backprop")
    fig.tight_layout()
    ctx.save_figure(fig, "Fig_7A.png")
    skip = min(WINDOW, n - 1)
    settled = min(SETTLED, n - 1)
    per_epoch = max(ctx.config("angle_spiking").train.examples, 1)
    for name, curve, paper, lowest, last in (
            ("spiking", spiking, "≈ 90° → ≈ 65° → ≈ 70°", "≈ 65", "≈ 70"),
            ("rate", rate, "→ ≈ 35° → ≈ 40°", "≈ 35", "≈ 40")):
        ctx.add_value(f"7A, {name} feedback: first / lowest / last smoothed angle (°)",
                      f"{curve[skip]:.1f} / {curve[skip:n].min():.1f} / {curve[n - 1]:.1f}",
                      paper)
        ctx.add_value(f"7A, {name} feedback: lowest smoothed angle (°)",
                      f"{curve[skip:n].min():.1f}", lowest, number=float(curve[skip:n].min()))
        ctx.add_value(f"7A, {name} feedback: last smoothed angle (°)", f"{curve[n - 1]:.1f}",
                      last, number=float(curve[n - 1]))
        ctx.measure(f"7A.{name}.lowest", float(curve[skip:n].min()))
        ctx.measure(f"7A.{name}.last", float(curve[n - 1]))
        ctx.measure(f"7A.{name}.max_after_{SETTLED}", float(curve[settled:n].max()))
        ctx.measure(f"7A.{name}.mean_after_{SETTLED}", float(curve[settled:n].mean()))
        ctx.measure(f"7A.{name}.share_above_90_after_{SETTLED}",
                    float(np.mean(curve[settled:n] > 90.0)))
        # how the alignment changes over training: the mean of the first epoch (after the
        # first 1,000 examples) and of the last
        ctx.measure(f"7A.{name}.mean_epoch_1", float(curve[settled:min(per_epoch, n)].mean()))
        ctx.measure(f"7A.{name}.mean_last_epoch",
                    float(curve[max((n - 1) // per_epoch * per_epoch, settled):n].mean()))

    local = ctx.params("regular").weights[0]
    backprop = ctx.params("backprop").weights[0]
    gen = rng.generator(ctx.config("regular").seed, ANALYSIS_STREAM, 7)
    real = max_field_correlations(local, backprop)
    control = max_field_correlations(shuffled_fields(local, gen), backprop)
    ctx.write_csv("Fig_7C.csv", ["max_r", "shuffled_max_r"], zip(real, control, strict=True))
    fig, ax = plt.subplots(figsize=(5, 3.4))
    bins = np.linspace(min(real.min(), control.min()), max(real.max(), control.max()), 40)
    ax.hist(real, bins=bins, alpha=0.7, label="regular")
    ax.hist(control, bins=bins, alpha=0.7, label="shuffled")
    ax.set_xlabel("max Pearson r with the backprop fields")
    ax.set_ylabel("local receptive fields")
    ax.legend(frameon=False)
    ax.set_title("Fig 7C")
    fig.tight_layout()
    ctx.save_figure(fig, "Fig_7C.png")
    ctx.add_value("7C: mean max r, regular / shuffled", f"{real.mean():.3f} / "
                  f"{control.mean():.3f}", "regular above shuffled (figure only)")
    ctx.add_value("7C: share of local fields whose max r beats their shuffled control",
                  f"{np.mean(real > control):.2f}", "regular higher")
    ctx.measure("7C.mean_max_r", float(real.mean()))
    ctx.measure("7C.mean_max_r_shuffled", float(control.mean()))
    ctx.measure("7C.share_above_shuffled", float(np.mean(real > control)))
    side = math.isqrt(local.shape[1])
    if side * side == local.shape[1]:
        fig, axes = plt.subplots(2, 8, figsize=(10, 3))
        for column in range(8):
            for row, fields in enumerate((local, backprop)):
                ax = axes[row, column]
                ax.imshow(fields[column].reshape(side, side), cmap="gray")
                ax.set_xticks([])
                ax.set_yticks([])
            axes[0, 0].set_ylabel("local")
            axes[1, 0].set_ylabel("backprop")
        fig.suptitle("Fig 7B: receptive fields (rows of W⁰) of hidden neurons 0–7")
        fig.tight_layout()
        ctx.save_figure(fig, "Fig_7B.png")
    ctx.note("The backprop network has the same architecture and learning rates, exact "
             "backpropagated errors (model.learning_rule = backprop) and its own initial "
             "weights (seed 1); the paper does not give its settings.")


FIGURE = FigureSpec(
    "fig7", "Figure 7: comparison with backprop",
    [ANGLE_SPIKING, ANGLE_RATE, REGULAR, BACKPROP], make,
    ["Fig_7A.csv", "Fig_7A.png", "Fig_7B.png", "Fig_7C.csv", "Fig_7C.png"],
)
