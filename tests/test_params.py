"""Weight initialisation, feedback variants and parameter files (PAPER.md §2.8)."""

from pathlib import Path

import numpy as np
import pytest

from segdend.errors import DataError
from segdend.model.params import initialise, load_params, save_params, weight_statistics

from .conftest import tiny_config


@pytest.mark.parametrize(
    ("n_inputs", "w_avg", "w_sd"), [(784, 0.0187, 0.505), (500, 0.0293, 0.632), (100, 0.147, 1.41)]
)
def test_weight_statistics_match_the_derived_values(n_inputs, w_avg, w_sd):
    avg, sd = weight_statistics(n_inputs, 0.2, tiny_config().model.init)
    assert avg == pytest.approx(w_avg, abs=5e-4)
    assert sd == pytest.approx(w_sd, abs=5e-3)


@pytest.mark.parametrize(("spread", "factor"), [("head", 2.0), ("intended", 1.0)])
def test_initial_weights_have_the_documented_spread(spread, factor):
    config = tiny_config("model.hidden=[500]", f"model.init.spread={spread}")
    params = initialise(config, 784)
    avg, sd = weight_statistics(784, 0.2, config.model.init)
    assert params.weights[0].mean() == pytest.approx(avg, abs=0.01)
    assert params.weights[0].std() == pytest.approx(factor * sd, rel=0.02)
    assert params.feedback[0].shape == (500, 10)
    assert params.biases[0].mean() == pytest.approx(0.8, abs=1e-3)


def test_initialisation_is_deterministic_in_the_seed():
    a = initialise(tiny_config("seed=1"), 784)
    b = initialise(tiny_config("seed=1"), 784)
    c = initialise(tiny_config("seed=2"), 784)
    assert np.array_equal(a.weights[0], b.weights[0])
    assert not np.array_equal(a.weights[0], c.weights[0])


@pytest.mark.parametrize(("variant", "gain"), [("sparse", 5.0), ("sparse-unamplified", 1.0)])
def test_sparse_feedback_zeroes_80_percent_and_amplifies(variant, gain):
    dense = initialise(tiny_config("model.hidden=[200]"), 784)
    sparse = initialise(tiny_config("model.hidden=[200]", f"model.feedback={variant}"), 784)
    y = sparse.feedback[0]
    assert np.count_nonzero(y == 0) == int(0.8 * y.size)
    survivors = y != 0
    assert np.allclose(y[survivors], gain * dense.feedback[0][survivors])


def test_symmetric_feedback_is_the_transpose_of_the_output_weights():
    params = initialise(tiny_config("model.feedback=symmetric"), 784)
    assert np.array_equal(params.feedback[0], params.weights[1].T)
    noisy = initialise(tiny_config("model.feedback=symmetric-noise"), 784)
    noise = noisy.feedback[0] - noisy.weights[1].T
    assert 0.03 < noise.std() < 0.07


def test_two_hidden_layers_get_separate_broadcast_feedback():
    params = initialise(tiny_config("model.hidden=[30, 20]"), 784)
    assert [y.shape for y in params.feedback] == [(30, 10), (20, 10)]
    assert [w.shape for w in params.weights] == [(30, 784), (20, 30), (10, 20)]


def test_parameter_files_round_trip_and_are_checked(tmp_path: Path):
    params = initialise(tiny_config(), 784)
    path = tmp_path / "p.npz"
    save_params(params, path)
    loaded = load_params(path, [784, 20, 10])
    assert all(np.array_equal(a, b) for a, b in zip(params.weights, loaded.weights, strict=True))
    with pytest.raises(DataError, match=r"array 'W0' has shape \(20, 784\), expected \(30, 784\)"):
        load_params(path, [784, 30, 10])
    arrays = params.arrays()
    del arrays["Y0"]
    np.savez(tmp_path / "q.npz", **arrays)
    with pytest.raises(DataError, match="lacks the array 'Y0'"):
        load_params(tmp_path / "q.npz", [784, 20, 10])
    (tmp_path / "r.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a readable npz"):
        load_params(tmp_path / "r.npz")
