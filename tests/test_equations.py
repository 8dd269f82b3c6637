"""The model's equations, checked one by one against PAPER.md §1–2."""

import math

import numpy as np
import pytest
from scipy import integrate, stats

from segdend.config import build_config
from segdend.engines.base import ExampleSchedule
from segdend.engines.reference import ReferenceEngine
from segdend.model.constants import derive_constants, kernel_peak_time, psp_kernel, sigmoid
from segdend.model.params import initialise
from segdend.train import phase_lengths, plateau_offsets

from .conftest import tiny_config


def test_kernel_has_unit_area_and_peaks_near_5_16_ms():
    area, _ = integrate.quad(lambda t: float(psp_kernel(t, 3.0, 10.0)), 0, 500)
    assert area == pytest.approx(1.0, abs=1e-8)
    grid = np.linspace(0, 30, 300_001)
    peak = grid[np.argmax(psp_kernel(grid, 3.0, 10.0))]
    assert peak == pytest.approx(5.16, abs=0.01)
    assert kernel_peak_time(3.0, 10.0) == pytest.approx(peak, abs=1e-4)


def test_truncated_kernel_carries_about_half_the_area():
    const = derive_constants(build_config("code").model)
    assert const.kernel.shape == (10,)
    assert const.kernel.sum() == pytest.approx(0.51, abs=0.005)  # PAPER.md §8 item 2


def test_untruncated_recurrence_equals_direct_convolution():
    config = tiny_config("model.kernel_steps=none")
    engine = ReferenceEngine(config)
    params = initialise(config, 784)
    state = engine.new_state(params)
    spikes = np.random.default_rng(0).poisson(0.3, size=(80, 784))
    for t in range(80):
        engine._push_spikes(state, 0, spikes[t])
    lags = np.arange(1, 81)
    direct = psp_kernel(lags, 3.0, 10.0) @ spikes[::-1]
    assert np.allclose(engine._trace(state, 0), direct, rtol=1e-12, atol=1e-14)


def _constant_drive_params(config, basal: float, apical: float, output_basal: float):
    params = initialise(config, 784)
    for w in params.weights:
        w[:] = 0.0
    params.biases[0][:] = basal
    params.biases[-1][:] = output_basal
    params.feedback[0][:] = 0.0
    return params, apical


@pytest.mark.parametrize("g_a", [0.0, 0.05, 0.6])
def test_soma_reaches_the_steady_states_k_b_and_k_d(g_a):
    config = tiny_config(f"model.apical_conductance={g_a}")
    engine = ReferenceEngine(config)
    params, _ = _constant_drive_params(config, basal=2.0, apical=0.0, output_basal=-1.5)
    record = engine._run_phase(params, engine.new_state(params), np.zeros(784), None, 1, 0, 200)
    k_b = 0.6 / (0.1 + 0.6 + g_a)  # Eq. 34
    k_d = 0.6 / (0.1 + 0.6)  # Eq. 27
    assert record.soma[0][-1] == pytest.approx(np.full(20, k_b * 2.0), rel=1e-9)
    assert record.soma[1][-1] == pytest.approx(np.full(10, k_d * -1.5), rel=1e-9)
    assert engine.const.k_basal == pytest.approx(k_b)


def test_apical_potential_pulls_the_soma_only_when_coupled():
    for g_a, expect_shift in [(0.0, False), (0.6, True)]:
        config = tiny_config(f"model.apical_conductance={g_a}", "model.feedback_bias=true")
        engine = ReferenceEngine(config)
        params, _ = _constant_drive_params(config, basal=1.0, apical=0.0, output_basal=0.0)
        params.feedback_biases[0][:] = 5.0  # apical potential = 5 (Y = 0, c = 5)
        record = engine._run_phase(params, engine.new_state(params), np.zeros(784), None, 1, 0, 200)
        steady = (0.6 * 1.0 + g_a * 5.0) / (0.1 + 0.6 + g_a)
        assert record.soma[0][-1] == pytest.approx(np.full(20, steady), rel=1e-9)
        assert (abs(steady - 0.6 / 0.7) > 0.5) == expect_shift


@pytest.mark.parametrize(("kernel", "ratio"), [("none", 1.0), ("10", 0.51)])
def test_lemma1_mean_filtered_trace_matches_the_rate(kernel, ratio):
    config = tiny_config(f"model.kernel_steps={kernel}")
    engine = ReferenceEngine(config)
    params = initialise(config, 784)
    rate = 0.2 * 0.5  # pixel 0.5 → 0.1 spikes per step (100 Hz)
    record = engine._run_phase(params, engine.new_state(params), np.full(784, rate), None,
                               12345, 0, 400)
    mean_trace = record.trace_below[0][30:].mean()
    discrete_area = 1.0 if kernel == "none" else engine.const.kernel.sum()
    assert mean_trace == pytest.approx(rate * discrete_area, rel=0.02)
    assert mean_trace / rate == pytest.approx(ratio, abs=0.02)


