"""Figure 8—figure supplement 1: sparse feedback needs amplification (784-500-10, 20 epochs at
full scale). PAPER.md §0 t-values, §3."""

from __future__ import annotations

from segdend.experiments.common import error_panels
from segdend.experiments.context import FigureContext
from segdend.experiments.spec import FigureSpec, run

REGULAR_SHORT = run("regular", "regular", "short", model__hidden=[500])
SPARSE_SHORT = run("sparse", "sparse ×5", "short", model__hidden=[500],
                   model__feedback="sparse")
UNAMPLIFIED_SHORT = run("sparse_unamplified", "sparse ×1", "short", model__hidden=[500],
                        model__feedback="sparse-unamplified")


def make(ctx: FigureContext) -> None:
    """Fig_8S1_errors.csv, Fig_8S1_final_errors.csv, Fig_8S1.png."""
    error_panels(ctx, "Fig_8S1", {"regular": "regular", "sparse": "sparse ×5",
                                  "sparse_unamplified": "sparse ×1"},
                 {"regular": "not reported (figure only)",
                  "sparse": "better than regular (figure only)",
                  "sparse_unamplified": "worse than regular (figure only)"},
                 {("regular", "sparse"): "t38 = 44.96, p = 4.4e-34",
                  ("regular", "sparse_unamplified"): "t38 = −51.30, p = 3.2e-36",
                  ("sparse", "sparse_unamplified"): "t38 = −100.73, p = 2.8e-47"},
                 "Fig 8S1: sparse feedback, amplified (×5) or not (×1)")


FIGURE = FigureSpec(
    "fig8s1", "Figure 8—figure supplement 1: sparse feedback needs amplification",
    [REGULAR_SHORT, SPARSE_SHORT, UNAMPLIFIED_SHORT], make,
    ["Fig_8S1_errors.csv", "Fig_8S1_final_errors.csv", "Fig_8S1.png"],
)
