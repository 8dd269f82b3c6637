"""What RESULTS.md reads from the committed folders: figure summaries, timings, the final
numbers of committed runs and the runs of a sweep folder.

Committed folders hold no parameters (``params.npz`` is kept out of git), so a run counts as
finished when its ``metrics.csv`` reaches the configured number of epochs. Every unreadable
file is a one-line :class:`~segdend.errors.DataError`.
"""

from __future__ import annotations

import csv
import datetime
import json
from pathlib import Path
from typing import Any

from segdend import csvio
from segdend.errors import DataError, SegdendError
from segdend.results.formatting import parse_number

FIGURES = ("fig3", "fig4", "fig5", "fig5s1", "fig6", "fig6s1", "fig7", "fig8", "fig8s1", "fig9")
"""The figure folders of a reproduction, in the paper's order."""

Summaries = dict[str, dict[str, Any]]
"""Figure name → its ``summary.json`` (what :func:`load_summaries` returns)."""


def read_json(path: Path) -> dict[str, Any]:
    """A JSON file holding an object.

    Parameters
    ----------
    path : path
        The file.

    Returns
    -------
    dict
        Its object.

    Raises
    ------
    DataError
        If the file is unreadable, not JSON or not an object.
    """
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise DataError(f"'{path}' is unreadable: {error}") from None
    if not isinstance(record, dict):
        raise DataError(f"'{path}' is not a JSON object")
    return record


