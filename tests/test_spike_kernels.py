"""The fast engine's compiled spike generation draws the counts of ``rng.poisson_counts``."""

from __future__ import annotations

import math

import numpy as np
import pytest

from segdend import rng
from segdend.engines import kernels, spikes


def _sigmoid(v: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-v))


def _hidden(key: int, v: np.ndarray, max_rate: float) -> np.ndarray:
    n = v.size
    scratch = np.zeros((4, n + 32), np.float32)
    candidates = np.zeros(n + 16, np.int32)
    idx = np.zeros(n, np.int64)
    count = np.zeros(n, np.int64)
    n_spikes = spikes.hidden_spikes(np.uint64(key), v, n, max_rate, scratch, candidates, idx,
                                    count)
    out = np.zeros(n, np.int64)
    out[idx[:n_spikes]] = count[:n_spikes]
    assert np.all(np.diff(idx[:n_spikes]) > 0), "spikes must be listed in increasing order"
    assert np.all(count[:n_spikes] > 0)
    return out


@pytest.mark.parametrize("max_rate", [0.2, 1.0, 3.0, 30.0])
def test_hidden_spikes_equal_the_reference_counts(max_rate):
    generator = np.random.default_rng(5)
    v = generator.normal(0.0, 4.0, 500)
    v[:6] = [np.inf, -np.inf, 800.0, -800.0, 0.0, 40.0]
    multi = 0
    for step in range(400):
        key = rng.derive_key(11, 1, step)
        expected = rng.poisson_counts(key, max_rate * _sigmoid(v))
        np.testing.assert_array_equal(_hidden(key, v, max_rate), expected)
        multi += int((expected >= 2).sum())
    assert multi > 50  # the exactly computed cases were exercised


def test_hidden_spikes_near_a_bound_and_nan_potentials():
    """Potentials whose rate puts u right at e^{−r} take the exact path and still agree."""
    n = 64
    key = rng.derive_key(2, 7)
    u = rng.uniforms(key, n)
    # r = −ln u makes u = e^{−r} up to rounding: the decision is made by the exact inversion
    rate = np.clip(-np.log(u), 1e-6, 0.19)
    v = -np.log(0.2 / rate - 1.0)
    v[::7] = np.nan
    expected = rng.poisson_counts(key, 0.2 * _sigmoid(v))
    np.testing.assert_array_equal(_hidden(key, v, 0.2), expected)
    assert expected[::7].sum() == 0


@pytest.mark.parametrize("side", [-1.0, 1.0])
def test_hidden_spikes_at_the_candidate_bound(side):
    """A uniform number a hair above or below e^{−φ_max} rounds to the same float32 as the bound:
    the neuron must be kept as a candidate and get its exact count (1 or 0 at the full rate)."""
    n = 48
    for step in range(20):
        key = rng.derive_key(9, 3, step)
        u = rng.uniforms(key, n)
        j = step % n
        max_rate = -math.log(u[j] * (1.0 + side * 1e-12))  # e^{−φ_max} just above/below u_j
        assert (u[j] < math.exp(-max_rate)) == (side > 0)
        assert np.float32(u[j]) == np.float32(math.exp(-max_rate))
        v = np.full(n, np.inf)  # rate φ_max
        v[(j + 1) % n :: 2] = 2.0
        expected = rng.poisson_counts(key, max_rate * _sigmoid(v))
        assert expected[j] == (0 if side > 0 else 1)
        np.testing.assert_array_equal(_hidden(key, v, max_rate), expected)


@pytest.mark.parametrize("scale", [0.2, 4.0])
def test_input_spikes_equal_the_reference_counts(scale):
    image = np.random.default_rng(3).uniform(0.0, 1.0, 784)
    image[image < 0.6] = 0.0
    idx, rates, p0 = kernels.sparse_image(image, scale)
    thresholds = spikes.input_thresholds(rates, p0)
    n = idx.size
    many = 0
    for step in range(300):
        key = rng.derive_key(4, 0, step)
        counts, selected = np.zeros(n + 16, np.int32), np.zeros(n + 16, np.int32)
        s_idx = np.zeros(n, np.int64)
        s_count = np.zeros(n, np.int64)
        n_spikes = spikes.input_spikes(np.uint64(key), idx, rates, p0, thresholds, counts,
                                       selected, s_idx, s_count)
        got = np.zeros(784, np.int64)
        got[s_idx[:n_spikes]] = s_count[:n_spikes]
        expected = rng.poisson_counts(key, scale * image)
        np.testing.assert_array_equal(got, expected)
        many += int((expected >= spikes.INPUT_THRESHOLDS).sum())
    if scale > 1.0:
        assert many > 100  # counts beyond the stored thresholds were inverted exactly


