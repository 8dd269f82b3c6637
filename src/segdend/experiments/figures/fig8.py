"""Figure 8: feedback-weight structure, 784-500-10 over the standard protocol (PAPER.md §3).

8B: sparse feedback (80 % of Y zero, survivors ×5) against random feedback.
8D: symmetric feedback Y = W¹ᵀ, with and without noise, against random feedback.
"""

from __future__ import annotations

from segdend.experiments.common import error_panels
from segdend.experiments.context import FigureContext
from segdend.experiments.figures.runs import REGULAR
from segdend.experiments.spec import FigureSpec, run

SPARSE = run("sparse", "sparse feedback ×5", model__hidden=[500], model__feedback="sparse")
SYMMETRIC = run("symmetric", "symmetric Y = W¹ᵀ", model__hidden=[500],
                model__feedback="symmetric")
NOISY = run("symmetric_noise", "symmetric + noise", model__hidden=[500],
            model__feedback="symmetric-noise")


def make(ctx: FigureContext) -> None:
    """Fig_8B_*.csv, Fig_8D_*.csv and their PNGs."""
    error_panels(ctx, "Fig_8B", {"regular": "regular", "sparse": "sparse ×5"},
                 {"regular": "4.1", "sparse": "3.7"},
                 {("regular", "sparse"): "t38 = 16.43, p = 7.4e-19"},
                 "Fig 8B: sparse feedback weights")
    error_panels(ctx, "Fig_8D", {"regular": "regular", "symmetric": "symmetric",
                                 "symmetric_noise": "symmetric + noise"},
                 {"regular": "4.1", "symmetric": "3.6",
                  "symmetric_noise": "worse than regular (figure only)"},
                 {("regular", "symmetric"): "t38 = 18.46, p = 4.3e-20",
                  ("regular", "symmetric_noise"): "t38 = −71.54, p = 1.2e-41",
                  ("symmetric", "symmetric_noise"): "t38 = −80.35, p = 1.5e-43"},
                 "Fig 8D: symmetric feedback weights")
    ctx.note(f"Symmetric + noise adds N(0, sd) noise with sd = "
             f"{ctx.config('symmetric_noise').model.symmetric_noise_sd:.4g} "
             "(PAPER.md §8 item 10: the code's 0.05; the paper's 'variance σ = 0.05').")


FIGURE = FigureSpec(
    "fig8", "Figure 8: feedback-weight structure",
    [REGULAR, SPARSE, SYMMETRIC, NOISY], make,
    ["Fig_8B_errors.csv", "Fig_8B_final_errors.csv", "Fig_8B.png",
     "Fig_8D_errors.csv", "Fig_8D_final_errors.csv", "Fig_8D.png"],
)
