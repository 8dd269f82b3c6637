"""Per-example recorders of a training run, streamed to ``RUN/recordings/*.csv``.

Rows are buffered in memory and appended at each checkpoint; the checkpoint records every file's
size, so a resumed run cuts the files back and writes exactly what an uninterrupted run would
have written (DESIGN.md, "Run directories").

- ``losses.csv``: L¹ and every L^k per example (Fig 5B, 5C);
- ``backprop_angle.csv``: ∠(ΔW⁰, ΔW⁰_BP) per example (Fig 7A);
- ``jacobians.csv`` and ``jacobian_products.csv``: the condition of Theorem 1 over the last 100
  examples (Fig 5S1), computed by :class:`JacobianRecorder`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from segdend.analysis.jacobian import condition_eigenvalue, jacobians
from segdend.config import Config
from segdend.engines.base import ChunkResult
from segdend.model.constants import Constants
from segdend.runs import append_text, file_size

LOSS_COLUMNS = ["epoch", "example", "index", "label", "predicted", "output_loss"]
LOSSES = "recordings/losses.csv"
ANGLES = "recordings/backprop_angle.csv"
JACOBIANS = "recordings/jacobians.csv"
JACOBIAN_PRODUCTS = "recordings/jacobian_products.csv"
RECORDING_FILES = (LOSSES, ANGLES, JACOBIANS, JACOBIAN_PRODUCTS)


@dataclass
class Recorders:
    """Per-example rows, buffered in memory and appended to CSV at each checkpoint."""

    config: Config
    epoch: int
    order: np.ndarray
    labels: np.ndarray
    correct: int = 0
    seen: int = 0
    rows: dict[str, list[str]] = field(default_factory=dict)

    def add(self, start: int, result: ChunkResult) -> None:
        """Record the completed examples of a chunk that began at position ``start``."""
        done = result.completed
        labels = self.labels[start : start + done]
        self.correct += int(np.count_nonzero(result.predicted[:done] == labels))
        self.seen += done
        rec = self.config.record
        epoch = self.epoch + 1
        if rec.losses:
            lines = self.rows.setdefault(LOSSES, [])
            for i in range(done):
                pos = start + i
                hidden = "".join(f",{v:.8g}" for v in result.hidden_loss[i])
                lines.append(f"{epoch},{pos},{int(self.order[pos])},{int(labels[i])},"
                             f"{int(result.predicted[i])},{result.output_loss[i]:.8g}{hidden}\n")
        if rec.backprop_angle and self.config.model.hidden:
            lines = self.rows.setdefault(ANGLES, [])
            lines.extend(f"{epoch},{start + i},{result.backprop_angle[i]:.6f}\n"
                         for i in range(done))

    def add_row(self, name: str, line: str) -> None:
        """Buffer one line of another recorder's file."""
        self.rows.setdefault(name, []).append(line)

    @staticmethod
    def headers(n_hidden: int, n_out: int) -> dict[str, str]:
        """CSV header of each recorder file."""
        hidden = [f"hidden_loss_{k}" for k in range(n_hidden)]
        columns = ",".join(f"c{j}" for j in range(n_out))
        return {
            LOSSES: ",".join(LOSS_COLUMNS + hidden) + "\n",
            ANGLES: "epoch,example,angle_degrees\n",
            JACOBIANS: "epoch,example,eigenvalue_product_of_means,eigenvalue_mean_of_products\n",
            JACOBIAN_PRODUCTS: f"epoch,example,when,row,{columns}\n",
        }

    def flush(self, run_dir: Path, n_hidden: int, n_out: int) -> None:
        """Append buffered rows to their files."""
        headers = self.headers(n_hidden, n_out)
        for name, lines in self.rows.items():
            path = run_dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            text = "".join(lines)
            if file_size(path) == 0:
                text = headers[name] + text
            append_text(path, text)
        self.rows = {}


