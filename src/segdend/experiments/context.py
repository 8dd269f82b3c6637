"""What a figure's post-processing works with: its finished runs, its output folder, its summary.

Every file goes through :meth:`FigureContext.write_csv` or :meth:`FigureContext.save_figure`
(atomic writes into ``OUT/<figure>/``), and every comparison with the paper through
:meth:`FigureContext.compare_errors` or :meth:`FigureContext.add_value`, which build
``summary.md`` and ``summary.json``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from segdend.analysis import stats
from segdend.config import Config, load_config
from segdend.data.dataset import Dataset, load_dataset
from segdend.errors import DataError
from segdend.evaluate import read_repeated_tests
from segdend.experiments.spec import FigureSpec, Scale
from segdend.model.params import NetworkParams, load_params
from segdend.runs import atomic_write_bytes, atomic_write_text
from segdend.train import epoch_params_path


def _number(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.2e}"
    return f"{value:.{digits}f}"


@dataclass
class FigureContext:
    """A figure's runs (label → run directory), output folder, scale and summary rows."""

    spec: FigureSpec
    out: Path
    scale: Scale
    dataset_name: str
    preset: str
    run_dirs: dict[str, Path]
    data_dir: Path | None = None
    values: list[dict[str, Any]] = field(default_factory=list)
    tests: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------------ runs

    def config(self, label: str) -> Config:
        """The resolved config of a run."""
        return load_config(self.run_dirs[label] / "config.toml")

    def params(self, label: str, epoch: int | None = None) -> NetworkParams:
        """A run's final parameters, or those kept after ``epoch`` (``record.params_epochs``)."""
        run_dir = self.run_dirs[label]
        path = run_dir / "params.npz" if epoch is None else epoch_params_path(run_dir, epoch)
        return load_params(path)

    def test_errors(self, label: str) -> np.ndarray:
        """Test error (%) after each epoch, epoch 0 (before training) first."""
        path = self.run_dirs[label] / "metrics.csv"
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
        if not rows:
            raise DataError(f"'{path}' has no rows")
        return np.array([float(row["test_error"]) for row in rows])

    def repeated(self, label: str) -> np.ndarray:
        """The repeated weight tests of a run (n = ``scale.repeats``)."""
        return read_repeated_tests(self.run_dirs[label])

    @cached_property
    def dataset(self) -> Dataset:
        """The data set the runs were trained on."""
        return load_dataset(self.dataset_name, self.data_dir)

    @property
    def is_mnist(self) -> bool:
        """Whether the paper's numbers apply (they are for MNIST)."""
        return self.dataset_name == "mnist"

    # --------------------------------------------------------------------- outputs

    def write_csv(self, name: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
        """A source-data CSV with a header row."""
        lines = [",".join(header)]
        for row in rows:
            lines.append(",".join(v if isinstance(v, str) else f"{v:.6g}" for v in row))
        path = self.out / name
        atomic_write_text(path, "\n".join(lines) + "\n")
        self.written.append(name)
        return path

    def save_figure(self, figure: Any, name: str) -> Path:
        """Save a matplotlib figure as PNG and close it."""
        import io

        import matplotlib.pyplot as plt

        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=110)
        plt.close(figure)
        path = self.out / name
        atomic_write_bytes(path, buffer.getvalue())
        self.written.append(name)
        return path

    # ---------------------------------------------------------------------- summary

    def add_value(self, quantity: str, ours: str, paper: str, spread: str = "") -> None:
        """A row of the value table: a quantity, our value (and spread), the paper's."""
        if any(row["quantity"] == quantity for row in self.values):
            return  # the same network in two panels (Fig 8B and 8D share "regular")
        self.values.append({"quantity": quantity, "ours": ours, "spread": spread,
                            "paper": paper if self.is_mnist else "not published"})

    def compare_errors(self, labels: dict[str, str], paper_means: dict[str, str],
                       paper_tests: dict[tuple[str, str], str],
                       bonferroni: bool | None = None) -> dict[str, np.ndarray]:
        """Final errors over the repeated tests, and the t-tests of PAPER.md §0.

        ``labels`` maps run label → display name; ``paper_means`` and ``paper_tests`` (keyed by
        run-label pairs, in the paper's order) give the reported numbers.
        """
        groups = {label: self.repeated(label) for label in labels}
        for label, name in labels.items():
            summary = stats.summarise(groups[label])
            self.add_value(f"final test error, {name} (%)", _number(summary["mean"]),
                           paper_means.get(label, "not reported"),
                           f"{_number(summary['min'])}–{_number(summary['max'])} "
                           f"(n = {summary['n']})")
        for result in stats.compare(groups, bonferroni=bonferroni):
            paper = paper_tests.get((result["a"], result["b"]), "not reported")
            self.tests.append({
                "comparison": f"{labels[result['a']]} vs {labels[result['b']]}",
                "t": _number(result["t"]), "df": result["df"],
                "p": _number(result["p_corrected"], 3),
                "corrected": "Bonferroni" if result["corrected"] else "none",
                "paper": paper if self.is_mnist else "not published",
            })
        return groups

    def note(self, text: str) -> None:
        """A line under the tables (how a number was obtained, what differs from the paper)."""
        self.notes.append(text)

    def write_summary(self) -> None:
        """``summary.md`` and ``summary.json`` of the figure."""
        scale = self.scale
        lines = [f"# {self.spec.title}", "",
                 f"Data set: {self.dataset_name}; scale: {scale.name} ({scale.epochs} epochs of "
                 f"{scale.examples} examples, {scale.test_examples} test images, "
                 f"{scale.repeats} repeated tests); preset: {self.preset}.", ""]
        if self.values:
            lines += ["| quantity | ours | spread (min–max) | paper |", "|---|---|---|---|"]
            lines += [f"| {v['quantity']} | {v['ours']} | {v['spread']} | {v['paper']} |"
                      for v in self.values]
            lines.append("")
        if self.tests:
            lines += ["Two-tailed t-tests over the repeated tests (t > 0: the first-named network "
                      "has the higher error).", "",
                      "| comparison | t | df | p | correction | paper |",
                      "|---|---|---|---|---|---|"]
            lines += [f"| {t['comparison']} | {t['t']} | {t['df']} | {t['p']} | "
                      f"{t['corrected']} | {t['paper']} |" for t in self.tests]
            lines.append("")
        lines += [f"- {note}" for note in self.notes]
        lines += ["", "Files: " + ", ".join(sorted(set(self.written)))]
        atomic_write_text(self.out / "summary.md", "\n".join(lines).rstrip() + "\n")
        record = {"figure": self.spec.name, "title": self.spec.title,
                  "dataset": self.dataset_name, "scale": scale.name, "preset": self.preset,
                  "values": self.values, "tests": self.tests, "notes": self.notes,
                  "files": sorted(set(self.written))}
        atomic_write_text(self.out / "summary.json", json.dumps(record, indent=1) + "\n")
