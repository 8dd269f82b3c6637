"""Figure 5: hidden and output errors become coordinated (784-500-10, PAPER.md §3).

5B: L⁰ against L¹ for every "2" of the test images, with the network after epoch 1; the
shuffled control pairs each output loss with another image's hidden loss.
5C: per-category Pearson r of L⁰ and L¹ over each epoch's training examples, real and shuffled.

Why r differs from the paper's 0.61 (RESULTS.md): the same network after epoch 1 is probed again
with the sources of spike-sampling noise switched off one at a time (:data:`NOISE_PROBES`). With
rate feedback (φ¹(t) through Y instead of the output spikes) r rises to about 0.99, so in our
model the noise of the output spikes in the plateaus α sets r. 5C adds r in the first tenth of
epoch 1 against the rest of it: in our model the coordination develops within that first tenth,
and r then falls slowly over the epochs as L¹ shrinks towards the spike-noise floor.
"""

from __future__ import annotations

import numpy as np

from segdend import rng
from segdend.analysis.correlation import pearson, per_category_correlation
from segdend.analysis.losses import example_losses
from segdend.csvio import load_table
from segdend.data.dataset import Dataset
from segdend.experiments.common import pyplot
from segdend.experiments.context import FigureContext
from segdend.experiments.figures.runs import REGULAR
from segdend.experiments.spec import FigureSpec
from segdend.network import with_settings
from segdend.recording import LOSSES

DIGIT = 2
NOISE_PROBES = (
    ("rate_feedback", "rate feedback (no output-spike noise in α)",
     {"model.feedback_signal": "rates"}),
    ("rate_input", "rate input (no input-spike noise)", {"model.spiking_feedforward": False}),
    ("rate_mode", "rate mode (no spikes at all)", {"model.mode": "rate"}),
)
"""(key, description, settings) of the 5B probes that switch off one source of spike noise."""
ANALYSIS_STREAM = 11  # random numbers of the shuffled controls (rng streams 1–9 are the model's)


