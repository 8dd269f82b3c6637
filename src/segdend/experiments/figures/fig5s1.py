"""Figure 5—figure supplement 1: the Jacobian condition of Theorem 1 (PAPER.md §3, §5).

5S1A: the largest eigenvalue of (I − J̄_β J̄_γ)ᵀ(I − J̄_β J̄_γ) over the last 100 examples for
every example of the first epoch (one hidden layer), in the paper's form (product of the mean
Jacobians) and the code's (mean of the products). 5S1B: J̄_β J̄_γ after the first 100 examples
and at the end of the epoch.
"""

from __future__ import annotations

import numpy as np

from segdend.csvio import load_table
from segdend.experiments.common import pyplot
from segdend.experiments.context import FigureContext
from segdend.experiments.spec import FigureSpec, run
from segdend.recording import JACOBIAN_PRODUCTS, JACOBIANS

JACOBIAN = run("jacobian", "784-500-10, Jacobians recorded", "jacobian", model__hidden=[500],
               record__jacobians=True)


def _table(path, converters=None) -> np.ndarray:
    return load_table(path, converters=converters) if converters else load_table(path)


def make(ctx: FigureContext) -> None:
    """Fig_5S1A.csv, Fig_5S1B.csv, Fig_5S1.png."""
    run_dir = ctx.run_dirs["jacobian"]
    values = _table(run_dir / JACOBIANS)
    ctx.write_csv("Fig_5S1A.csv", ["example", "max_eigenvalue_product_of_means",
                                   "max_eigenvalue_mean_of_products"],
                  ([str(int(row[1])), row[2], row[3]] for row in values))
    # column 2 ("when"): 0 = the first full window, 1 = the end of the epoch
    products = _table(run_dir / JACOBIAN_PRODUCTS,
                      {2: lambda text: 0.0 if text == "first-window" else 1.0})
    n_out = products.shape[1] - 4
    ctx.write_csv("Fig_5S1B.csv", ["when", "row", *(f"col_{j}" for j in range(n_out))],
                  (["first-100-examples" if row[2] == 0 else "end-of-epoch-1",
                    str(int(row[3])), *row[4:]] for row in products))
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), gridspec_kw={"width_ratios": [2, 1, 1]})
    axes[0].plot(values[:, 1], values[:, 2], lw=0.8, label="paper: product of means")
    axes[0].plot(values[:, 1], values[:, 3], lw=0.8, label="code: mean of products")
    axes[0].axhline(1.0, color="k", ls="--", lw=0.8)
    axes[0].set_yscale("log")
    axes[0].set_xlabel("training example")
    axes[0].set_ylabel("max eigenvalue of (I − J̄βJ̄γ)ᵀ(I − J̄βJ̄γ)")
    axes[0].legend(frameon=False, fontsize=8)
    for ax, when, title in ((axes[1], 0, "first 100 examples"), (axes[2], 1, "end of epoch 1")):
        matrix = products[products[:, 2] == when][:, 4:]
        if matrix.size:
            image = ax.imshow(matrix[-n_out:], cmap="RdBu_r", vmin=-1.5, vmax=1.5)
            fig.colorbar(image, ax=ax, shrink=0.8)
        ax.set_title(f"J̄βJ̄γ, {title}", fontsize=9)
    fig.suptitle("Fig 5S1: the condition of Theorem 1")
    fig.tight_layout()
    ctx.save_figure(fig, "Fig_5S1.png")
    paper_form = values[:, 2]
    below = np.flatnonzero(paper_form < 1.0)
    code_below = np.flatnonzero(values[:, 3] < 1.0)
    ctx.measure("5S1A.first_below_1", int(values[below[0], 1]) if below.size else None)
    ctx.measure("5S1A.first_below_1_mean_of_products",
                int(values[code_below[0], 1]) if code_below.size else None)
    ctx.measure("5S1A.end", float(paper_form[-1]))
    ctx.measure("5S1A.end_mean_of_products", float(values[-1, 3]))
    ctx.measure("5S1A.examples", len(values))
    ctx.add_value("5S1A: first example where the eigenvalue (product of means) is below 1",
                  str(int(values[below[0], 1])) if below.size else "never",
                  "drops below 1 during epoch 1")
    ctx.add_value("5S1A: eigenvalue at the start / end of epoch 1 (product of means; "
                  "mean of products)",
                  f"{paper_form[min(99, len(paper_form) - 1)]:.3g} / {paper_form[-1]:.3g}; "
                  f"{values[min(99, len(values) - 1), 3]:.3g} / {values[-1, 3]:.3g}",
                  "falls below 1")
    end = products[products[:, 2] == 1][-n_out:, 4:]
    if end.size:
        ctx.measure("5S1B.distance_from_identity", float(np.linalg.norm(end - np.eye(n_out))))
        ctx.add_value("5S1B: distance of J̄βJ̄γ from I at the end of epoch 1 (Frobenius)",
                      f"{np.linalg.norm(end - np.eye(n_out)):.3f}", "approaches I")


FIGURE = FigureSpec("fig5s1", "Figure 5—figure supplement 1: the Jacobian condition",
                    [JACOBIAN], make, ["Fig_5S1A.csv", "Fig_5S1B.csv", "Fig_5S1.png"])