class JacobianRecorder:
    """The condition of Theorem 1 (PAPER.md §5, Fig 5S1) over a sliding window of examples.

    For each training example, J_β and J_γ are taken at that example's forward-phase output
    average V̄^{1,f} with the weights W¹ (top layer) and Y (top hidden layer's feedback) it was
    simulated with (before its update). Over the last ``window`` examples it reports the largest
    eigenvalue of (I − U)ᵀ(I − U) with U = J̄_β J̄_γ (the paper's product of means) and with U the
    mean of J_β J_γ (the code's mean of products). Running sums make each example O(n_out·n_hidden);
    they are saved in checkpoints, so a resumed run continues exactly.
    """

    def __init__(self, n_out: int, n_hidden: int, const: Constants, window: int = 100):
        self.const = const
        self.window = window
        self.beta = np.zeros((window, n_out, n_hidden))
        self.gamma = np.zeros((window, n_hidden, n_out))
        self.product = np.zeros((window, n_out, n_out))
        self.sums = [np.zeros((n_out, n_hidden)), np.zeros((n_hidden, n_out)),
                     np.zeros((n_out, n_out))]
        self.count = 0

    def add(self, output_weights: np.ndarray, feedback: np.ndarray,
            output_forward: np.ndarray) -> tuple[float, float]:
        """Add one example; return (product-of-means, mean-of-products) eigenvalues."""
        j_beta, j_gamma = jacobians(output_weights, feedback, output_forward,
                                    self.const.k_dendrite, self.const.max_rate)
        slot = self.count % self.window
        for ring, total, new in zip((self.beta, self.gamma, self.product), self.sums,
                                    (j_beta, j_gamma, j_beta @ j_gamma), strict=True):
            if self.count >= self.window:
                total -= ring[slot]
            ring[slot] = new
            total += new
        self.count += 1
        n = min(self.count, self.window)
        return (condition_eigenvalue(self.mean_product()),
                condition_eigenvalue(self.sums[2] / n))

    def mean_product(self) -> np.ndarray:
        """J̄_β J̄_γ over the current window (Fig 5S1B)."""
        n = max(min(self.count, self.window), 1)
        return (self.sums[0] / n) @ (self.sums[1] / n)

    def arrays(self) -> dict[str, np.ndarray]:
        """State to store in a checkpoint."""
        return {"jac_beta": self.beta, "jac_gamma": self.gamma, "jac_product": self.product,
                "jac_sum_beta": self.sums[0], "jac_sum_gamma": self.sums[1],
                "jac_sum_product": self.sums[2], "jac_count": np.array([self.count])}

    def restore(self, arrays: dict[str, np.ndarray]) -> None:
        """Continue from :meth:`arrays` of a checkpoint."""
        self.beta, self.gamma, self.product = (arrays["jac_beta"], arrays["jac_gamma"],
                                               arrays["jac_product"])
        self.sums = [arrays["jac_sum_beta"], arrays["jac_sum_gamma"], arrays["jac_sum_product"]]
        self.count = int(arrays["jac_count"][0])

    def record(self, recorders: Recorders, epoch: int, example: int,
               output_weights: np.ndarray, feedback: np.ndarray,
               output_forward: np.ndarray, epoch_end: bool) -> None:
        """Add an example and buffer its rows (``epoch`` 1-based, ``example`` within it)."""
        product_of_means, mean_of_products = self.add(output_weights, feedback, output_forward)
        recorders.add_row(JACOBIANS, f"{epoch},{example},{product_of_means:.8g},"
                                     f"{mean_of_products:.8g}\n")
        moments = []
        if self.count == self.window:
            moments.append("first-window")
        if epoch_end:
            moments.append("epoch-end")
        for when in moments:
            matrix = self.mean_product()
            for row, values in enumerate(matrix):
                cells = ",".join(f"{v:.8g}" for v in values)
                recorders.add_row(JACOBIAN_PRODUCTS, f"{epoch},{example},{when},{row},{cells}\n")