def make(ctx: FigureContext) -> None:
    """Fig_5B.csv, Fig_5C.csv, Fig_5B.png, Fig_5C.png."""
    config = ctx.config("regular")
    dataset = ctx.dataset
    n = min(ctx.scale.test_examples, len(dataset.test_labels))
    pick = np.flatnonzero(dataset.test_labels[:n] == DIGIT)
    images, labels = Dataset.scale(dataset.test_images[pick]), dataset.test_labels[pick]
    epoch_1 = ctx.params("regular", epoch=1)
    hidden, output = example_losses(config, epoch_1, images, labels)
    shuffled = rng.generator(config.seed, ANALYSIS_STREAM, 5).permutation(hidden[:, 0])
    r_real, r_shuffled = pearson(hidden[:, 0], output), pearson(shuffled, output)
    ctx.write_csv("Fig_5B.csv", ["hidden_loss", "output_loss", "shuffled_hidden_loss",
                                 "shuffled_output_loss"],
                  zip(hidden[:, 0], output, shuffled, output, strict=True))
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.6), sharey=True)
    for ax, x, name, r in ((axes[0], hidden[:, 0], "real", r_real),
                           (axes[1], shuffled, "shuffled", r_shuffled)):
        ax.scatter(x, output, s=5, alpha=0.6)
        ax.set_title(f"{name}: r = {r:.2f}")
        ax.set_xlabel("hidden loss L⁰")
    axes[0].set_ylabel("output loss L¹")
    fig.suptitle(f"Fig 5B: {len(pick)} test images of '{DIGIT}', network after epoch 1")
    fig.tight_layout()
    ctx.save_figure(fig, "Fig_5B.png")
    ctx.add_value("5B: Pearson r(L⁰, L¹), '2' test images after epoch 1", f"{r_real:.3f}",
                  "0.61", number=r_real)
    ctx.add_value("5B: the same, shuffled pairing", f"{r_shuffled:.3f}", "much lower")
    ctx.measure("5B.r", r_real)
    ctx.measure("5B.r_shuffled", r_shuffled)
    for key, description, settings in NOISE_PROBES:
        probe_hidden, probe_output = example_losses(with_settings(config, settings), epoch_1,
                                                    images, labels)
        r_probe = pearson(probe_hidden[:, 0], probe_output)
        ctx.add_value(f"5B: the same network probed with {description}", f"{r_probe:.3f}",
                      "not reported", number=r_probe)
        ctx.measure(f"5B.r_{key}", r_probe)

    real, control, first_tenth, rest = per_epoch_correlations(ctx, config.seed)
    ctx.write_csv("Fig_5C.csv", [*(f"r_category_{c}" for c in range(10)),
                                 *(f"shuffled_r_category_{c}" for c in range(10))],
                  (np.concatenate([a, b]) for a, b in zip(real, control, strict=True)))
    fig, ax = plt.subplots(figsize=(7, 3.6))
    epochs = np.arange(1, len(real) + 1)
    for c in range(10):
        ax.plot(epochs, real[:, c], color=f"C{c}", marker="o", ms=3, label=str(c))
        ax.plot(epochs, control[:, c], color=f"C{c}", ls=":", lw=0.8)
    ax.set_xlabel("epoch")
    ax.set_ylabel("Pearson r(L⁰, L¹) per category")
    ax.legend(ncol=5, fontsize=7, frameon=False, title="category (dotted: shuffled)")
    ax.set_title("Fig 5C: loss correlation per category and epoch")
    fig.tight_layout()
    ctx.save_figure(fig, "Fig_5C.png")
    later = real[1:] if len(real) > 1 else real
    ctx.add_value("5C: per-category r after epoch 1, median (min–max)",
                  f"{np.median(later):.2f} ({later.min():.2f}–{later.max():.2f})",
                  "mostly 0.2–0.6", number=float(np.median(later)), low=float(later.min()),
                  high=float(later.max()), n=int(later.size))
    ctx.measure("5C.median_r_after_epoch_1", float(np.median(later)))
    ctx.measure("5C.mean_r_epoch_1", float(real[0].mean()))
    ctx.measure("5C.mean_r_later", float(later.mean()))
    ctx.measure("5C.share_above_shuffled", float(np.mean(real > control)))
    ctx.add_value("5C: mean r in epoch 1 / in later epochs",
                  f"{real[0].mean():.2f} / {later.mean():.2f}", "clearly lower in epoch 1")
    ctx.add_value("5C: epoch 1, mean r in its first tenth / in the rest",
                  f"{first_tenth:.2f} / {rest:.2f}", "not reported")
    ctx.measure("5C.mean_r_epoch_1_first_tenth", first_tenth)
    ctx.measure("5C.mean_r_epoch_1_rest", rest)
    ctx.add_value("5C: share of (epoch, category) cells with r above the shuffled r",
                  f"{np.mean(real > control):.2f}", "always above shuffled (1.00)")
    ctx.note("5C uses each epoch's training examples (recordings/losses.csv); 5B probes the "
             "network kept after epoch 1 with the '2' test images, learning off.")
    ctx.note("5B's noise probes run the same '2' images through the same epoch-1 weights with "
             "one source of spike-sampling noise switched off (the probes' phase lengths and "
             "plateau times are those of the main probe); r with rate feedback shows how much "
             "of the scatter comes from the output spikes that reach the apical dendrites.")


def per_epoch_correlations(ctx: FigureContext, seed: int
                           ) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Per-epoch, per-category r of the recorded training losses, real and shuffled; and the
    mean over categories of r in the first tenth of epoch 1 and in the rest of it (when
    within epoch 1 the coordination develops)."""
    path = ctx.run_dirs["regular"] / LOSSES
    table = load_table(path)
    real, control = [], []
    for epoch in np.unique(table[:, 0]).astype(int):
        rows = table[table[:, 0] == epoch]
        r, s = per_category_correlation(rows[:, 6], rows[:, 5], rows[:, 3].astype(int),
                                        rng.generator(seed, ANALYSIS_STREAM, 50, epoch))
        real.append(r)
        control.append(s)
    first = table[table[:, 0] == table[0, 0]]
    tenth = max(len(first) // 10, 1)
    halves = [float(per_category_correlation(
        part[:, 6], part[:, 5], part[:, 3].astype(int),
        rng.generator(seed, ANALYSIS_STREAM, 60, k))[0].mean())
        for k, part in enumerate((first[:tenth], first[tenth:]))]
    return np.array(real), np.array(control), halves[0], halves[1]


FIGURE = FigureSpec("fig5", "Figure 5: coordinated hidden and output errors", [REGULAR], make,
                    ["Fig_5B.csv", "Fig_5C.csv", "Fig_5B.png", "Fig_5C.png"])
