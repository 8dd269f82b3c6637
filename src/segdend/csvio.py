"""CSV files that may be gzip-compressed: one way to write them and one way to open them.

Large source-data files (``Fig_7A.csv`` has 600,000 rows at full scale) are written as
``NAME.csv.gz`` once they exceed :data:`GZIP_ROWS` data rows. The compression is deterministic
(no file name, modification time 0), so regenerating a file gives identical bytes. Every reader
goes through :func:`open_csv` or :func:`resolve_csv`, which accept either ``NAME.csv`` or
``NAME.csv.gz`` whichever of the two exists.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import TextIO

import numpy as np

from segdend.errors import DataError

GZIP_ROWS = 20_000
"""Data rows above which a CSV is written gzip-compressed."""
GZ = ".gz"


def plain_name(name: str) -> str:
    """``Fig_7A.csv.gz`` → ``Fig_7A.csv`` (names in tables and summaries)."""
    return name[: -len(GZ)] if name.endswith(GZ) else name


def is_csv(path: Path) -> bool:
    """Whether ``path`` is named ``*.csv`` or ``*.csv.gz``."""
    return Path(path).name.endswith((".csv", ".csv.gz"))


def resolve_csv(path: Path) -> Path:
    """The existing file behind ``path``: ``X.csv`` or else ``X.csv.gz`` (or the reverse).

    Raises
    ------
    DataError
        If neither form exists.
    """
    path = Path(path)
    plain = path.with_name(plain_name(path.name))
    packed = plain.with_name(plain.name + GZ)
    for candidate in (path, plain, packed):
        if candidate.is_file():
            return candidate
    raise DataError(f"'{plain}' is missing (neither {plain.name} nor {packed.name} exists)")


def open_csv(path: Path) -> TextIO:
    """Open a CSV for reading as text, gzip-compressed or not (see :func:`resolve_csv`)."""
    found = resolve_csv(path)
    try:
        if found.name.endswith(GZ):
            return gzip.open(found, "rt", encoding="utf-8", newline="")
        return open(found, encoding="utf-8", newline="")
    except OSError as error:
        raise DataError(f"'{found}' is unreadable: {error.strerror or error}") from None


def read_text(path: Path) -> str:
    """The whole text of a CSV, gzip-compressed or not."""
    try:
        with open_csv(path) as handle:
            return handle.read()
    except (OSError, EOFError, UnicodeDecodeError) as error:
        raise DataError(f"'{path}' is unreadable: {error}") from None


def load_table(path: Path, **kwargs: object) -> np.ndarray:
    """``np.loadtxt`` of a CSV with a header row (comma-separated, at least 2-D).

    Raises
    ------
    DataError
        If the file is missing or malformed.
    """
    try:
        text = read_text(path)
        return np.loadtxt(io.StringIO(text), delimiter=",", skiprows=1, ndmin=2, **kwargs)
    except (OSError, ValueError, DataError) as error:
        raise DataError(f"'{path}' is missing or malformed: {error}") from None


def count_rows(path: Path) -> int:
    """Data rows (lines after the header) of a CSV, gzip-compressed or not."""
    with open_csv(path) as handle:
        return max(sum(1 for _ in handle) - 1, 0)


def csv_files(folder: Path) -> list[Path]:
    """The CSVs of a folder, ``*.csv`` and ``*.csv.gz``, sorted by their plain name."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.is_file() and is_csv(p)),
                  key=lambda p: (plain_name(p.name), p.name))


def encode(text: str, compress: bool) -> bytes:
    """The bytes of a CSV file: UTF-8, gzip-compressed deterministically if ``compress``."""
    data = text.encode("utf-8")
    return gzip.compress(data, compresslevel=9, mtime=0) if compress else data
