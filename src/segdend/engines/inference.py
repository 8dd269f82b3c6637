"""Compiled test phase of the fast engine: a test image is one forward phase from rest, without
learning (PAPER.md §2.9; DESIGN.md "Engines").

When nothing reads the output layer's spikes (no apical input to the somata, g_A = 0: the default
of both presets) and the feedforward input is spiking, a test image needs much less than a
training phase, and :func:`test_image_readout` runs it:

* **Readout.** The output layer is not stepped: its window mean is a weighted sum of the last
  hidden layer's spikes (:func:`readout_coefficients`).
* **Drives only.** No spike history is kept (nothing is learned), only the drives d(t) = W h(t).
  With the truncated kernel a ring of M + 1 drives holds both d(t), summed in place, and the
  expiring d(t − M); the first four spikes of a step are assigned rather than added
  (:func:`set_drive`), in the same order of operations as :func:`kernels.add_drive`.
* **No views.** The state is held per population in 2-D arrays indexed by loop variables, and W
  by unsigned column starts: the step loop creates no array views (each would update a reference
  count).
* **Key prefixes.** The key of population p's draws at step t is
  ``extend_key(derive_key2(base, p), t)``: two hashes per step instead of six.

The input and hidden layers' steps are those of :func:`segdend.engines.kernels.run_phase` in a
test phase, in the same order and with the same floating-point operations; the output's window
mean differs from stepping the output layer only by rounding (``tests/test_fast_engine.py``: to
1e-12). Otherwise (g_A ≠ 0, rate input) :func:`test_image_general` runs ``run_phase``; the engine
decides which in Python (:func:`reads_out`), so that only the kernel used is compiled. Both are
tested against the reference engine.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from segdend.engines.counters import derive_key2, extend_key
from segdend.engines.kernels import (
    C_DL,
    C_DL_M,
    C_DS,
    C_DS_M,
    C_GA,
    C_GB,
    C_GD,
    C_GL,
    C_INV_TAU,
    C_MAX_RATE,
    F_M,
    F_SPIKING_FF,
    F_TRUNCATED,
    add_drive,
    column_start,
    hidden_soma,
    run_phase,
    sparse_image,
    window_start,
)
from segdend.engines.spikes import hidden_spikes, input_spikes, input_thresholds


@njit(cache=True, error_model="numpy")
def readout_coefficients(length, w0, flags, consts):
    """γ(τ): the weight of a last-hidden-layer spike at phase step τ in the output's window sum.

    Used by test phases in which nothing reads the output's spikes (no apical input to the somata,
    g_A = 0). The output soma (Eq. 19, no teaching current) is then linear in its basal input:
    V(t) = a V(t−1) + g_D V^b(t) with a = 1 − g_L − g_D, from rest, and
    V^b(t) = Σ_lag κ_lag d(t − lag) + b with
    κ_lag = (e^{−(lag+1)/τ_L} − e^{−(lag+1)/τ_s})/(τ_L − τ_s) and d(t) = W h(t) (PAPER.md §1.4).
    So Σ_{t in window} V(t) = Σ_t β(t) V^b(t) with β(t) = g_D Σ_{t' ≥ max(t, w0)} a^{t'−t}, and a
    spike of count c at step τ adds c · γ(τ) · (its column of W), γ(τ) = Σ_lag κ_lag β(τ + lag).
    Returns γ (length ``length``) and Σ_t β(t), the weight of the bias.
    """
    g_l, g_d = consts[C_GL], consts[C_GD]
    a = 1.0 - g_l - g_d
    beta = np.zeros(length)
    tail = 0.0  # Σ_{t' ≥ t, t' ≥ w0} a^{t'−t}
    for t in range(length - 1, -1, -1):
        tail = a * tail + (1.0 if t >= w0 else 0.0)
        beta[t] = g_d * tail
    n_lags = flags[F_M] if flags[F_TRUNCATED] == 1 else length
    d_long, d_short, inv_tau = consts[C_DL], consts[C_DS], consts[C_INV_TAU]
    gamma = np.zeros(length)
    for lag in range(min(n_lags, length)):
        kappa = (d_long ** (lag + 1) - d_short ** (lag + 1)) * inv_tau
        for tau in range(length - lag):
            gamma[tau] += kappa * beta[tau + lag]
    return gamma, beta.sum()


@njit(cache=True, error_model="numpy", inline="always")
def set_drive(WT, w, n_post, spikes_idx, spikes_count, n_spikes, v_out):
    """d = Σ_spikes count × (column of W): the first four spikes assigned, the others added by
    :func:`kernels.add_drive`; the sums are those of ``add_drive`` onto zeros."""
    if n_spikes == 0:
        for j in range(n_post):
            v_out[j] = 0.0
        return
    b1, c1 = column_start(w, spikes_idx[0], n_post), float(spikes_count[0])
    b2, c2 = ((column_start(w, spikes_idx[1], n_post), float(spikes_count[1])) if n_spikes > 1
              else (b1, 0.0))
    b3, c3 = ((column_start(w, spikes_idx[2], n_post), float(spikes_count[2])) if n_spikes > 2
              else (b1, 0.0))
    b4, c4 = ((column_start(w, spikes_idx[3], n_post), float(spikes_count[3])) if n_spikes > 3
              else (b1, 0.0))
    for j in range(n_post):
        u = np.uint64(j)
        v_out[j] = (c1 * WT[b1 + u] + c2 * WT[b2 + u]) + (c3 * WT[b3 + u] + c4 * WT[b4 + u])
    add_drive(WT, w, n_post, spikes_idx, spikes_count, 4, n_spikes, v_out)


@njit(cache=True, error_model="numpy")
def test_image_readout(image, base_key, sizes, pop_off, w_off, WT, bias, consts, flags, length,
                       gamma, bias_weight, out):
    """Mean output somatic potential after settling of one test image, from rest, into ``out``,
    for a network whose output spikes nothing reads (g_A = 0) and with spiking input. ``gamma``
    and ``bias_weight``: :func:`readout_coefficients` for this phase length."""
    n_pop = sizes.shape[0]
    last = n_pop - 2  # the population whose spikes are read out (the input if no hidden layer)
    truncated = flags[F_TRUNCATED] == 1
    m = flags[F_M]
    rows = m + 1 if truncated else 1
    phi, g_l, g_b = consts[C_MAX_RATE], consts[C_GL], consts[C_GB]
    d_long, d_short, inv_tau = consts[C_DL], consts[C_DS], consts[C_INV_TAU]
    long_m, short_m = consts[C_DL_M], consts[C_DS_M]
    # State per population p in rows [p, :sizes[p]]: indexed by (p, j) with both from loops, the
    # loops need neither views (reference counting) nor negative-index checks.
    n_max = sizes.max() + 32
    width = sizes[1:].max()  # (row 0, the input, is not used)
    drive = np.zeros((rows, n_pop, width))  # d(t) onto each population
    a_long = np.zeros((n_pop, width))  # the two recurrences of the kernel, A_L and A_s
    a_short = np.zeros((n_pop, width))
    soma = np.zeros((n_pop, width))
    v_bias = np.zeros((n_pop, width))
    for p in range(1, n_pop):
        for j in range(sizes[p]):
            v_bias[p, j] = bias[pop_off[p] + j]
    read = np.zeros(n_max)  # Σ count · γ(τ) per neuron of the last population
    scratch = np.zeros((4, n_max), np.float32)
    int_scratch = np.zeros((2, n_max), np.int32)
    candidates, selected = int_scratch[0], int_scratch[1]
    spikes_idx = np.zeros(n_max, np.int64)
    spikes_count = np.zeros(n_max, np.int64)
    image_idx, image_rate, image_p0 = sparse_image(image, phi)
    thresholds = input_thresholds(image_rate, image_p0)
    prefixes = np.zeros(last + 1, np.uint64)
    for p in range(last + 1):
        prefixes[p] = derive_key2(base_key, p)
    for step in range(length):
        row = step % rows
        expiring_row = (step + 1) % rows  # d(t − M), written M steps ago (zeros before)
        for p in range(last + 1):
            key = extend_key(prefixes[p], step)
            if p == 0:
                n_spikes = input_spikes(key, image_idx, image_rate, image_p0, thresholds,
                                        candidates, selected, spikes_idx, spikes_count)
            else:
                n_spikes = hidden_spikes(key, soma[p], sizes[p], phi, scratch, candidates,
                                         spikes_idx, spikes_count)
            if p == last:
                weight = gamma[step]
                for s_i in range(n_spikes):
                    read[spikes_idx[s_i]] += float(spikes_count[s_i]) * weight
                continue
            # the drive onto layer q = p + 1, its kernel recurrences and its soma (Eq. 1, g_A = 0)
            q = p + 1
            n_post = sizes[q]
            set_drive(WT, w_off[p], n_post, spikes_idx, spikes_count, n_spikes, drive[row, q])
            if truncated:  # A ← e^{−1/τ}(A − e^{−M/τ} d(t − M) + d(t))
                for j in range(n_post):
                    new, expiring = drive[row, q, j], drive[expiring_row, q, j]
                    al = d_long * ((a_long[q, j] - long_m * expiring) + new)
                    ash = d_short * ((a_short[q, j] - short_m * expiring) + new)
                    a_long[q, j] = al
                    a_short[q, j] = ash
                    soma[q, j] = hidden_soma(soma[q, j], al - ash, v_bias[q, j], inv_tau, g_l, g_b)
            else:
                for j in range(n_post):
                    new = drive[row, q, j]
                    al = d_long * (a_long[q, j] + new)
                    ash = d_short * (a_short[q, j] + new)
                    a_long[q, j] = al
                    a_short[q, j] = ash
                    soma[q, j] = hidden_soma(soma[q, j], al - ash, v_bias[q, j], inv_tau, g_l, g_b)
    # Σ_window V_out = (Σ_t β(t)) b + W_out · read
    n, o0, n_out = sizes[last], pop_off[-1], sizes[-1]
    w = w_off[last]
    n_mean = length - window_start(length, flags)
    v_acc = np.zeros(n_out)
    for j in range(n_out):
        v_acc[j] = bias[o0 + j] * bias_weight
    for i in range(n):
        g = read[i]
        if g != 0.0:
            v_w = WT[w + i * n_out : w + (i + 1) * n_out]
            for j in range(n_out):
                v_acc[j] += g * v_w[j]
    for j in range(n_out):
        out[j] = v_acc[j] / n_mean


@njit(cache=True, error_model="numpy")
def test_image_general(image, base_key, sizes, pop_off, w_off, y_off, WT, bias, YT, cbias, kernel,
                       consts, flags, length, out):
    """Mean output somatic potential after settling of one test image, from rest, into ``out``,
    by the general :func:`kernels.run_phase` (output spikes read by the apical dendrites, or
    rate input)."""
    total = pop_off[-1] + sizes[-1]
    n_out = sizes[-1]
    rows = flags[F_M] if flags[F_TRUNCATED] == 1 else 1
    hist = np.zeros((rows, total))
    ring_idx = np.zeros((rows, total), np.int64)
    ring_n = np.zeros((rows, sizes.shape[0]), np.int64)
    drive = np.zeros((rows, total))
    state = np.zeros((8, total))
    small = np.zeros(n_out)
    dummy = np.zeros(1)
    soma_acc = state[5]
    n_max = sizes.max() + 32
    image_idx, image_rate, image_p0 = sparse_image(image, consts[C_MAX_RATE])
    run_phase(
        image_idx, image_rate, image_p0, input_thresholds(image_rate, image_p0), small, False,
        base_key, 0, length, 0,
        np.zeros(1, np.int64), sizes, pop_off, w_off, y_off, WT, bias, YT, cbias, kernel, consts,
        flags, hist, ring_idx, ring_n, state[0], state[1], drive, state[2], state[3],
        state[4], np.zeros(n_out), np.zeros(1, np.int64),
        soma_acc, state[6], dummy, small, small, state[7], np.zeros(n_out),
        np.zeros(sizes.max()), np.zeros((4, n_max), np.float32),
        np.zeros((2, n_max), np.int32), np.zeros(n_max, np.int64), np.zeros(n_max, np.int64),
        np.zeros(sizes.max()), np.zeros(0, np.int64), np.zeros(0, np.int64),
        np.zeros((0, 0, 0, 4)), np.full(1, -1, np.int64)[0],
    )
    n_mean = length - window_start(length, flags)
    o = pop_off[-1]
    for j in range(n_out):
        out[j] = soma_acc[o + j] / n_mean


def reads_out(flags, consts) -> bool:
    """Whether test images run in :func:`test_image_readout` (spiking input, g_A = 0) rather than
    the general phase kernel (decided in Python, so that only the kernel used is compiled)."""
    return bool(flags[F_SPIKING_FF] == 1 and consts[C_GA] == 0.0)


@njit(cache=True, error_model="numpy", nogil=True)
def test_spiking_readout(images, base_keys, sizes, pop_off, w_off, WT, bias, consts, flags, length,
                         out):
    """:func:`test_image_readout` on each image. Runs without the GIL: the engine calls it from one
    thread per core on batches of images (a plain thread pool compiles in a fraction of the time
    of Numba's parallel loops)."""
    gamma, bias_weight = readout_coefficients(length, window_start(length, flags), flags, consts)
    for e in range(images.shape[0]):
        test_image_readout(images[e], base_keys[e], sizes, pop_off, w_off, WT, bias, consts, flags,
                           length, gamma, bias_weight, out[e])


@njit(cache=True, error_model="numpy", nogil=True)
def test_spiking_general(images, base_keys, sizes, pop_off, w_off, y_off, WT, bias, YT, cbias,
                         kernel, consts, flags, length, out):
    """:func:`test_image_general` on each image (without the GIL, as
    :func:`test_spiking_readout`)."""
    for e in range(images.shape[0]):
        test_image_general(images[e], base_keys[e], sizes, pop_off, w_off, y_off, WT, bias, YT,
                           cbias, kernel, consts, flags, length, out[e])