def read_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV, plain or gzip-compressed (:func:`segdend.csvio.open_csv`).

    Parameters
    ----------
    path : path
        ``NAME.csv``; ``NAME.csv.gz`` is read if that is the form that exists.

    Returns
    -------
    list of dict
        One dict per data row, keyed by the header.

    Raises
    ------
    DataError
        If the file is missing or unreadable.
    """
    try:
        with csvio.open_csv(path) as handle:
            return list(csv.DictReader(handle))
    except (OSError, csv.Error, UnicodeDecodeError) as error:
        raise DataError(f"'{path}' is unreadable: {error}") from None


def load_summaries(folder: Path) -> Summaries:
    """The ``summary.json`` of every reproduced figure in a reproduction folder.

    Parameters
    ----------
    folder : path
        A reproduction folder such as ``results/mnist-full``.

    Returns
    -------
    dict
        Figure name (in :data:`FIGURES` order) → its summary; figures without one are left out.
    """
    return {name: read_json(folder / name / "summary.json") for name in FIGURES
            if (folder / name / "summary.json").is_file()}


def read_timings(folder: Path) -> list[dict[str, str]]:
    """The invocations of ``segdend reproduce`` recorded in a folder's ``timings.csv``.

    Parameters
    ----------
    folder : path
        A reproduction folder.

    Returns
    -------
    list of dict
        Its rows, oldest first; none if the file is absent.
    """
    path = folder / "timings.csv"
    return read_rows(path) if path.is_file() else []


def figure_wall_seconds(timings: list[dict[str, str]], figure: str) -> float | None:
    """Wall time that ``segdend reproduce`` spent on a figure: the sum over the invocations
    that made it, each with the interrupted invocations of the same target just before it,
    which it resumed (they trained some of the figure's runs but made no figure, or made
    others); a call that only remade the figure from finished runs adds its post-processing.
    Each invocation counts once.

    Parameters
    ----------
    timings : list of dict
        Rows of :func:`read_timings`.
    figure : str
        Such as ``fig6``.

    Returns
    -------
    float or None
        The summed ``wall_seconds``; None if no invocation made the figure.
    """
    counted: set[int] = set()
    for index, row in enumerate(timings):
        if figure in row.get("figures", "").split():
            counted.update(range(resumed_from(timings, index), index + 1))
    seconds = [parse_number(timings[index].get("wall_seconds", "")) for index in sorted(counted)]
    known = [s for s in seconds if s is not None]
    return sum(known) if known else None


def resumed_from(timings: list[dict[str, str]], index: int) -> int:
    """The first of the interrupted invocations that the invocation at ``index`` resumed.

    Parameters
    ----------
    timings : list of dict
        Rows of :func:`read_timings`, oldest first.
    index : int
        The row of an invocation.

    Returns
    -------
    int
        The row of the earliest invocation in the unbroken run of interrupted invocations of
        the same target just before ``index`` (``index`` itself if there is none).
    """
    from segdend.experiments.reproduce import INTERRUPTED

    interrupted = f"{timings[index].get('target')} {INTERRUPTED}"
    first = index
    while first > 0 and timings[first - 1].get("target") == interrupted:
        first -= 1
    return first


def end_to_end_seconds(timings: list[dict[str, str]],
                       spans: list[tuple[float, float] | None]) -> tuple[float, int] | None:
    """The measured wall time of a whole ``segdend reproduce all``, if ``timings.csv`` has one.

    That is the last invocation of ``all`` that made every figure with no run failed, together
    with the interrupted invocations of ``all`` just before it (each resumed where the last one
    stopped), provided every one of the reproduction's runs was trained between them: its
    events lie within the invocations' time. A call that found the runs already trained only
    remade the figures; an earlier record then still counts.

    The runs' own event times decide, not the ``runs_trained`` column: an interrupted call
    counts the runs it reported finished, and the shorter runs of a job it stopped (such as
    Fig 7's 10-epoch run on the way to 20 and 60 epochs) were finished but not reported.

    Parameters
    ----------
    timings : list of dict
        Rows of :func:`read_timings`, oldest first.
    spans : list
        For every run the reproduction needs, the ``time.time()`` of its first and last events
        (``RunTime.span``), or None if it has not finished.

    Returns
    -------
    tuple of (float, int) or None
        (summed ``wall_seconds``, number of invocations), or None if there is no such record.
    """
    if not spans or any(span is None for span in spans):
        return None
    for last in range(len(timings) - 1, -1, -1):
        row = timings[last]
        if (row.get("target") != "all" or not set(FIGURES) <= set(row.get("figures", "").split())
                or parse_number(row.get("runs_failed", "")) != 0):
            continue
        chain = timings[resumed_from(timings, last):last + 1]
        walls = [parse_number(r.get("wall_seconds", "")) for r in chain]
        began, last_began = (utc_seconds(r.get("started", "")) for r in (chain[0], row))
        if began is None or last_began is None or any(w is None for w in walls):
            continue
        ended = last_began + (walls[-1] or 0.0) + 1.0  # (started is rounded down to the second)
        if all(began <= span[0] and span[1] <= ended for span in spans if span is not None):
            return float(sum(w for w in walls if w is not None)), len(chain)
    return None


def utc_seconds(stamp: str) -> float | None:
    """``time.time()`` of a ``timings.csv`` ``started`` stamp (``2026-12-05T14:33:26Z``)."""
    try:
        when = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return None
    return when.replace(tzinfo=datetime.UTC).timestamp()


def run_final(run_dir: Path) -> dict[str, Any] | None:
    """A committed run's final numbers (needs no ``params.npz``).

    Parameters
    ----------
    run_dir : path
        A run directory holding ``config.toml``, ``metrics.csv`` and possibly
        ``repeated_tests.csv``.

    Returns
    -------
    dict or None
        ``mean``, ``min``, ``max``, ``sd`` and ``n`` of the repeated tests (``repeated``
        True), or the last epoch's test error as all five (``repeated`` False); also
        ``last_epoch_error``, ``epochs``, ``seconds``, ``seed`` and ``hidden``. None if the run
        has not finished (``metrics.csv`` short of the configured epochs) or is unreadable.
    """
    from segdend.analysis.stats import summarise
    from segdend.config import load_config
    from segdend.evaluate import read_repeated_tests

    if not (run_dir / "config.toml").is_file():
        return None
    try:
        config = load_config(run_dir / "config.toml")
        rows = read_rows(run_dir / "metrics.csv")
    except SegdendError:
        return None
    if not rows or rows[-1].get("epoch") != str(config.train.epochs):
        return None
    last = float(rows[-1]["test_error"])
    record: dict[str, Any] = {"last_epoch_error": last, "epochs": config.train.epochs,
                              "seconds": parse_number(rows[-1].get("seconds", "")),
                              "seed": config.seed, "hidden": list(config.model.hidden)}
    try:
        errors = read_repeated_tests(run_dir)
    except DataError:
        record.update({"mean": last, "min": last, "max": last, "sd": 0.0, "n": 1,
                       "repeated": False})
        return record
    record.update({**summarise(errors), "repeated": True})
    return record


def sweep_runs(folder: Path) -> tuple[Path | None, list[Any]]:
    """The sweep file of a sweep folder and its runs.

    Parameters
    ----------
    folder : path
        A sweep folder such as ``results/seeds``: a ``*.toml`` sweep file and the run
        directories it expands to.

    Returns
    -------
    tuple
        The first ``*.toml`` (by name) and its :class:`segdend.sweep.SweepRun` list, with run
        directories under ``folder``; ``(None, [])`` if there is no sweep file.
    """
    from segdend.sweep import load_sweep

    files = sorted(folder.glob("*.toml"))
    if not files:
        return None, []
    return files[0], load_sweep(files[0], folder)
