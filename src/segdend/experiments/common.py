"""Pieces several figures share: test-error curves with their repeated tests (Figs 6B, 6S1B,
8B, 8D, 8S1, 9B), and matplotlib set-up."""

from __future__ import annotations

from typing import Any

import numpy as np

from segdend.experiments.context import FigureContext


def pyplot() -> Any:
    """matplotlib.pyplot on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def error_panels(ctx: FigureContext, prefix: str, labels: dict[str, str],
                 paper_means: dict[str, str], paper_tests: dict[tuple[str, str], str],
                 title: str) -> dict[str, np.ndarray]:
    """``{prefix}_errors.csv`` (test error per epoch, epoch 0 = before training),
    ``{prefix}_final_errors.csv`` (one row per repeated test), ``{prefix}.png`` and the
    summary rows with the t-tests of PAPER.md §0."""
    curves = {label: ctx.test_errors(label) for label in labels}
    n_epochs = min(len(c) for c in curves.values())
    ctx.write_csv(f"{prefix}_errors.csv", ["epoch", *labels],
                  ([epoch, *(curves[label][epoch] for label in labels)]
                   for epoch in range(n_epochs)))
    groups = ctx.compare_errors(labels, paper_means, paper_tests)
    n_repeats = min(len(g) for g in groups.values())
    ctx.write_csv(f"{prefix}_final_errors.csv", list(labels),
                  ([groups[label][r] for label in labels] for r in range(n_repeats)))
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6),
                                      gridspec_kw={"width_ratios": [2.2, 1]})
    for i, (label, name) in enumerate(labels.items()):
        left.plot(np.arange(n_epochs), curves[label][:n_epochs], marker="o", ms=3,
                  color=f"C{i}", label=name)
        values = groups[label]
        mean = values.mean()
        right.errorbar([i], [mean], yerr=[[mean - values.min()], [values.max() - mean]],
                       fmt="o", color=f"C{i}", capsize=5)
    left.xaxis.get_major_locator().set_params(integer=True)
    left.set_xlabel("epoch")
    left.set_ylabel("test error (%)")
    left.set_yscale("log")
    left.legend(frameon=False, fontsize=8)
    right.set_xticks(range(len(labels)), list(labels.values()), rotation=25, fontsize=8)
    right.set_ylabel(f"final test error (%), min–max of {n_repeats}")
    right.set_xlim(-0.6, len(labels) - 0.4)
    fig.suptitle(title)
    fig.tight_layout()
    ctx.save_figure(fig, f"{prefix}.png")
    return groups
