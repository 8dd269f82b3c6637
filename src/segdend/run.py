"""``segdend.Run``: open a run directory from Python — its config, metrics, recordings, network.

A run directory is what ``segdend train`` (or :meth:`Network.fit` with ``run_dir``) writes; its
low-level mechanics (atomic writes, locks, checkpoints) live in :mod:`segdend.runs`. This module
only reads it, and resumes or tests it through the same functions as the command line.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segdend.config import Config, load_config
from segdend.errors import DataError, RunError

if TYPE_CHECKING:
    import pandas as pd

    from segdend.model.params import NetworkParams
    from segdend.network import Network


def read_table(path: str | Path) -> pd.DataFrame:
    """A CSV file (or its gzip-compressed ``.csv.gz`` twin) as a pandas DataFrame.

    Raises
    ------
    DataError
        The file is missing or is not a readable CSV (one line, naming it).
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file() and Path(f"{path}.gz").is_file():
        path = Path(f"{path}.gz")
    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise DataError(f"'{path}' does not exist") from None
    except (OSError, ValueError, EOFError) as error:
        raise DataError(f"'{path}' is not a readable CSV file: {error}") from None


class Run:
    """A run directory, opened for reading.

    Parameters
    ----------
    path : str or path
        The run directory (it holds ``config.toml``).

    Examples
    --------
    >>> run = segdend.Run("runs/demo")                       # doctest: +SKIP
    >>> run.metrics.plot(x="epoch", y="test_error")          # doctest: +SKIP
    >>> net = run.network()                                  # doctest: +SKIP
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not (self.path / "config.toml").is_file():
            raise RunError(f"'{self.path}' is not a run directory (no config.toml)")

    def __repr__(self) -> str:
        state = "finished" if self.is_finished else "unfinished"
        return f"Run('{self.path}', {state})"

    @cached_property
    def config(self) -> Config:
        """The run's resolved configuration (``config.toml``)."""
        return load_config(self.path / "config.toml")

    @property
    def is_finished(self) -> bool:
        """Whether training ended (``params.npz`` is written last)."""
        return (self.path / "params.npz").is_file()

    @property
    def metrics(self) -> pd.DataFrame:
        """One row per epoch: ``epoch, test_error, train_error, seconds, examples`` (row 0 is
        the test before training; errors in percent)."""
        return read_table(self.path / "metrics.csv")

    @property
    def quick_tests(self) -> pd.DataFrame:
        """The quick tests every ``train.quick_test_every`` examples."""
        return read_table(self.path / "quick_tests.csv")

    @property
    def repeated_tests(self) -> pd.DataFrame:
        """The repeated weight tests (``repeat, test_error``) written by :meth:`test`."""
        return read_table(self.path / "repeated_tests.csv")

    @property
    def events(self) -> list[dict[str, Any]]:
        """The run's events (start, epoch, resume, warning, finished) from ``events.jsonl``."""
        path = self.path / "events.jsonl"
        if not path.is_file():
            return []
        events = []
        for number, line in enumerate(path.read_text().splitlines(), 1):
            try:
                events.append(json.loads(line))
            except ValueError:
                raise DataError(f"'{path}' line {number} is not JSON") from None
        return events

    @property
    def recordings(self) -> list[str]:
        """Names of the recordings this run holds (``losses``, ``backprop_angle``, …)."""
        folder = self.path / "recordings"
        if not folder.is_dir():
            return []
        return sorted(p.name.split(".")[0] for p in folder.iterdir()
                      if p.name.endswith((".csv", ".csv.gz")))

    def recording(self, name: str) -> pd.DataFrame:
        """One recording as a DataFrame, e.g. ``run.recording("losses")`` (Fig 5)."""
        if name not in self.recordings:
            raise DataError(f"'{self.path}' has no recording '{name}'; it has "
                            f"{', '.join(self.recordings) or 'none'}")
        return read_table(self.path / "recordings" / f"{name}.csv")

    def params(self) -> NetworkParams:
        """The final parameters, or those of the latest valid checkpoint of an unfinished run."""
        from segdend.model.params import load_params
        from segdend.runs import Checkpoints
        from segdend.train import params_from_arrays

        if self.is_finished:
            return load_params(self.path / "params.npz")
        loaded = Checkpoints(self.path).load_latest(
            warn=lambda m: print(f"warning: {m}", file=sys.stderr))
        if loaded is None:
            raise RunError(f"'{self.path}' has neither params.npz nor a usable checkpoint")
        print(f"warning: '{self.path}' is unfinished; using its latest checkpoint",
              file=sys.stderr)
        arrays = {k[2:]: v for k, v in loaded[0].items() if k.startswith("p_")}
        return params_from_arrays(arrays)

    def network(self) -> Network:
        """A :class:`Network` with this run's config and parameters."""
        from segdend.network import Network

        net = Network(config=self.config)
        net.params_ = self.params()
        net.run_dir_ = self.path
        if (self.path / "metrics.csv").is_file():
            net.history_ = self.metrics
        return net

    def resume(self, *, progress: bool | None = None, data_dir: str | Path | None = None,
               log: Callable[[str], None] | None = None) -> Run:
        """Continue training from the newest valid checkpoint (as ``segdend train --resume``)."""
        from segdend.progress import bars_wanted
        from segdend.train import resume_training

        quiet = not bars_wanted() if progress is None else not progress
        resume_training(self.path, quiet=quiet,
                        data_dir=None if data_dir is None else Path(data_dir), log=log)
        return self

    def test(self, repeats: int = 20, *, examples: int | None = None,
             progress: bool | None = None, data_dir: str | Path | None = None) -> list[float]:
        """Repeated weight tests of the run's parameters, kept in ``repeated_tests.csv``.

        Returns one test error (%) per repeat; the same numbers as ``segdend test RUN``.
        """
        from segdend.data.dataset import load_dataset
        from segdend.evaluate import save_repeated_tests
        from segdend.runs import RunLock, ensure_writable

        net = self.network()
        ensure_writable(self.path)
        dataset = load_dataset(self.config.dataset, None if data_dir is None else Path(data_dir))
        with RunLock(self.path):
            began, cpu_began = time.perf_counter(), time.process_time()
            errors = net.test_errors(dataset, examples=examples, repeats=repeats,
                                     progress=progress)
            images = min(examples or self.config.test.examples, len(dataset.test_labels))
            save_repeated_tests(self.path, errors, images, time.perf_counter() - began,
                                time.process_time() - cpu_began)
        return errors

    def report(self, out: str | Path | None = None) -> Path:
        """Write the run's self-contained HTML report; return its path."""
        from segdend.report import write_report

        return write_report(self.path, None if out is None else Path(out))
