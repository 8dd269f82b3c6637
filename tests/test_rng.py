"""Counter-based random numbers: deterministic, key-sensitive, correctly distributed."""

import numpy as np

from segdend import rng


def test_uniforms_are_a_pure_function_of_the_key():
    key = rng.derive_key(1, 2, 3)
    assert np.array_equal(rng.uniforms(key, 100), rng.uniforms(key, 100))
    assert not np.array_equal(rng.uniforms(key, 100), rng.uniforms(rng.derive_key(1, 2, 4), 100))
    # A longer draw extends a shorter one: neuron j's number does not depend on the layer size.
    assert np.array_equal(rng.uniforms(key, 10), rng.uniforms(key, 50)[:10])


def test_derive_key_is_order_sensitive():
    assert rng.derive_key(1, 2) != rng.derive_key(2, 1)


def test_uniforms_are_uniform():
    u = np.concatenate([rng.uniforms(rng.derive_key(7, i), 1000) for i in range(200)])
    assert u.min() >= 0.0 and u.max() < 1.0
    hist, _ = np.histogram(u, bins=20, range=(0, 1))
    expected = u.size / 20
    chi2 = ((hist - expected) ** 2 / expected).sum()
    assert chi2 < 45  # 19 degrees of freedom; p < 0.001 would be 43.8


def test_poisson_counts_have_the_right_mean_and_variance():
    rate = np.full(200_000, 0.2)
    counts = rng.poisson_counts(rng.derive_key(3), rate)
    assert abs(counts.mean() - 0.2) < 0.005
    assert abs(counts.var() - 0.2) < 0.005
    assert counts.max() >= 2  # several spikes per step are possible (PAPER.md §1.2)


def test_zero_rate_gives_no_spikes():
    assert rng.poisson_counts(rng.derive_key(3), np.zeros(1000)).sum() == 0


def test_generator_is_keyed():
    a = rng.generator(1, 2).uniform(size=5)
    b = rng.generator(1, 2).uniform(size=5)
    c = rng.generator(1, 3).uniform(size=5)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
