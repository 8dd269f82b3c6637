"""Two reproductions compared number by number: does a new one give the committed results?

Runs are deterministic (counter-based random numbers, DESIGN.md), so a reproduction made again,
here or on another machine, must give the same source-data CSVs, the same numbers in every
``summary.json``, and the same ``metrics.csv``, ``quick_tests.csv`` and ``repeated_tests.csv`` in
every run as the folder it is compared with. What measures time cannot agree and is left out:
``timings.csv``, ``events.jsonl``, the columns and keys named in :data:`TIME_FIELDS`, and the
documents made from them (``summary.md``, PNGs, reports).

``segdend compare MINE results/mnist-full`` prints the differences; a reproduction of one figure
is compared where it overlaps the other folder, and the files found on one side only are counted.
"""

from __future__ import annotations

import csv
import io
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from segdend.csvio import plain_name, read_text
from segdend.errors import ConfigError, DataError

TIME_FIELDS = frozenset({"seconds", "cpu_seconds", "wall_seconds", "figure_seconds",
                         "train_seconds", "started", "time", "timing"})
"""CSV columns and JSON/TOML keys that measure time (or when): never compared."""
SKIPPED_FILES = frozenset({"timings.csv"})
COMPARED_SUFFIXES = (".csv", ".csv.gz", ".json", ".toml")
RUN_CONFIG = "config.toml"
"""A run's resolved configuration: compared with the defaults of keys it lacks filled in."""


@dataclass
class Comparison:
    """What :func:`compare_folders` found.

    Attributes
    ----------
    compared : list of str
        Files present in both folders and compared (paths relative to the folders, ``.csv.gz``
        written as ``.csv``).
    differences : dict of str to str
        For each compared file that differs, the first difference in words.
    only_in_first, only_in_second : list of str
        Files found in one folder only.
    """

    compared: list[str] = field(default_factory=list)
    differences: dict[str, str] = field(default_factory=dict)
    only_in_first: list[str] = field(default_factory=list)
    only_in_second: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        """Whether at least one file was compared and none differs."""
        return bool(self.compared) and not self.differences

    def lines(self, first: str = "first", second: str = "second") -> list[str]:
        """A report, one line per finding (names of the two folders as given)."""
        same = len(self.compared) - len(self.differences)
        lines = [f"compared {len(self.compared)} files: {same} identical, "
                 f"{len(self.differences)} differ"]
        lines += [f"differs  {name}: {what}" for name, what in self.differences.items()]
        for label, names in ((first, self.only_in_first), (second, self.only_in_second)):
            if names:
                shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
                files = "1 file" if len(names) == 1 else f"{len(names)} files"
                lines.append(f"only in {label} ({files}): {shown}")
        return lines


def compare_folders(first: str | Path, second: str | Path, *, rtol: float = 0.0) -> Comparison:
    """Compare two reproduction folders (or two run directories) number by number.

    Parameters
    ----------
    first, second : path-like
        Folders written by ``segdend reproduce`` (or ``train``); sub-folders are compared too.
    rtol : float, default 0
        Relative tolerance for numbers; 0 asks for the same digits.

    Returns
    -------
    Comparison

    Raises
    ------
    DataError
        If a folder does not exist, or a file in it is unreadable.
    """
    files = [_comparable_files(Path(folder)) for folder in (first, second)]
    result = Comparison()
    for name in sorted(files[0].keys() | files[1].keys()):
        if name not in files[1]:
            result.only_in_first.append(name)
        elif name not in files[0]:
            result.only_in_second.append(name)
        else:
            result.compared.append(name)
            difference = _compare_file(files[0][name], files[1][name], rtol)
            if difference:
                result.differences[name] = difference
    return result


def _comparable_files(folder: Path) -> dict[str, Path]:
    """CSV, JSON and TOML files under ``folder`` by relative plain name, time records left out."""
    if not folder.is_dir():
        raise DataError(f"'{folder}' is not a folder")
    found = {}
    for path in sorted(folder.rglob("*")):
        if (path.is_file() and path.name.endswith(COMPARED_SUFFIXES)
                and path.name not in SKIPPED_FILES):
            found[plain_name(path.relative_to(folder).as_posix())] = path
    return found


