"""Figure 6: deep learning with 0, 1 and 2 hidden layers (6B), and t-SNE of the representations
of the two-hidden-layer network (6C). PAPER.md §0 (8.3 %, 4.1 %, 3.2 %), §3, §4."""

from __future__ import annotations

import numpy as np

from segdend.analysis.representations import embed, layer_activities
from segdend.data.dataset import Dataset
from segdend.experiments.common import error_panels, pyplot
from segdend.experiments.context import FigureContext
from segdend.experiments.figures.runs import NO_HIDDEN, ONE_HIDDEN, TWO_HIDDEN
from segdend.experiments.spec import FigureSpec
from segdend.model.constants import derive_constants

LABELS = {"no_hidden": "784-10", "one_hidden": "784-500-10", "two_hidden": "784-500-100-10"}
PAPER_MEANS = {"no_hidden": "8.3", "one_hidden": "4.1", "two_hidden": "3.2"}
PAPER_TESTS = {
    ("no_hidden", "one_hidden"): "t38 = 197.11, p = 2.5e-58",
    ("no_hidden", "two_hidden"): "t38 = 238.26, p = 1.9e-61",
    ("one_hidden", "two_hidden"): "t38 = 42.99, p = 2.3e-33",
}
LAYERS = ("input", "hidden1", "hidden2")


def make(ctx: FigureContext) -> None:
    """Fig_6B_errors.csv, Fig_6B_final_errors.csv, Fig_6B.png, Fig_6C.csv, Fig_6C.png."""
    error_panels(ctx, "Fig_6B", LABELS, PAPER_MEANS, PAPER_TESTS,
                 "Fig 6B: test error with 0, 1 and 2 hidden layers")
    config = ctx.config("two_hidden")
    params = ctx.params("two_hidden")
    n = min(ctx.scale.tsne_examples, len(ctx.dataset.test_labels))
    images = Dataset.scale(ctx.dataset.test_images[:n])
    labels = ctx.dataset.test_labels[:n].astype(int)
    activities = layer_activities(params, images, derive_constants(config.model))
    points = [embed(activity, seed=config.seed) for activity in activities[:3]]
    ctx.write_csv("Fig_6C.csv",
                  ["category", *(f"{layer}_{axis}" for layer in LAYERS for axis in "xy")],
                  ([labels[i], *(p[i, a] for p in points for a in range(2))] for i in range(n)))
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    for ax, layer, xy in zip(axes, ("input", "hidden layer 1", "hidden layer 2"), points,
                             strict=True):
        scatter = ax.scatter(xy[:, 0], xy[:, 1], c=labels, cmap="tab10", s=3, vmin=-0.5,
                             vmax=9.5)
        ax.set_title(layer)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(scatter, ax=axes, ticks=range(10), label="category", shrink=0.8)
    fig.suptitle(f"Fig 6C: t-SNE of {n} test images, 784-500-100-10 after training")
    ctx.save_figure(fig, "Fig_6C.png")
    separation = [neighbour_agreement(xy, labels) for xy in points]
    for layer, share in zip(LAYERS, separation, strict=True):
        ctx.measure(f"6C.neighbour_agreement.{layer}", share)
    ctx.add_value("t-SNE: share of points whose nearest neighbour has the same category "
                  "(input / hidden 1 / hidden 2)",
                  " / ".join(f"{s:.3f}" for s in separation),
                  "categories separate more cleanly at each higher layer (qualitative)")
    ctx.note("Fig 6C embeds the mean-field rates φ_max σ(V) of each layer (the rate-mode "
             "forward pass with the trained weights) rather than one noisy spiking test; "
             "t-SNE from scikit-learn after PCA to 50 dimensions.")


def neighbour_agreement(points: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of points whose nearest other point shares their label (cluster quality)."""
    from sklearn.neighbors import NearestNeighbors

    index = NearestNeighbors(n_neighbors=2).fit(points).kneighbors(points,
                                                                   return_distance=False)
    return float(np.mean(labels[index[:, 1]] == labels))


FIGURE = FigureSpec(
    "fig6", "Figure 6: deep learning with segregated dendrites",
    [NO_HIDDEN, ONE_HIDDEN, TWO_HIDDEN], make,
    ["Fig_6B_errors.csv", "Fig_6B_final_errors.csv", "Fig_6B.png", "Fig_6C.csv", "Fig_6C.png"],
)
