"""Per-example recorders of a training run, streamed to ``RUN/recordings/*.csv``.

Rows are buffered in memory and appended at each checkpoint; the checkpoint records every file's
size, so a resumed run cuts the files back and writes exactly what an uninterrupted run would
have written (DESIGN.md, "Run directories").

- ``losses.csv``: L¹ and every L^k per example (Fig 5B, 5C);
- ``backprop_angle.csv``: ∠(ΔW⁰, ΔW⁰_BP) per example (Fig 7A);
- ``jacobians.csv`` and ``jacobian_products.csv``: the condition of Theorem 1 over the last 100
  examples (Fig 5S1), computed by :class:`JacobianRecorder`;
- ``voltages.csv``: apical, basal and somatic potentials and spikes of chosen neurons at every
  step of chosen examples (``record.voltages``; docs/recording-voltages.md), read back by
  :func:`read_voltages`.
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
VOLTAGES = "recordings/voltages.csv"
RECORDING_FILES = (LOSSES, ANGLES, JACOBIANS, JACOBIAN_PRODUCTS, VOLTAGES)
#: Columns of ``voltages.csv``; the potentials are written with 10 significant digits, the
#: output's (absent) apical potential as an empty field.
VOLTAGE_FILE_COLUMNS = ("epoch", "example", "index", "label", "phase", "step", "layer", "neuron",
                        "apical", "basal", "soma", "spikes")
_INT_COLUMNS = ("epoch", "example", "index", "label", "step", "layer", "neuron", "spikes")


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
    forward_lengths: np.ndarray | None = None
    """Forward-phase length of each example of the epoch (the phase column of voltages.csv)."""

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
        if result.voltages:
            lines = self.rows.setdefault(VOLTAGES, [])
            neurons = recorded_neurons(self.config)
            for i in sorted(result.voltages):
                pos = start + i
                assert self.forward_lengths is not None
                lines.append(voltage_rows(
                    f"{epoch},{pos},{int(self.order[pos])},{int(labels[i])}",
                    int(self.forward_lengths[pos]), neurons, result.voltages[i]))

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
            VOLTAGES: ",".join(VOLTAGE_FILE_COLUMNS) + "\n",
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


# ------------------------------------------------------------------------------- voltages


def recorded_neurons(config: Config) -> list[tuple[int, int]]:
    """The neurons of ``record.voltages`` as (layer, index), in order, without repeats."""
    from segdend.config import parse_neuron

    return list(dict.fromkeys(parse_neuron(item) for item in config.record.voltages))


def voltage_positions(config: Config, start: int, stop: int) -> frozenset[int]:
    """Positions in the epoch, within ``start:stop``, of the examples whose voltages are recorded.

    Every ``record.voltage_every``-th example (positions 0, N, 2N, …) among the first
    ``record.voltage_examples`` of the epoch; none if ``record.voltages`` is empty.
    """
    rec = config.record
    if not rec.voltages:
        return frozenset()
    if rec.voltage_examples is not None:
        stop = min(stop, rec.voltage_examples)
    first = -(-start // rec.voltage_every) * rec.voltage_every
    return frozenset(range(first, stop, rec.voltage_every))


def voltage_rows(prefix: str, forward_length: int, neurons: list[tuple[int, int]],
                 values: np.ndarray) -> str:
    """CSV rows of one recorded example: neuron by neuron, step by step.

    ``prefix`` holds the epoch, example, index and label cells; ``values`` has shape
    (steps, neurons, 4) with the columns apical, basal, soma, spikes.
    """
    steps = values.shape[0]
    starts = [f"{prefix},{'forward' if t < forward_length else 'target'},{t},"
              for t in range(steps)]
    fmt = "{:.10g}".format
    lines: list[str] = []
    for r, (layer, neuron) in enumerate(neurons):
        apical_values = values[:, r, 0]
        apical = ([""] * steps if np.isnan(apical_values).all()
                  else ["" if v != v else fmt(v) for v in apical_values.tolist()])
        basal, soma = map(fmt, values[:, r, 1].tolist()), map(fmt, values[:, r, 2].tolist())
        spikes = values[:, r, 3].astype(np.int64).tolist()
        middle = f"{layer},{neuron},"
        lines.extend(f"{start}{middle}{a},{b},{v},{k}\n"
                     for start, a, b, v, k in zip(starts, apical, basal, soma, spikes, strict=True))
    return "".join(lines)


def read_voltages(run_dir: Path, epoch: int | None = None,
                  example: int | None = None) -> dict[str, np.ndarray]:
    """Read a run's voltage recording (``record.voltages``) back as columns.

    Parameters
    ----------
    run_dir : Path
        The run directory (its ``recordings/voltages.csv`` is read).
    epoch : int, optional
        Keep only this epoch (1-based, as in the file).
    example : int, optional
        Keep only the example at this position within its epoch (0-based).

    Returns
    -------
    dict of str to numpy.ndarray
        One array per column of :data:`VOLTAGE_FILE_COLUMNS`, all of the same length (one entry
        per example, neuron and step): ``phase`` holds strings (``forward``, ``target``),
        ``apical``, ``basal`` and ``soma`` float64 (``apical`` is NaN for output neurons), the
        others int64. ``step`` counts from the start of the example's forward phase; ``layer``
        0 is the first hidden layer and the last the output.

    Raises
    ------
    RunError
        If the run has no voltage recording or the file is malformed.
    """
    import csv

    from segdend.errors import RunError

    path = Path(run_dir) / VOLTAGES
    if not path.is_file():
        raise RunError(f"'{run_dir}' has no voltage recording ({VOLTAGES}); set record.voltages")
    columns: dict[str, list[str]] = {name: [] for name in VOLTAGE_FILE_COLUMNS}
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or tuple(header) != VOLTAGE_FILE_COLUMNS:
            raise RunError(f"'{path}' does not start with the header "
                           f"{','.join(VOLTAGE_FILE_COLUMNS)}")
        for row in reader:
            if len(row) != len(VOLTAGE_FILE_COLUMNS):
                raise RunError(f"'{path}', line {reader.line_num}: expected "
                               f"{len(VOLTAGE_FILE_COLUMNS)} cells, got {len(row)}")
            if (epoch is not None and row[0] != str(epoch)) or (
                    example is not None and row[1] != str(example)):
                continue
            for name, cell in zip(VOLTAGE_FILE_COLUMNS, row, strict=True):
                columns[name].append(cell)
    out: dict[str, np.ndarray] = {}
    try:
        for name, cells in columns.items():
            if name in _INT_COLUMNS:
                out[name] = np.array(cells, dtype=np.int64)
            elif name == "phase":
                out[name] = np.array(cells, dtype=str)
            else:
                out[name] = np.array([float(c) if c else np.nan for c in cells], dtype=np.float64)
    except ValueError as error:
        raise RunError(f"'{path}': column {name} is malformed: {error}") from None
    return out