def _compare_file(first: Path, second: Path, rtol: float) -> str | None:
    """The first difference between two files of the same kind, in words; None if none."""
    if first.name == RUN_CONFIG:
        return _first_difference(_load_run_config(first), _load_run_config(second), "", rtol)
    if first.name.endswith((".json", ".toml")):
        return _first_difference(_load_tree(first), _load_tree(second), "", rtol)
    return _compare_csv(first, second, rtol)


def _load_run_config(path: Path) -> Any:
    """A run's ``config.toml`` resolved, defaults filled in: a key that a later segdend writes
    out at its default (such as ``record.voltage_every``) is the same configuration as that key
    absent from a run written before it existed. A file this segdend cannot read as a config
    is compared as it is written."""
    from segdend.config import load_config

    try:
        return load_config(path).model_dump(mode="json")
    except ConfigError:
        return _load_tree(path)


def _load_tree(path: Path) -> Any:
    """A JSON or TOML file as Python data."""
    try:
        if path.suffix == ".toml":
            return tomllib.loads(path.read_text(encoding="utf-8"))
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DataError(f"'{path}' is unreadable: {error}") from None


def _first_difference(a: Any, b: Any, where: str, rtol: float) -> str | None:
    """Where two JSON/TOML trees first differ (time keys left out)."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = (a.keys() | b.keys()) - TIME_FIELDS
        for key in sorted(keys, key=str):
            if key not in a or key not in b:
                return f"key {where}{key} is in one file only"
            found = _first_difference(a[key], b[key], f"{where}{key}.", rtol)
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{where.rstrip('.') or 'the list'} has {len(a)} vs {len(b)} items"
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            found = _first_difference(x, y, f"{where}{index}.", rtol)
            if found:
                return found
        return None
    if _same_value(a, b, rtol):
        return None
    return f"{where.rstrip('.')}: {a!r} vs {b!r}"


def _same_value(a: Any, b: Any, rtol: float) -> bool:
    """Equal, the same number written differently, or numbers within ``rtol`` (NaN equals NaN:
    an undefined value in both)."""
    if a == b:
        return True
    x, y = _number(a), _number(b)
    if x is None or y is None:
        return False
    if math.isnan(x) and math.isnan(y):
        return True
    return x == y or (rtol > 0 and math.isclose(x, y, rel_tol=rtol))


def _number(value: Any) -> float | None:
    """A number, or a string that reads as one; None otherwise (booleans included)."""
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _compare_csv(first: Path, second: Path, rtol: float) -> str | None:
    """The first differing cell of two CSVs (columns in TIME_FIELDS left out)."""
    tables = [_read_csv(path) for path in (first, second)]
    headers = [table[0] if table else [] for table in tables]
    if headers[0] != headers[1]:
        return f"columns differ: {headers[0]} vs {headers[1]}"
    rows = [table[1:] for table in tables]
    common = min(len(rows[0]), len(rows[1]))
    kept = [i for i, name in enumerate(headers[0]) if name not in TIME_FIELDS]
    differing = [n for n, (row_a, row_b) in enumerate(zip(*(r[:common] for r in rows), strict=True))
                 if _row_differs(row_a, row_b, kept, rtol)]
    lengths = (f"{len(rows[0])} vs {len(rows[1])} rows" if len(rows[0]) != len(rows[1])
               else f"{common} rows")
    if not differing:
        return None if len(rows[0]) == len(rows[1]) else f"{lengths}, the first {common} identical"
    row = differing[0]
    column = next(i for i in kept if not _same_value(_cell(rows[0][row], i),
                                                     _cell(rows[1][row], i), rtol))
    return (f"{lengths}, {len(differing)} of the first {common} differ; first row {row + 1}, "
            f"column {headers[0][column]}: {_cell(rows[0][row], column)} vs "
            f"{_cell(rows[1][row], column)}")


def _row_differs(a: list[str], b: list[str], columns: list[int], rtol: float) -> bool:
    """Whether two CSV rows differ in any of ``columns``."""
    return any(not _same_value(_cell(a, i), _cell(b, i), rtol) for i in columns)


def _cell(row: list[str], index: int) -> str:
    """A cell of a row, '' where the row is short."""
    return row[index] if index < len(row) else ""


def _read_csv(path: Path) -> list[list[str]]:
    """All rows of a CSV (gzip-compressed or not), header first."""
    try:
        return list(csv.reader(io.StringIO(read_text(path))))
    except csv.Error as error:
        raise DataError(f"'{path}' is unreadable: {error}") from None
