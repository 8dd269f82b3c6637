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
1e-12).

When the hidden somata take apical input (g_A ≠ 0, Fig 9), the output's spikes feed back within
the phase, so every layer is stepped: :func:`test_image_apical` does that with the same drives,
state layout and key prefixes, and with the operations of ``run_phase`` in their order, so its
potentials are bit for bit those of the general kernel. With rate input,
:func:`test_image_general` runs ``run_phase`` itself. The engine decides which in Python
(:func:`test_kernel_kind`), so that only the kernel used is compiled. All three are tested against
the reference engine.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from segdend.engines.counters import derive_key2, extend_key, uniform
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
    F_HAS_CBIAS,
    F_M,
    F_RATE_FEEDBACK,
    F_SPIKING_FF,
    F_TRUNCATED,
    add_drive,
    column_start,
    hidden_soma,
    run_phase,
    sparse_image,
    window_start,
)
from segdend.engines.spikes import (
    hidden_spikes,
    input_spikes,
    input_thresholds,
    poisson_bracketed,
    sigmoid,
)


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
def test_image_apical(image, base_key, sizes, pop_off, w_off, y_off, WT, bias, YT, cbias, kernel,
                      consts, flags, length, out):
    """Mean output somatic potential after settling of one test image, from rest, into ``out``,
    for a network whose hidden somata take apical input (g_A ≠ 0, Fig 9) and with spiking input.

    The output's spikes then reach the hidden somata through the apical dendrites
    (V^{ka} = Y^k s^{out} (+ c^k), Eq. 1), so every layer is stepped, but as in
    :func:`test_image_readout` only what a test needs is kept: the drives (no spike history but
    the output's, which the feedback s^{out} reads), state per population in 2-D arrays indexed
    by loop variables, each hidden soma updated in the drive pass that feeds it, and key prefixes.
    Every value is computed with the floating-point operations of :func:`kernels.run_phase` in a
    test phase, in the same order, so the potentials are bit for bit those of
    :func:`test_image_general` (``tests/test_fast_engine.py``).
    """
    n_pop = sizes.shape[0]
    o_pop = n_pop - 1  # the output population
    n_out = sizes[o_pop]
    truncated = flags[F_TRUNCATED] == 1
    rate_feedback = flags[F_RATE_FEEDBACK] == 1
    has_cbias = flags[F_HAS_CBIAS] == 1
    m = flags[F_M]
    rows = m + 1 if truncated else 1  # drive ring: d(t) and the expiring d(t − M)
    phi = consts[C_MAX_RATE]
    g_l, g_b, g_a, g_d = consts[C_GL], consts[C_GB], consts[C_GA], consts[C_GD]
    d_long, d_short, inv_tau = consts[C_DL], consts[C_DS], consts[C_INV_TAU]
    long_m, short_m = consts[C_DL_M], consts[C_DS_M]
    no_spike_below = math.exp(-phi)
    w0 = window_start(length, flags)
    n_max = sizes.max() + 32
    width = sizes[1:].max()
    drive = np.zeros((rows, n_pop, width))
    a_long = np.zeros((n_pop, width))
    a_short = np.zeros((n_pop, width))
    soma = np.zeros((n_pop, width))
    v_bias = np.zeros((n_pop, width))
    apical = np.zeros((n_pop, width))
    for p in range(1, n_pop):
        for j in range(sizes[p]):
            v_bias[p, j] = bias[pop_off[p] + j]
    # the output's spike counts of the last M steps (truncated kernel) or its two trace
    # recurrences (untruncated), and its rates (rate feedback): what s^{out} is made of
    out_hist = np.zeros((max(m, 1), n_out))
    out_slow = np.zeros(n_out)
    out_fast = np.zeros(n_out)
    out_rate = np.zeros(n_out)
    fb_signal = np.zeros(n_out)
    v_acc = np.zeros(n_out)
    scratch = np.zeros((4, n_max), np.float32)
    int_scratch = np.zeros((2, n_max), np.int32)
    candidates, selected = int_scratch[0], int_scratch[1]
    spikes_idx = np.zeros(n_max, np.int64)
    spikes_count = np.zeros(n_max, np.int64)
    image_idx, image_rate, image_p0 = sparse_image(image, phi)
    thresholds = input_thresholds(image_rate, image_p0)
    prefixes = np.zeros(n_pop, np.uint64)
    for p in range(n_pop):
        prefixes[p] = derive_key2(base_key, p)
    head = 0
    for step in range(length):
        row = step % rows
        expiring_row = (step + 1) % rows
        if truncated:
            head = (head + 1) % m
        # ---- s^{out}: the output's spikes up to the last step, through the kernel
        if rate_feedback:
            for o in range(n_out):
                fb_signal[o] = out_rate[o]
        elif truncated:
            for o in range(n_out):
                fb_signal[o] = 0.0
            for lag in range(m):
                r = (head - 1 - lag + 2 * m) % m
                kappa = kernel[lag]
                for o in range(n_out):
                    fb_signal[o] += kappa * out_hist[r, o]
        else:
            for o in range(n_out):
                fb_signal[o] = (out_slow[o] - out_fast[o]) * inv_tau
        # ---- V^{ka} = Y^k s^{out} (+ c^k) of every hidden layer
        for q in range(1, o_pop):
            n = sizes[q]
            for j in range(n):
                apical[q, j] = cbias[pop_off[q] + j] if has_cbias else 0.0
            for o in range(n_out):
                f = fb_signal[o]
                if f == 0.0:
                    continue
                b = column_start(y_off[q - 1], o, n)  # row o of Yᵀ
                for j in range(n):
                    apical[q, j] += YT[b + np.uint64(j)] * f
        for p in range(n_pop):
            key = extend_key(prefixes[p], step)
            if p == 0:
                n_spikes = input_spikes(key, image_idx, image_rate, image_p0, thresholds,
                                        candidates, selected, spikes_idx, spikes_count)
            elif p < o_pop:
                n_spikes = hidden_spikes(key, soma[p], sizes[p], phi, scratch, candidates,
                                         spikes_idx, spikes_count)
            else:  # the output: counts by the scalar inversion, as run_phase draws them
                if truncated:
                    for o in range(n_out):
                        out_hist[head, o] = 0.0
                for o in range(n_out):
                    u = uniform(key, o)
                    rate = phi * sigmoid(soma[p, o])
                    out_rate[o] = rate
                    count = poisson_bracketed(u, rate) if u > no_spike_below else 0
                    if truncated:
                        out_hist[head, o] = float(count)
                    elif count > 0:
                        out_slow[o] += float(count)
                        out_fast[o] += float(count)
                if not truncated:
                    for o in range(n_out):
                        out_slow[o] = d_long * out_slow[o]
                        out_fast[o] = d_short * out_fast[o]
                continue
            # the drive onto layer q = p + 1, its kernel recurrences, its basal potential and soma
            q = p + 1
            n_post = sizes[q]
            set_drive(WT, w_off[p], n_post, spikes_idx, spikes_count, n_spikes, drive[row, q])
            hidden = q < o_pop
            summed = q == o_pop and step >= w0
            for j in range(n_post):
                new = drive[row, q, j]
                if truncated:  # A ← e^{−1/τ}(A − e^{−M/τ} d(t − M) + d(t))
                    expiring = drive[expiring_row, q, j]
                    al = d_long * ((a_long[q, j] - long_m * expiring) + new)
                    ash = d_short * ((a_short[q, j] - short_m * expiring) + new)
                else:
                    al = d_long * (a_long[q, j] + new)
                    ash = d_short * (a_short[q, j] + new)
                a_long[q, j] = al
                a_short[q, j] = ash
                basal = (al - ash) * inv_tau + v_bias[q, j]
                v = soma[q, j]
                if hidden:  # Eq. 1
                    v += -g_l * v + g_b * (basal - v) + g_a * (apical[q, j] - v)
                else:  # Eq. 19 without teaching current
                    v += -g_l * v + g_d * (basal - v) + 0.0
                soma[q, j] = v
                if summed:
                    v_acc[j] += v
    n_mean = length - w0
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


