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

from segdend import csvio
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


def _finite(value: float) -> float | None:
    """A float for JSON: None for NaN or infinity."""
    value = float(value)
    return value if np.isfinite(value) else None


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
    measures: dict[str, Any] = field(default_factory=dict)
    """Named numbers (floats, ints or None) that RESULTS.md judges the paper's claims by."""

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
        with csvio.open_csv(path) as handle:
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
        """A source-data CSV with a header row; gzip-compressed (``NAME.csv.gz``, deterministic)
        above :data:`segdend.csvio.GZIP_ROWS` data rows. The other form, if present, is removed."""
        lines = [",".join(header)]
        for row in rows:
            lines.append(",".join(v if isinstance(v, str) else f"{v:.6g}" for v in row))
        compress = len(lines) - 1 > csvio.GZIP_ROWS
        path = self.out / (name + csvio.GZ if compress else name)
        atomic_write_bytes(path, csvio.encode("\n".join(lines) + "\n", compress))
        other = self.out / (name if compress else name + csvio.GZ)
        other.unlink(missing_ok=True)
        self.written.append(path.name)
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

    def add_value(self, quantity: str, ours: str, paper: str, spread: str = "",
                  number: float | None = None, low: float | None = None,
                  high: float | None = None, n: int | None = None) -> None:
        """A row of the value table: a quantity, our value (and spread), the paper's.

        ``number`` (with ``low``, ``high`` and ``n`` for a spread over repeated tests) is our
        value as a number, kept in summary.json as ``mean``, ``min``, ``max``, ``n`` for
        RESULTS.md.
        """
        if any(row["quantity"] == quantity for row in self.values):
            return  # the same network in two panels (Fig 8B and 8D share "regular")
        row: dict[str, Any] = {"quantity": quantity, "ours": ours, "spread": spread,
                               "paper": paper if self.is_mnist else "not published"}
        if number is not None:
            row.update({"mean": _finite(number), "min": _finite(number if low is None else low),
                        "max": _finite(number if high is None else high),
                        "n": 1 if n is None else int(n)})
        self.values.append(row)

    def measure(self, name: str, value: float | None) -> None:
        """A named number for RESULTS.md's verdicts on the paper's claims (summary.json)."""
        if value is None or isinstance(value, int | np.integer):
            self.measures[name] = None if value is None else int(value)
        else:
            self.measures[name] = _finite(value)

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
                           f"(n = {summary['n']})", number=summary["mean"],
                           low=summary["min"], high=summary["max"], n=summary["n"])
            self.measure(f"final_error.{label}", summary["mean"])
        for result in stats.compare(groups, bonferroni=bonferroni):
            paper = paper_tests.get((result["a"], result["b"]), "not reported")
            comparison = f"{labels[result['a']]} vs {labels[result['b']]}"
            if any(row["comparison"] == comparison for row in self.tests):
                continue
            self.tests.append({
                "comparison": comparison,
                "t": _number(result["t"]), "df": result["df"],
                "p": _number(result["p_corrected"], 3),
                "corrected": "Bonferroni" if result["corrected"] else "none",
                "paper": paper if self.is_mnist else "not published",
                "a": result["a"], "b": result["b"], "t_value": _finite(result["t"]),
                "p_value": _finite(result["p_corrected"]),
            })
        return groups

    def note(self, text: str) -> None:
        """A line under the tables (how a number was obtained, what differs from the paper)."""
        self.notes.append(text)

    def networks(self) -> list[dict[str, Any]]:
        """What each network of the figure actually ran, from its config.toml and metrics.csv
        (epochs, examples per epoch, test images, repeated tests, preset, seed, and the seconds
        of training with its per-epoch tests), in the figure's order."""
        titles = {spec.label: spec.title for spec in self.spec.runs}
        found = []
        for label, run_dir in self.run_dirs.items():
            config = self.config(label)
            with csvio.open_csv(run_dir / "metrics.csv") as handle:
                rows = list(csv.DictReader(handle))
            last = rows[-1] if rows else {}
            try:
                repeats = len(self.repeated(label))
            except DataError:
                repeats = 0
            found.append({
                "label": label, "title": titles.get(label, label), "run": run_dir.name,
                "layers": "-".join(str(n) for n in [784, *config.model.hidden, 10]),
                "epochs": int(last.get("epoch") or 0),
                "examples": config.train.examples, "test_images": config.test.examples,
                "repeated_tests": repeats, "preset": config.preset, "seed": config.seed,
                # metrics.csv's seconds are per epoch (training, then the epoch's test; row 0:
                # the test before training), so a run's time is their sum.
                "train_seconds": round(sum(float(row.get("seconds") or 0.0) for row in rows), 3),
            })
        return found

    def write_summary(self, timing: dict[str, Any] | None = None) -> None:
        """``summary.md`` and ``summary.json`` of the figure.

        Parameters
        ----------
        timing
            The invocation of ``segdend reproduce`` that wrote it (started, wall seconds, runs
            trained and reused); kept in summary.json only.
        """
        scale = self.scale
        networks = self.networks()
        lines = [f"# {self.spec.title}", "",
                 f"Data set: {self.dataset_name}; scale: {scale.name}; preset: {self.preset}.",
                 ""]
        if networks:
            lines += ["Networks, as run (from each run's config.toml, metrics.csv and "
                      "repeated_tests.csv):", "",
                      "| network | layers | epochs | examples per epoch | test images | "
                      "repeated tests | preset | seed | run |",
                      "|---|---|---|---|---|---|---|---|---|"]
            lines += [f"| {n['title']} | {n['layers']} | {n['epochs']} | {n['examples']} | "
                      f"{n['test_images']} | {n['repeated_tests']} | {n['preset']} | "
                      f"{n['seed']} | {n['run']} |" for n in networks]
            lines.append("")
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
                  "networks": networks, "values": self.values, "tests": self.tests,
                  "measures": dict(sorted(self.measures.items())), "notes": self.notes,
                  "files": sorted(set(self.written)),
                  "train_seconds": round(sum(n["train_seconds"] for n in networks), 3)}
        if timing is not None:
            record["timing"] = timing
        atomic_write_text(self.out / "summary.json", json.dumps(record, indent=1) + "\n")
