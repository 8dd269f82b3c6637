"""What a figure module declares: its runs, the scale they run at, and its post-processing.

A figure is a :class:`FigureSpec`: a list of :class:`RunSpec` (the configs of PAPER.md §3, as
overrides of the base config) and a ``make`` function that turns the finished runs into the
paper's source-data CSVs (PAPER.md §4), PNGs and summary rows. Runs are identified by their
resolved overrides, so figures that need the same network (the standard 784-500-10 run appears
in Figs 3, 5, 6, 6S1, 7 and 8) share one run directory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from segdend.experiments.context import FigureContext

Length = Literal["standard", "short", "angle", "jacobian"]


@dataclass(frozen=True)
class Scale:
    """The training budget of a reproduction."""

    name: str
    epochs: int
    """Epochs of the standard protocol (60 in the paper)."""
    examples: int
    """Training examples per epoch (60,000)."""
    test_examples: int
    """Test images of every test (10,000)."""
    repeats: int
    """Repeated weight tests after the last epoch (n = 20)."""
    short_epochs: int
    """Epochs of Fig 8S1 (20)."""
    angle_epochs: int
    """Epochs of the backprop-angle runs of Fig 7A (10)."""
    jacobian_examples: int
    """Examples of the Jacobian run of Fig 5S1 (the first 60,000)."""
    tsne_examples: int
    """Test images embedded by t-SNE (Fig 6C: all 10,000)."""

    def epochs_of(self, length: Length) -> int:
        """Epochs of a run of the given length."""
        return {"standard": self.epochs, "short": self.short_epochs,
                "angle": self.angle_epochs, "jacobian": 1}[length]

    def examples_of(self, length: Length) -> int:
        """Training examples per epoch of a run of the given length."""
        return self.jacobian_examples if length == "jacobian" else self.examples


SCALES: dict[str, Scale] = {
    "full": Scale("full", epochs=60, examples=60_000, test_examples=10_000, repeats=20,
                  short_epochs=20, angle_epochs=10, jacobian_examples=60_000,
                  tsne_examples=10_000),
    "quick": Scale("quick", epochs=2, examples=6_000, test_examples=1_000, repeats=5,
                   short_epochs=2, angle_epochs=2, jacobian_examples=6_000,
                   tsne_examples=1_000),
}


@dataclass(frozen=True)
class RunSpec:
    """One network a figure needs: its overrides (PAPER.md §3) and how long it trains."""

    label: str
    """Column name in the figure's CSVs and legend, e.g. ``one_hidden``."""
    overrides: tuple[tuple[str, Any], ...] = ()
    """Config overrides beyond the base config, as (dotted key, value) pairs."""
    length: Length = "standard"
    title: str = ""
    """Legend text."""

    def settings(self) -> dict[str, Any]:
        """The overrides as a dict."""
        return dict(self.overrides)


def run(label: str, title: str, length: Length = "standard", **overrides: Any) -> RunSpec:
    """A :class:`RunSpec`; keyword ``model__hidden`` stands for ``model.hidden``."""
    pairs = tuple(sorted((key.replace("__", "."), value) for key, value in overrides.items()))
    return RunSpec(label, pairs, length, title or label)


@dataclass(frozen=True)
class FigureSpec:
    """A figure: its runs and the function that makes its outputs from them."""

    name: str
    title: str
    runs: list[RunSpec]
    make: Callable[[FigureContext], None]
    outputs: list[str] = field(default_factory=list)
    """The CSV and PNG files it writes (checked by the tests)."""