def test_exp_vector_is_accurate_to_rounding():
    x = np.concatenate([np.linspace(-708.0, 708.0, 100_001), [-1e-300, 0.0, 1e-300]])
    got = np.array([spikes.exp_vector(value) for value in x[::50]])
    np.testing.assert_allclose(got, np.exp(x[::50]), rtol=1e-15, atol=0.0)
    assert spikes.exp_vector(1e6) == spikes.exp_vector(708.0)
    assert spikes.exp_vector(-1e6) == spikes.exp_vector(-708.0) > 0.0
    assert math.isclose(spikes.exp_vector(1.0), math.e, rel_tol=1e-15)
    assert math.isnan(spikes.exp_vector(math.nan))
    assert math.isnan(spikes.sigmoid_vector(math.nan))
    v = np.linspace(-40.0, 40.0, 801)
    np.testing.assert_allclose([spikes.sigmoid_vector(x) for x in v], _sigmoid(v), rtol=1e-15)


def test_float32_cdf_error_is_far_inside_the_decision_margin():
    """The float32 CDF values that decide most hidden-neuron counts are accurate to well within
    MARGIN_FLOAT32, for any potential and maximal rate (draws inside the margin are exact)."""
    v = np.concatenate([np.linspace(-100.0, 100.0, 4001), [-1e30, 1e30, np.inf, -np.inf]])
    worst = 0.0
    for max_rate in (0.05, 0.2, 1.0, 3.0, 30.0, 300.0):
        rate = max_rate * _sigmoid(v)
        exact = np.exp(-rate)[:, None] * np.cumsum(
            [rate**k / math.factorial(k) for k in range(4)], axis=0).T
        got = np.array([spikes.poisson_cdf_float32(x, np.float32(max_rate)) for x in v],
                       dtype=np.float64)
        worst = max(worst, float(np.max(np.abs(got - exact))))
    assert worst < float(spikes.MARGIN_FLOAT32) / 10, worst


def test_exp_float32_relative_error():
    x = np.linspace(-80.0, 80.0, 20_001, dtype=np.float32)
    got = np.array([spikes.exp_float32(value) for value in x], dtype=np.float64)
    np.testing.assert_allclose(got, np.exp(x.astype(np.float64)), rtol=1e-6, atol=0.0)
    assert spikes.exp_float32(np.float32(1e9)) == spikes.exp_float32(np.float32(80.0))


@pytest.mark.parametrize("dtype", [np.float32, np.int32])
def test_select_at_least16_vector_and_scalar_forms_agree(dtype):
    """The vector form keeps exactly the indices of the values at or above the threshold, in
    order (float32 with NaN, or int32); its scalar twin (for an LLVM without vector compress)
    agrees."""
    from segdend.engines import simd

    generator = np.random.default_rng(3)
    n = 800
    if dtype == np.float32:
        values = generator.uniform(0.0, 1.0, n).astype(np.float32)
        values[::37] = np.nan
        threshold = np.float32(math.exp(-0.2))
        values[5] = threshold  # the bound itself is kept
    else:
        values = generator.poisson(0.2, n).astype(np.int32)
        threshold = np.int32(1)
    keep = np.nonzero(values >= threshold)[0]
    assert 5 in keep or dtype == np.int32
    for select in (simd.select_at_least16_compiled, simd.select_at_least16_scalar):
        idx = np.zeros(n + 16, np.int32)
        count = 0
        for start in range(0, n, 16):
            count += select(values, start, threshold, idx, count)
        assert count == keep.size > 100
        np.testing.assert_array_equal(idx[:count], keep)


def test_compiled_keys_equal_rng_keys():
    """The engines derive an example's key from a prefix in compiled code: the same keys."""
    from segdend.engines import counters

    prefix = np.uint64(rng.derive_key(7, rng.STREAM_TEST, 9, 1))
    parts = np.array([0, 1, 2, 59_999, 2**40], dtype=np.int64)
    expected = [rng.derive_key(7, rng.STREAM_TEST, 9, 1, int(part)) for part in parts]
    np.testing.assert_array_equal(counters.extend_keys(prefix, parts),
                                  np.array(expected, dtype=np.uint64))
    assert counters.derive_key3(5, 1, 17) == rng.derive_key(5, 1, 17)
    assert counters.derive_key2(5, 1) == rng.derive_key(5, 1)
