"""Fuzzing (hypothesis): readers and parsers give only their documented clean errors.

Every target must either succeed with a well-formed result or raise the documented one-line error
(DataError, ConfigError, or a CLI exit status of 2) - never another exception, a hang or a wrong
shape passed on.
"""

import contextlib
import gzip
import io
import string
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segdend.cli import main
from segdend.config import Config, build_config
from segdend.data.dataset import load_npz_dataset
from segdend.data.idx import encode_idx, parse_idx, read_idx
from segdend.errors import ConfigError, DataError
from segdend.model.params import load_params

FUZZ = settings(max_examples=400, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
VALID_IDX = encode_idx(np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5))


def _check_idx(data: bytes) -> None:
    try:
        array = parse_idx(data, "fuzz")
    except DataError as error:
        assert "\n" not in str(error)
        return
    assert array.dtype == np.uint8
    assert len(data) == 4 + 4 * array.ndim + array.size


@FUZZ
@given(st.binary(max_size=300))
def test_idx_reader_on_arbitrary_bytes(data):
    _check_idx(data)


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(VALID_IDX) - 1), st.integers(0, 255)), max_size=6),
       st.integers(0, len(VALID_IDX)))
def test_idx_reader_on_mutated_files(edits, cut):
    data = bytearray(VALID_IDX)
    for position, value in edits:
        data[position] = value
    _check_idx(bytes(data[:cut]))


@FUZZ
@given(st.binary(max_size=200), st.booleans())
def test_idx_reader_on_gzip_files(payload, truncate):
    blob = gzip.compress(VALID_IDX[:4] + payload)
    if truncate:
        blob = blob[: len(blob) // 2]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.gz"
        path.write_bytes(blob)
        try:
            array = read_idx(path)
        except DataError:
            return
        assert array.dtype == np.uint8


@FUZZ
@given(st.binary(max_size=400))
def test_npz_loaders_on_arbitrary_bytes(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.npz"
        path.write_bytes(data)
        for loader in (load_npz_dataset, load_params):
            with contextlib.suppress(DataError):
                loader(path)


_dtypes = st.sampled_from([np.uint8, np.int64, np.float64, np.float32, np.bool_, np.int8])
_shapes = st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple)


@FUZZ
@given(st.dictionaries(st.sampled_from(["x_train", "y_train", "x_test", "y_test", "other"]),
                       st.tuples(_dtypes, _shapes), max_size=5),
       st.integers(-300, 300))
def test_npz_dataset_loader_on_random_arrays(spec, fill):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.npz"
        arrays = {}
        for name, (dtype, shape) in spec.items():
            with np.errstate(over="ignore"), contextlib.suppress(OverflowError):
                arrays[name] = np.full(shape, fill).astype(dtype)
        np.savez(path, **arrays)
        try:
            data = load_npz_dataset(path)
        except DataError:
            return
        assert data.train_images.ndim == 2 and data.train_images.dtype == np.uint8
        assert data.train_labels.shape == (data.train_images.shape[0],)
        assert data.test_images.shape[1] == data.train_images.shape[1]
        assert data.train_labels.min(initial=0) >= 0 and data.train_labels.max(initial=0) <= 9


_keys = st.sampled_from([
    "seed", "engine", "model.hidden", "model.mode", "model.feedback", "model.apical_conductance",
    "train.epochs", "train.examples", "train.learning_rates", "test.examples", "phases.window",
    "model.kernel_steps", "model.init.spread", "model.units_per_class", "bogus", "model.bogus",
    "model", "phases.settling", "model.plateau_window", "record.losses",
])
_values = st.one_of(
    st.integers(-10**6, 10**6), st.floats(allow_nan=True), st.booleans(),
    st.text(alphabet=string.printable, max_size=12),
    st.lists(st.integers(-5, 1000), max_size=4), st.sampled_from(["[]", "[500, 100]", "none"]),
)


@FUZZ
@given(st.lists(st.tuples(_keys, _values), max_size=5))
def test_config_overrides(pairs):
    overrides = [f"{key}={value}" for key, value in pairs]
    try:
        config = build_config("code", overrides=overrides)
    except ConfigError as error:
        assert "\n" not in str(error)
        return
    assert isinstance(config, Config)
    assert len(config.learning_rates()) == len(config.model.hidden) + 1


@FUZZ
@given(st.text(max_size=300))
def test_config_files_with_arbitrary_text(text):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.toml"
        path.write_text(text)
        try:
            build_config("paper", [path])
        except ConfigError as error:
            assert "\n" not in str(error)


@FUZZ
@given(st.dictionaries(_keys, _values, max_size=4))
def test_config_files_with_random_tables(table):
    lines = []
    for key, value in table.items():
        rendered = repr(value).lower() if isinstance(value, bool) else repr(value)
        lines.append(f'"{key}" = {rendered}' if "." in key else f"{key} = {rendered}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.toml"
        path.write_text("\n".join(lines))
        try:
            build_config("code", [path])
        except ConfigError as error:
            assert "\n" not in str(error)


_words = st.sampled_from([
    "--set", "--preset", "--config", "code", "paper", "model.hidden=[5]", "seed=-1", "x=y",
    "--bogus", "model.mode=rate", "=", "", "--set=", "train.epochs=0", "missing.toml",
])


@FUZZ
@given(st.lists(st.one_of(_words, st.text(max_size=8)), max_size=6))
def test_cli_arguments(words):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(["config", *words])
        except SystemExit as exit_:  # argparse's usage errors
            status = exit_.code
    assert status in (0, 2), err.getvalue()
    assert "Traceback" not in err.getvalue()
