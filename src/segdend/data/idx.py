"""Reader and writer of the IDX format of MNIST (raw or gzip-compressed), with validation."""

from __future__ import annotations

import gzip
import io
import struct
import zlib
from pathlib import Path

import numpy as np

from segdend.errors import DataError

_UBYTE = 0x08
_MAX_ITEMS = 10_000_000
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"IDX file '{path}' does not exist") from None
    except OSError as error:
        raise DataError(f"IDX file '{path}' cannot be read: {error.strerror}") from None
    if raw[:2] == _GZIP_MAGIC:
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise DataError(
                f"IDX file '{path}' is a corrupt or truncated gzip file: {error}"
            ) from None
    return raw


def parse_idx(data: bytes, name: str = "<bytes>", ndim: int | None = None) -> np.ndarray:
    """Parse IDX bytes into a uint8 array, checking the magic number, dimensions and size."""
    if len(data) < 4:
        raise DataError(f"IDX file '{name}' is truncated: {len(data)} bytes, no header")
    zero1, zero2, dtype, dims = data[0], data[1], data[2], data[3]
    if zero1 != 0 or zero2 != 0 or dtype != _UBYTE or not 1 <= dims <= 4:
        raise DataError(
            f"IDX file '{name}' has magic number 0x{data[:4].hex()}, expected 0x000008 followed "
            "by 1-4 dimensions (unsigned bytes)"
        )
    if ndim is not None and dims != ndim:
        raise DataError(f"IDX file '{name}' has {dims} dimensions, expected {ndim}")
    header = 4 + 4 * dims
    if len(data) < header:
        raise DataError(f"IDX file '{name}' is truncated inside its header")
    shape = struct.unpack(f">{dims}I", data[4:header])
    count = int(np.prod(shape, dtype=np.int64))
    if shape[0] == 0 or count > _MAX_ITEMS * 784:
        raise DataError(f"IDX file '{name}' declares an implausible shape {shape}")
    payload = len(data) - header
    if payload < count:
        raise DataError(
            f"IDX file '{name}' is truncated: {payload} data bytes, expected {count} for {shape}"
        )
    if payload > count:
        raise DataError(
            f"IDX file '{name}' has {payload - count} bytes of trailing data after shape {shape}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()


def read_idx(path: Path, ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (raw or .gz) as a uint8 array."""
    path = Path(path)
    return parse_idx(_read_bytes(path), str(path), ndim)


def encode_idx(array: np.ndarray) -> bytes:
    """IDX bytes of a uint8 array."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, _UBYTE, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as IDX (gzip-compressed if the name ends in .gz)."""
    data = encode_idx(array)
    path = Path(path)
    if path.suffix == ".gz":
        buffer = io.BytesIO()
        with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as handle:
            handle.write(data)
        data = buffer.getvalue()
    path.write_bytes(data)
