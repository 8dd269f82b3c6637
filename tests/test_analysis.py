"""Analyses on cases with known answers."""

import numpy as np
import pytest
from scipy import stats

from segdend.analysis.angles import sliding_mean, update_angle
from segdend.analysis.correlation import (
    loss_correlation,
    max_field_correlations,
    pearson,
    per_category_correlation,
    shuffled_fields,
)
from segdend.analysis.jacobian import (
    condition_eigenvalue,
    eigenvalue_mean_of_products,
    eigenvalue_product_of_means,
    jacobians,
)
from segdend.analysis.stats import compare, summarise


def test_angles_of_identical_and_opposite_updates():
    rng = np.random.default_rng(0)
    v = rng.normal(size=500)
    assert update_angle(v, v) == pytest.approx(0.0, abs=1e-5)
    assert update_angle(v, -v) == pytest.approx(180.0, abs=1e-5)
    assert update_angle(np.array([1.0, 0.0]), np.array([1.0, 1.0])) == pytest.approx(45.0)


def test_sliding_mean_over_100_images():
    values = np.arange(300, dtype=float)
    smooth = sliding_mean(values, 100)
    assert smooth[0] == 0.0 and smooth[9] == pytest.approx(4.5)
    assert smooth[150] == pytest.approx(np.mean(values[51:151]))


def test_t_tests_and_bonferroni_match_scipy():
    rng = np.random.default_rng(1)
    groups = {"regular": rng.normal(4.1, 0.05, 20), "sparse": rng.normal(3.7, 0.05, 20),
              "symmetric": rng.normal(3.6, 0.05, 20)}
    results = compare(groups)
    assert [(r["a"], r["b"]) for r in results] == [
        ("regular", "sparse"), ("regular", "symmetric"), ("sparse", "symmetric")]
    for r in results:
        t, p = stats.ttest_ind(groups[r["a"]], groups[r["b"]])
        assert r["t"] == pytest.approx(t) and r["p"] == pytest.approx(p)
        assert r["p_corrected"] == pytest.approx(min(1.0, 3 * p)) and r["df"] == 38
    assert results[0]["t"] > 0  # the first-named network has the higher error
    two = compare({"a": groups["regular"], "b": groups["sparse"]})
    assert two[0]["p_corrected"] == two[0]["p"] and not two[0]["corrected"]
    s = summarise(groups["regular"])
    assert s["n"] == 20 and s["min"] <= s["mean"] <= s["max"]


def test_eigenvalue_of_a_constructed_jacobian_pair():
    j_beta, j_gamma = 2.0 * np.eye(10), 0.25 * np.eye(10)  # J_β J_γ = I/2
    assert condition_eigenvalue(j_beta @ j_gamma) == pytest.approx(0.25)
    # Product of means against mean of products on a pair where they differ.
    betas = [np.diag([1.0, 0.0]), np.diag([0.0, 1.0])]
    gammas = [np.diag([1.0, 0.0]), np.diag([0.0, 1.0])]
    # mean of products = I/2 → (1/2)² = 0.25; product of means = I/4 → (3/4)² = 0.5625
    assert eigenvalue_mean_of_products(betas, gammas) == pytest.approx(0.25)
    assert eigenvalue_product_of_means(betas, gammas) == pytest.approx(0.5625)


def test_jacobians_scale_the_rows_of_w_and_y():
    rng = np.random.default_rng(2)
    w1, y = rng.normal(size=(10, 30)), rng.normal(size=(30, 10))
    soma = rng.normal(size=10)
    j_beta, j_gamma = jacobians(w1, y, soma, k_d=0.857, max_rate=0.2)
    s = 1 / (1 + np.exp(-soma))
    assert np.allclose(j_beta[3], 0.2 * s[3] * (1 - s[3]) * 0.857 * w1[3])
    a = y @ (0.2 * s)
    sa = 1 / (1 + np.exp(-a))
    assert np.allclose(j_gamma[7], sa[7] * (1 - sa[7]) * y[7])


def test_correlations_on_fixed_data():
    assert pearson([1, 2, 3, 4], [2, 4, 6, 8]) == pytest.approx(1.0)
    assert pearson([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert pearson([1, 2, 3], [1, 3, 2]) == pytest.approx(0.5)
    rng = np.random.default_rng(3)
    hidden = rng.normal(size=2000)
    output = hidden + 0.5 * rng.normal(size=2000)
    real, shuffled = loss_correlation(hidden, output, rng)
    assert real == pytest.approx(stats.pearsonr(hidden, output)[0])
    assert real > 0.85 and abs(shuffled) < 0.1
    labels = np.arange(2000) % 10
    per_real, per_shuffled = per_category_correlation(hidden, output, labels, rng)
    assert per_real.shape == (10,) and (per_real > per_shuffled).all()


def test_receptive_field_correlations_against_shuffled():
    rng = np.random.default_rng(4)
    reference = rng.normal(size=(50, 784))
    local = reference[:20] + 0.3 * rng.normal(size=(20, 784))
    best = max_field_correlations(local, reference)
    expected = [max(stats.pearsonr(local[i], r)[0] for r in reference) for i in range(20)]
    assert np.allclose(best, expected)
    control = max_field_correlations(shuffled_fields(local, rng), reference)
    assert (best > 0.9).all() and (control < 0.3).all()