def test_kernel_kind(flags, consts) -> str:
    """Which kernel runs test images: ``"readout"`` (:func:`test_image_readout`: spiking input,
    g_A = 0), ``"apical"`` (:func:`test_image_apical`: spiking input, g_A ≠ 0) or ``"general"``
    (:func:`test_image_general`: rate input). Decided in Python, so that only the kernel used is
    compiled."""
    if flags[F_SPIKING_FF] != 1:
        return "general"
    return "readout" if consts[C_GA] == 0.0 else "apical"


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
def test_spiking_apical(images, base_keys, sizes, pop_off, w_off, y_off, WT, bias, YT, cbias,
                        kernel, consts, flags, length, out):
    """:func:`test_image_apical` on each image (without the GIL, as
    :func:`test_spiking_readout`)."""
    for e in range(images.shape[0]):
        test_image_apical(images[e], base_keys[e], sizes, pop_off, w_off, y_off, WT, bias, YT,
                          cbias, kernel, consts, flags, length, out[e])


@njit(cache=True, error_model="numpy", nogil=True)
def test_spiking_general(images, base_keys, sizes, pop_off, w_off, y_off, WT, bias, YT, cbias,
                         kernel, consts, flags, length, out):
    """:func:`test_image_general` on each image (without the GIL, as
    :func:`test_spiking_readout`)."""
    for e in range(images.shape[0]):
        test_image_general(images[e], base_keys[e], sizes, pop_off, w_off, y_off, WT, bias, YT,
                           cbias, kernel, consts, flags, length, out[e])