def test_phase_lengths_are_50_ms_plus_floored_wald_2_1():
    config = build_config("code", overrides=["train.examples=50000"])
    lengths = phase_lengths(config, epoch=0)
    assert lengths.shape == (50000, 2)
    assert lengths.min() >= 50
    extra = (lengths - 50).ravel()
    wald = stats.invgauss(mu=2.0 / 1.0, scale=1.0)  # Wald(mean 2, scale 1)
    edges = np.arange(0, 11)
    expected = np.diff(wald.cdf(edges))
    expected = np.append(expected, 1 - wald.cdf(10)) * extra.size
    observed = np.append(np.bincount(np.minimum(extra, 10), minlength=11)[:10],
                         (extra >= 10).sum())
    chi2 = ((observed - expected) ** 2 / expected).sum()
    assert chi2 < 30  # 10 degrees of freedom; p = 0.001 at 29.6
    assert extra.mean() == pytest.approx(1.5, abs=0.05)  # PAPER.md §2.1 [derived]
    assert lengths.max() < 150


def test_fixed_phase_lengths():
    config = build_config("code", overrides=["phases.random_lengths=false", "train.examples=7"])
    assert (phase_lengths(config, 0) == 50).all()


def _example(config, schedule=None):
    engine = ReferenceEngine(config)
    params = initialise(config, 784)
    state = engine.new_state(params)
    image = np.random.default_rng(1).uniform(size=784)
    target = engine.target_vector(3)
    schedule = schedule or ExampleSchedule(0, 55, 53)
    summary, records = engine.simulate_example(params, state, image, target, schedule,
                                               voltages=True)
    return engine, summary, records


@pytest.mark.parametrize("averaging", ["last-steps", "after-settling"])
def test_plateaus_are_sigmoids_of_the_mean_apical_potential(averaging):
    config = tiny_config(f"phases.averaging={averaging}")
    engine, summary, (fwd, tgt) = _example(config)
    window_f = slice(35, 55) if averaging == "last-steps" else slice(30, 55)
    window_t = slice(33, 53) if averaging == "last-steps" else slice(30, 53)
    assert engine.window(55) == window_f
    assert np.allclose(summary.plateau_forward[0], sigmoid(fwd.apical[0][window_f].mean(0)))
    assert np.allclose(summary.plateau_target[0], sigmoid(tgt.apical[0][window_t].mean(0)))
    assert np.all((summary.plateau_forward[0] > 0) & (summary.plateau_forward[0] < 1))
    assert np.allclose(summary.soma_forward[1], fwd.soma[1][window_f].mean(0))
    assert np.allclose(summary.output_rate_target, tgt.rate[1][window_t].mean(0))


def test_stochastic_plateaus_average_the_window_before_each_neurons_plateau():
    config = tiny_config("model.plateaus=stochastic")
    offsets_f = [np.arange(20) % 6]
    offsets_t = [(np.arange(20) * 7) % 6]
    schedule = ExampleSchedule(0, 55, 53, offsets_f, offsets_t)
    _, summary, (fwd, tgt) = _example(config, schedule)
    for j in range(20):
        end = 55 - offsets_f[0][j]
        assert summary.apical_forward[0][j] == pytest.approx(fwd.apical[0][end - 20:end, j].mean())
        end_t = 53 - offsets_t[0][j]
        expected = sigmoid(tgt.apical[0][end_t - 20:end_t, j].mean())
        assert summary.plateau_target[0][j] == pytest.approx(expected)


@pytest.mark.parametrize("preset", ["code", "paper"])
def test_stochastic_plateau_offsets_follow_the_truncated_folded_normal(preset):
    config = build_config(preset, overrides=["model.plateaus=stochastic"])
    draws = np.concatenate([plateau_offsets(config, i, [500])[0] for i in range(40)])
    assert draws.min() == 0 and draws.max() == 5
    freq = np.bincount(draws, minlength=6) / draws.size
    if preset == "code":  # min(|int(N(0, 3))|, 5): PAPER.md §8 item 5
        expected = [0.26, 0.23, 0.19, 0.14, 0.09, 0.10]
    else:  # |N(0, √3)| truncated toward 0, redrawn above 5
        sd = math.sqrt(3)
        cdf = [2 * stats.norm.cdf(k, scale=sd) - 1 for k in range(7)]
        expected = np.diff(cdf) / cdf[6]
    assert freq == pytest.approx(expected, abs=0.01)


def test_teaching_current_drives_the_correct_unit_high_and_the_others_low():
    config = tiny_config()
    engine = ReferenceEngine(config)
    params = initialise(config, 784)
    state = engine.new_state(params)
    image = np.random.default_rng(2).uniform(size=784)
    for label in (0, 7):
        target = engine.target_vector(label)
        record = engine._run_phase(params, state, 0.2 * image, target, 99, 0, 50)
        rates = record.rate[1][20:].mean(axis=0)
        assert rates[label] > 0.9 * 0.2
        assert np.delete(rates, label).max() < 0.1 * 0.2
