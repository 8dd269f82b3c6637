"""Compiled (Numba) kernels of the fast engine: no Python per time step.

The step semantics are exactly those of :mod:`segdend.engines.reference` (read that module first);
this module only changes *how* they are computed:

* **Event-driven synaptic input.** A layer's basal potential is V^b(t) = W s(t) + b with
  s(t) = Σ_j κ(j+1) h(t−j). Because this is linear, W s(t) = Σ_j κ(j+1) d(t−j) with the *drive*
  d(t) = W h(t), and a presynaptic spike of neuron i adds count × (column i of W) to d(t). W is
  stored so that that column is contiguous (``WT[i, :]``). The truncated kernel keeps a ring of the
  last M drives; the untruncated kernel runs the two exponential recurrences on the drives.
* **Weight changes keep the drives exact.** An update W ← W − η P E s̄ᵀ is rank one, so each stored
  drive (a sum of W h over past spikes) is corrected by −η P E (s̄ · h).
* **Window averages from events.** The mean presynaptic trace over the averaging window is
  accumulated at spike time: a spike at step τ adds count × Σ_{t in window} κ(t − τ + 1).
* **Counter-based spikes.** The same hash and counts as :mod:`segdend.rng`, drawn in
  :mod:`segdend.engines.spikes`.
* **Test images** run in :mod:`segdend.engines.inference` (its own kernel when nothing reads the
  output's spikes; :func:`run_phase` otherwise).
* **Sparse spike history.** With the truncated kernel, each ring row of spike counts keeps the list
  of its non-zero entries, so clearing a row and the drive corrections after an update touch only
  the neurons that spiked.

All populations are stored in flat vectors: population p (0 = input, 1..H = hidden, H+1 = output)
occupies entries ``pop_off[p] : pop_off[p] + size[p]``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from segdend.engines.counters import derive_key3, uniform
from segdend.engines.spikes import (
    hidden_spikes,
    input_spikes,
    input_thresholds,
    poisson_bracketed,
    sigmoid,
    sigmoid_vector,
)

# Indices into the float constants array.
(C_MAX_RATE, C_GL, C_GB, C_GA, C_GD, C_KB, C_KD, C_EE, C_EI, C_TEACH, C_DL, C_DS, C_INV_TAU,
 C_DL_M, C_DS_M) = range(15)
N_CONSTS = 15
# Indices into the integer flags array.
(F_TRUNCATED, F_M, F_SPIKING_FF, F_RATE_FEEDBACK, F_STOCHASTIC, F_WINDOW_MODE, F_WINDOW,
 F_SETTLING, F_PLATEAU_WINDOW, F_PLATEAU_MAX, F_HAS_CBIAS, F_BACKPROP, F_BP_UPDATED,
 F_RECORD_ANGLE, F_UNITS, F_UPDATE, F_SYMMETRIC) = range(17)
N_FLAGS = 17
# Values of flags[F_SYMMETRIC]: Y is not re-set in the kernel, Y = W¹ᵀ, Y = W¹ᵀ + noise.
SYMMETRIC_NONE, SYMMETRIC_EXACT, SYMMETRIC_NOISY = 0, 1, 2


@njit(cache=True, error_model="numpy")
def window_start(length, flags):
    """First averaged step of a phase of ``length`` steps (reference ``window``)."""
    if flags[F_WINDOW_MODE] == 0:
        return length - flags[F_WINDOW]
    return flags[F_SETTLING]


@njit(cache=True, error_model="numpy")
def trace_coefficients(length, w0, kernel):
    """coef[τ + M]: Σ over window steps t ≥ τ of κ(t − τ + 1), for spikes at phase step τ."""
    m = kernel.shape[0]
    coef = np.zeros(length + m)
    for tau in range(-m, length):
        total = 0.0
        for lag in range(m):
            t = tau + lag
            if w0 <= t < length:
                total += kernel[lag]
        coef[tau + m] = total
    return coef


@njit(cache=True, error_model="numpy")
def rebuild_drives(sizes, pop_off, w_off, WT, hist, slow, fast, drive, dslow, dfast, flags,
                   consts, head):
    """Recompute every stored drive from the spike history and the current weights.

    With the truncated kernel, dslow/dfast hold the sliding exponential sums
    A_τ(t) = Σ_{lag<M} e^{−(lag+1)/τ} d(t − lag), so that V^b = (A_L − A_s)/(τ_L − τ_s) + b.
    """
    n_layers = sizes.shape[0] - 1
    m = flags[F_M]
    for k in range(n_layers):
        n_pre, n_post = sizes[k], sizes[k + 1]
        pre, post = pop_off[k], pop_off[k + 1]
        w = w_off[k]
        if flags[F_TRUNCATED] == 1:
            for r in range(m):
                for j in range(n_post):
                    drive[r, post + j] = 0.0
                for i in range(n_pre):
                    c = hist[r, pre + i]
                    if c != 0.0:
                        row = w + i * n_post
                        for j in range(n_post):
                            drive[r, post + j] += c * WT[row + j]
            for j in range(n_post):
                dslow[post + j] = 0.0
                dfast[post + j] = 0.0
            for lag in range(m):
                r = (head[0] - lag + m) % m
                weight_long = consts[C_DL] ** (lag + 1)
                weight_short = consts[C_DS] ** (lag + 1)
                for j in range(n_post):
                    dslow[post + j] += weight_long * drive[r, post + j]
                    dfast[post + j] += weight_short * drive[r, post + j]
        else:
            for j in range(n_post):
                dslow[post + j] = 0.0
                dfast[post + j] = 0.0
            for i in range(n_pre):
                a, b = slow[pre + i], fast[pre + i]
                if a != 0.0 or b != 0.0:
                    row = w + i * n_post
                    for j in range(n_post):
                        dslow[post + j] += a * WT[row + j]
                        dfast[post + j] += b * WT[row + j]


@njit(cache=True, error_model="numpy")
def ring_lists(hist, sizes, pop_off):
    """Per ring row and population, the neurons with a non-zero count (in increasing order)."""
    ring_idx = np.zeros(hist.shape, np.int64)
    ring_n = np.zeros((hist.shape[0], sizes.shape[0]), np.int64)
    for r in range(hist.shape[0]):
        for p in range(sizes.shape[0]):
            off = pop_off[p]
            for i in range(sizes[p]):
                if hist[r, off + i] != 0.0:
                    ring_idx[r, off + ring_n[r, p]] = i
                    ring_n[r, p] += 1
    return ring_idx, ring_n


@njit(cache=True, error_model="numpy", inline="always")
def column_start(w, i, n_post):
    """Where column i of the weights at ``w`` starts in WT, as an unsigned index: indexing with it
    needs no negative-index wraparound, and no view of WT (whose reference count would be
    updated on every pass)."""
    return np.uint64(w + i * n_post)


@njit(cache=True, error_model="numpy", inline="always")
def add_drive(WT, w, n_post, spikes_idx, spikes_count, first, n_spikes, v_out):
    """d += Σ_spikes count × (column of W) over spikes first … n_spikes − 1: four spikes per pass
    over the drive vector."""
    s_i = first
    while s_i + 4 <= n_spikes:
        c1, c2 = float(spikes_count[s_i]), float(spikes_count[s_i + 1])
        c3, c4 = float(spikes_count[s_i + 2]), float(spikes_count[s_i + 3])
        b1 = column_start(w, spikes_idx[s_i], n_post)
        b2 = column_start(w, spikes_idx[s_i + 1], n_post)
        b3 = column_start(w, spikes_idx[s_i + 2], n_post)
        b4 = column_start(w, spikes_idx[s_i + 3], n_post)
        for j in range(n_post):
            u = np.uint64(j)
            v_out[j] += (c1 * WT[b1 + u] + c2 * WT[b2 + u]) + (c3 * WT[b3 + u] + c4 * WT[b4 + u])
        s_i += 4
    rest = n_spikes - s_i
    if rest > 0:  # the last one to three spikes in one more pass, padded with zero counts
        b1 = column_start(w, spikes_idx[s_i], n_post)
        c1 = float(spikes_count[s_i])
        b2, c2 = ((column_start(w, spikes_idx[s_i + 1], n_post), float(spikes_count[s_i + 1]))
                  if rest > 1 else (b1, 0.0))
        b3, c3 = ((column_start(w, spikes_idx[s_i + 2], n_post), float(spikes_count[s_i + 2]))
                  if rest > 2 else (b1, 0.0))
        for j in range(n_post):
            u = np.uint64(j)
            v_out[j] += (c1 * WT[b1 + u] + c2 * WT[b2 + u]) + c3 * WT[b3 + u]


@njit(cache=True, error_model="numpy", inline="always")
def _soma_in_drive_pass(p, out, spiking_ff, apical_per_step):
    """Whether population p's soma is updated in the drive pass of population p − 1 (a hidden
    layer with spiking input and no apical input per step) rather than on its own."""
    return spiking_ff and 0 < p < out and not apical_per_step


@njit(cache=True, error_model="numpy", inline="always")
def hidden_soma(v, a_diff, b, inv_tau, g_l, g_b):
    """One step of a hidden soma without apical input (Eq. 1): V + (−g_L V + g_B (V^b − V)) with
    V^b = (A_L − A_s)/(τ_L − τ_s) + b, given a_diff = A_L − A_s and inv_tau = 1/(τ_L − τ_s)."""
    return v + (-g_l * v + g_b * ((a_diff * inv_tau + b) - v))


@njit(cache=True, error_model="numpy", inline="always")
def _soma_step(v_soma, v_bias, v_acc, j, a_diff, inv_tau, g_l, g_b, add_to_window):
    """:func:`hidden_soma` on neuron j of a population, optionally added to the window sum."""
    v = hidden_soma(v_soma[j], a_diff, v_bias[j], inv_tau, g_l, g_b)
    v_soma[j] = v
    if add_to_window:
        v_acc[j] += v


@njit(cache=True, error_model="numpy")
def runtime_ints():
    """0, 1, 2 as run-time int64 values. A constant argument is typed as a literal, and Numba
    compiles the callee once per literal: callers shared by the spiking and the rate mode take
    these instead (a few seconds less compilation each)."""
    return np.arange(3)


@njit(cache=True, error_model="numpy")
def run_phase(
    image_idx, image_rate, image_p0, image_thr, target, teaching, base_key, t_start, length,
    learning,
    offsets, sizes, pop_off, w_off, y_off, WT, bias, YT, cbias, kernel, consts, flags,
    hist, ring_idx, ring_n, slow, fast, drive, dslow, dfast, soma, out_rate, head,
    soma_acc, sbar_acc, apical_acc, rate_acc, fb_acc, scratch, fb_signal, basal, decided,
    int_scratch, spikes_idx, spikes_count, apical_buf, rec_pop, rec_idx, rec, rec_slot,
):
    """Simulate one phase (reference ``_run_phase``) and accumulate its window sums.

    The input image is given sparsely: pixel indices with non-zero rate, their rates φ_max·x and
    e^{−rate}. ``learning``: 1 = forward phase (accumulates everything the updates need),
    2 = target phase (somata, plateaus, output rates), 0 = test (output soma only).
    ``int_scratch`` is an int32 (2, max size + 32) work array.
    ``rec_slot`` ≥ 0 records the potentials and spikes of neurons ``rec_idx`` of populations
    ``rec_pop`` at each step t (from the example's start) in ``rec[rec_slot, t]`` (see
    :func:`record_step`); −1 (the normal path) records nothing.
    Returns −1, or the layer whose soma became non-finite.
    """
    n_pop = sizes.shape[0]
    out = n_pop - 1
    n_hidden = n_pop - 2
    int_counts, int_selected = int_scratch[0], int_scratch[1]
    n_out = sizes[out]
    m = flags[F_M]
    truncated = flags[F_TRUNCATED] == 1
    spiking_ff = flags[F_SPIKING_FF] == 1
    phi = consts[C_MAX_RATE]
    g_l, g_b, g_a, g_d = consts[C_GL], consts[C_GB], consts[C_GA], consts[C_GD]
    d_long, d_short, inv_tau = consts[C_DL], consts[C_DS], consts[C_INV_TAU]
    # Every rate is at most φ_max, so u ≤ e^{−φ_max} ≤ e^{−rate} means no spike: exact shortcut.
    no_spike_below = math.exp(-phi)
    w0 = window_start(length, flags)
    stochastic = flags[F_STOCHASTIC] == 1 and learning >= 1
    plateau_w = flags[F_PLATEAU_WINDOW] if stochastic else length - w0
    apical_from = min(w0, length - flags[F_PLATEAU_MAX] - plateau_w) if stochastic else w0
    apical_in_soma = g_a != 0.0
    output_spikes_needed = learning >= 1 or apical_in_soma
    coef = trace_coefficients(length, w0, kernel) if truncated else np.zeros(1)
    fb_window = np.zeros((flags[F_PLATEAU_MAX] + 1 if stochastic else 1, n_out))
    # Spikes emitted before this phase that still reach the window (only if it starts early).
    if truncated and learning == 1 and w0 < m - 1:
        for lag in range(1, m):
            r = (head[0] - lag + 1 + m) % m
            weight = coef[-lag + m]
            if weight != 0.0:
                for q in range(pop_off[out]):
                    sbar_acc[q] += hist[r, q] * weight
    # Loops below index 1-D views by the plain loop variable: Numba then drops the negative-index
    # wraparound checks and LLVM vectorises them.
    for step in range(length):
        t = t_start + step
        in_window = step >= w0
        if truncated:
            head[0] = (head[0] + 1) % m
        hrow = head[0]
        # ---- feedback signal reaching the apical dendrites (the output as of the last step)
        # (a recorded example also needs it before the averaging window, for its apical trace)
        need_apical = n_hidden > 0 and (apical_in_soma or rec_slot >= 0
                                        or (learning >= 1 and step >= apical_from))
        apical_per_step = need_apical and apical_in_soma
        if need_apical:
            o0 = pop_off[out]
            if flags[F_RATE_FEEDBACK] == 1:
                for o in range(n_out):
                    fb_signal[o] = out_rate[o]
            elif truncated:
                for o in range(n_out):
                    fb_signal[o] = 0.0
                for lag in range(m):
                    v_hist = hist[(hrow - 1 - lag + 2 * m) % m, o0 : o0 + n_out]
                    kappa = kernel[lag]
                    for o in range(n_out):
                        fb_signal[o] += kappa * v_hist[o]
            else:
                for o in range(n_out):
                    fb_signal[o] = (slow[o0 + o] - fast[o0 + o]) * inv_tau
            if learning == 1 and in_window:
                for o in range(n_out):
                    fb_acc[o] += fb_signal[o]
            if learning >= 1 and not apical_in_soma:
                # The apical potential only matters through its window means, which are linear
                # in the feedback: sum the feedback per plateau offset, apply Y once at the end.
                for d in range(fb_window.shape[0]):
                    end = length - d
                    if (stochastic and end - plateau_w <= step < end) or (
                        not stochastic and d == 0 and in_window
                    ):
                        for o in range(n_out):
                            fb_window[d, o] += fb_signal[o]
        for p in range(n_pop):
            n = sizes[p]
            off = pop_off[p]
            has_post = p < out
            v_soma = soma[off : off + n]
            # ---- dendrites and soma of layer k = p − 1
            # (a hidden layer without apical input per step was updated in the drive pass of
            # layer p − 1 below, with its window sum)
            soma_fused = _soma_in_drive_pass(p, out, spiking_ff, apical_per_step)
            summed = soma_fused and in_window and learning >= 1  # window sum already added
            k = p - 1  # the layer of population p
            if p > 0 and not soma_fused:
                v_basal = basal[:n]
                v_bias = bias[off : off + n]
                if spiking_ff:
                    v_slow, v_fast = dslow[off : off + n], dfast[off : off + n]
                    for j in range(n):
                        v_basal[j] = (v_slow[j] - v_fast[j]) * inv_tau + v_bias[j]
                else:
                    v_scratch = scratch[off : off + n]
                    for j in range(n):
                        v_basal[j] = v_scratch[j] + v_bias[j]
                if p < out:
                    if apical_per_step:
                        # V^{ka} = Y^k s^{out} (+ c^k), with Yᵀ stored so the loop vectorises
                        v_apical = apical_buf[:n]
                        if flags[F_HAS_CBIAS] == 1:
                            v_c = cbias[off : off + n]
                            for j in range(n):
                                v_apical[j] = v_c[j]
                        else:
                            for j in range(n):
                                v_apical[j] = 0.0
                        for o in range(n_out):
                            f = fb_signal[o]
                            if f == 0.0:  # a silent output adds nothing (x + 0.0 = x)
                                continue
                            v_yt = YT[y_off[k] + o * n : y_off[k] + (o + 1) * n]
                            for j in range(n):
                                v_apical[j] += v_yt[j] * f
                        for j in range(n):
                            v = v_soma[j]
                            v += -g_l * v + g_b * (v_basal[j] - v) + g_a * (v_apical[j] - v)
                            v_soma[j] = v
                        if learning >= 1:
                            v_acc = apical_acc[off : off + n]
                            if stochastic:
                                v_off = offsets[off : off + n]
                                for j in range(n):
                                    end = length - v_off[j]
                                    if end - plateau_w <= step < end:
                                        v_acc[j] += v_apical[j]
                            elif in_window:
                                for j in range(n):
                                    v_acc[j] += v_apical[j]
                    elif in_window and (learning >= 1 or p == out):
                        v_acc = soma_acc[off : off + n]  # soma update and window sum fused
                        for j in range(n):
                            v = v_soma[j]
                            v += -g_l * v + g_b * (v_basal[j] - v)
                            v_soma[j] = v
                            v_acc[j] += v
                        summed = True
                    else:
                        for j in range(n):
                            v = v_soma[j]
                            v += -g_l * v + g_b * (v_basal[j] - v)
                            v_soma[j] = v
                else:
                    for j in range(n):
                        v = v_soma[j]
                        current = 0.0
                        if teaching:
                            g_exc = target[j]
                            g_inh = 1.0 - target[j]
                            current = consts[C_TEACH] * (
                                g_exc * (consts[C_EE] - v) + g_inh * (consts[C_EI] - v)
                            )
                        v += -g_l * v + g_d * (v_basal[j] - v) + current
                        v_soma[j] = v
            if p > 0:
                if learning >= 1 or p == out:
                    if step == length - 1:
                        # NaN and inf persist, so checking each phase's last step suffices
                        bad = 0.0
                        for j in range(n):
                            bad += v_soma[j] * 0.0
                        if bad != 0.0:  # NaN: some soma is NaN or infinite
                            return k
                    if in_window and not summed:
                        v_acc = soma_acc[off : off + n]
                        for j in range(n):
                            v_acc[j] += v_soma[j]
                if p == out and not output_spikes_needed:
                    continue
            # ---- spikes of population p at step t, their drive onto layer p + 1, traces
            post = pop_off[p + 1] if has_post else 0
            n_post = sizes[p + 1] if has_post else 0
            w = w_off[p] if has_post else 0
            v_out = scratch[post : post + n_post]  # this step's drive onto layer p + 1
            if not spiking_ff:  # (the drive updates below leave it zero)
                for j in range(n_post):
                    v_out[j] = 0.0
            if truncated:  # clear the ring row's spikes of M steps ago (listed, not scanned)
                v_hist = hist[hrow, off : off + n]
                v_listed = ring_idx[hrow, off : off + n]
                for s_i in range(ring_n[hrow, p]):
                    v_hist[v_listed[s_i]] = 0.0
            key = derive_key3(base_key, p, t)
            sbar_coef = coef[step + m] if truncated else 0.0
            # Each spike of neuron i is recorded in spikes_idx/spikes_count and handled below.
            n_spikes = 0
            if p == 0:
                n_spikes = input_spikes(key, image_idx, image_rate, image_p0, image_thr,
                                        int_counts, int_selected, spikes_idx, spikes_count)
            elif p == out:
                for i in range(n):
                    u = uniform(key, i)
                    rate = phi * sigmoid(v_soma[i])
                    out_rate[i] = rate
                    if teaching and in_window:
                        rate_acc[i] += rate
                    if u > no_spike_below:
                        count = poisson_bracketed(u, rate)
                        if count > 0:
                            spikes_idx[n_spikes] = i
                            spikes_count[n_spikes] = count
                            n_spikes += 1
            else:
                n_spikes = hidden_spikes(key, v_soma, n, phi, decided, int_counts,
                                         spikes_idx, spikes_count)
            if truncated:
                ring_n[hrow, p] = n_spikes
            if rec_slot >= 0:
                record_spikes(rec[rec_slot, t], rec_pop, rec_idx, p, spikes_idx, spikes_count,
                              n_spikes)
            for s_i in range(n_spikes):
                i = spikes_idx[s_i]
                c = float(spikes_count[s_i])
                if truncated:
                    hist[hrow, off + i] = c
                    ring_idx[hrow, off + s_i] = i
                else:
                    slow[off + i] += c  # decayed below: d·(s + c), as in the reference
                    fast[off + i] += c
                if has_post and spiking_ff and truncated and learning == 1:
                    sbar_acc[off + i] += c * sbar_coef
            if has_post and spiking_ff:
                add_drive(WT, w, n_post, spikes_idx, spikes_count, 0, n_spikes, v_out)
            if not truncated:
                v_slow, v_fast = slow[off : off + n], fast[off : off + n]
                for i in range(n):
                    v_slow[i] = d_long * v_slow[i]
                    v_fast[i] = d_short * v_fast[i]
                if has_post and spiking_ff and learning == 1 and in_window:
                    v_sbar = sbar_acc[off : off + n]
                    for i in range(n):
                        v_sbar[i] += (v_slow[i] - v_fast[i]) * inv_tau
            if has_post and spiking_ff:
                v_ds, v_df = dslow[post : post + n_post], dfast[post : post + n_post]
                # A hidden layer p + 1 without apical input per step: its basal potential, soma
                # (and window sum) are updated in this pass, from the new A (same operations).
                fuse = _soma_in_drive_pass(p + 1, out, spiking_ff, apical_per_step)
                sum_next = fuse and in_window and learning >= 1
                v_next, v_bias_next = soma[post : post + n_post], bias[post : post + n_post]
                v_acc_next = soma_acc[post : post + n_post]
                if truncated:
                    # A ← e^{−1/τ}(A − e^{−M/τ} d(t − M) + d(t)); d(t) replaces d(t − M) in the ring
                    v_ring = drive[hrow, post : post + n_post]
                    long_m, short_m = consts[C_DL_M], consts[C_DS_M]
                    for j in range(n_post):
                        expiring, new = v_ring[j], v_out[j]
                        a_long = d_long * ((v_ds[j] - long_m * expiring) + new)
                        a_short = d_short * ((v_df[j] - short_m * expiring) + new)
                        v_ds[j] = a_long
                        v_df[j] = a_short
                        v_ring[j] = new
                        v_out[j] = 0.0
                        if fuse:
                            _soma_step(v_next, v_bias_next, v_acc_next, j, a_long - a_short,
                                       inv_tau, g_l, g_b, sum_next)
                else:
                    for j in range(n_post):
                        a_long = d_long * (v_ds[j] + v_out[j])
                        a_short = d_short * (v_df[j] + v_out[j])
                        v_ds[j] = a_long
                        v_df[j] = a_short
                        v_out[j] = 0.0
                        if fuse:
                            _soma_step(v_next, v_bias_next, v_acc_next, j, a_long - a_short,
                                       inv_tau, g_l, g_b, sum_next)
            if has_post and not spiking_ff:
                # instantaneous rates as feedforward input (code option): a dense drive
                n_in = image_idx.shape[0] if p == 0 else n
                for q in range(n_in):
                    if p == 0:
                        i = image_idx[q]
                        rate = image_rate[q]
                    else:
                        i = q
                        rate = phi * sigmoid(v_soma[i])
                    if learning == 1 and in_window:
                        sbar_acc[off + i] += rate
                    if rate != 0.0:
                        v_w = WT[w + i * n_post : w + (i + 1) * n_post]
                        for j in range(n_post):
                            v_out[j] += rate * v_w[j]
        if rec_slot >= 0:
            record_step(rec[rec_slot, t], rec_pop, rec_idx, sizes, pop_off, y_off, YT, bias,
                        cbias, flags, consts, dslow, dfast, scratch, soma, fb_signal)
    if learning >= 1 and not apical_in_soma:
        # Σ_window V^{ka} = Y^k Σ_window s^{out} + (window length) c^k, per neuron's window
        for p in range(1, out):
            n, off, k = sizes[p], pop_off[p], p - 1
            v_acc = apical_acc[off : off + n]
            for j in range(n):
                v_acc[j] = cbias[off + j] * plateau_w if flags[F_HAS_CBIAS] == 1 else 0.0
            for o in range(n_out):
                v_yt = YT[y_off[k] + o * n : y_off[k] + (o + 1) * n]
                if stochastic:
                    v_off = offsets[off : off + n]
                    for j in range(n):
                        v_acc[j] += v_yt[j] * fb_window[v_off[j], o]
                else:
                    f = fb_window[0, o]
                    for j in range(n):
                        v_acc[j] += v_yt[j] * f
    return -1


#: Columns of a recorded step (:func:`record_step`): one row per recorded neuron.
R_APICAL, R_BASAL, R_SOMA, R_SPIKES = range(4)


@njit(cache=True, error_model="numpy")
def record_spikes(row, rec_pop, rec_idx, p, spikes_idx, spikes_count, n_spikes):
    """Spike counts of the recorded neurons of population p at this step, into ``row[:, 3]``."""
    for r in range(rec_pop.shape[0]):
        if rec_pop[r] == p:
            count = 0.0
            for s_i in range(n_spikes):
                if spikes_idx[s_i] == rec_idx[r]:
                    count = float(spikes_count[s_i])
            row[r, R_SPIKES] = count


@njit(cache=True, error_model="numpy")
def record_step(row, rec_pop, rec_idx, sizes, pop_off, y_off, YT, bias, cbias, flags, consts,
                dslow, dfast, scratch, soma, fb_signal):
    """Apical, basal and somatic potentials of the recorded neurons after a step of
    :func:`run_phase`, into ``row[r, 0:3]`` (the spikes were recorded by :func:`record_spikes`).

    They are recomputed from the state the step left, by the same operations as the step: the
    basal potential (A_L − A_s)/(τ_L − τ_s) + b (spiking input) or drive + b (rate input), the
    apical potential Σ_o Yᵀ[o, j] s^{out}_o (+ c_j) in the order of the apical loop. The output
    layer has no apical dendrite: NaN.
    """
    out = sizes.shape[0] - 1
    n_out = sizes[out]
    inv_tau = consts[C_INV_TAU]
    for r in range(rec_pop.shape[0]):
        p, j = rec_pop[r], rec_idx[r]
        q = pop_off[p] + j
        if flags[F_SPIKING_FF] == 1:
            row[r, R_BASAL] = (dslow[q] - dfast[q]) * inv_tau + bias[q]
        else:
            row[r, R_BASAL] = scratch[q] + bias[q]
        row[r, R_SOMA] = soma[q]
        if p < out:
            n, k = sizes[p], p - 1
            apical = cbias[q] if flags[F_HAS_CBIAS] == 1 else 0.0
            for o in range(n_out):
                apical += YT[y_off[k] + o * n + j] * fb_signal[o]
            row[r, R_APICAL] = apical
        else:
            row[r, R_APICAL] = np.nan


@njit(cache=True, error_model="numpy")
def sparse_image(image, phi):
    """Indices, rates φ_max·x and e^{−rate} of the pixels with non-zero rate."""
    count = 0
    for i in range(image.shape[0]):
        if image[i] > 0.0:
            count += 1
    idx = np.empty(count, np.int64)
    rates = np.empty(count)
    p0 = np.empty(count)
    q = 0
    for i in range(image.shape[0]):
        if image[i] > 0.0:
            idx[q] = i
            rates[q] = phi * image[i]
            p0[q] = math.exp(-rates[q])
            q += 1
    return idx, rates, p0


@njit(cache=True, error_model="numpy")
def update_weights(
    sizes, pop_off, w_off, WT, bias, kernel, consts, flags, steps,
    hist, ring_idx, ring_n, slow, fast, drive, dslow, dfast,
    soma_f, sbar, alpha_f, alpha_t, rate_t, errors, errors_bp, spiking, head,
):
    """The updates of Eqs. 28–35 (reference ``apply_updates``, forward weights and biases).

    Returns the angle (degrees) between the local and the backprop error of hidden layer 0, or NaN.
    """
    n_pop = sizes.shape[0]
    out = n_pop - 1
    n_out = sizes[out]
    phi, k_b, k_d = consts[C_MAX_RATE], consts[C_KB], consts[C_KD]
    m = flags[F_M]
    o = pop_off[out]
    for j in range(n_out):
        sg = sigmoid(soma_f[o + j])
        errors[o + j] = (-k_d * phi) * (rate_t[j] - phi * sg) * (sg * (1.0 - sg))
        errors_bp[o + j] = errors[o + j]
    # local errors and (pre-update) backprop errors of the hidden layers, top-down
    for p in range(out - 1, 0, -1):
        off, n = pop_off[p], sizes[p]
        above, n_above, w = pop_off[p + 1], sizes[p + 1], w_off[p]
        v_above = errors_bp[above : above + n_above]
        need_bp = flags[F_BACKPROP] == 1 or flags[F_RECORD_ANGLE] == 1
        v_err = errors[off : off + n]
        v_soma = soma_f[off : off + n]
        for j in range(n):  # φ_max σ'(V̄^f), vectorised; then the errors
            sg = sigmoid_vector(v_soma[j])
            v_err[j] = phi * (sg * (1.0 - sg))
        for j in range(n):
            slope = errors[off + j]
            errors[off + j] = (-k_b) * (alpha_t[off + j] - alpha_f[off + j]) * slope
            if need_bp:
                total = 0.0
                v_w = WT[w + j * n_above : w + (j + 1) * n_above]
                for i in range(n_above):
                    total += v_w[i] * v_above[i]
                errors_bp[off + j] = total * k_b * slope
    angle = np.nan
    if flags[F_RECORD_ANGLE] == 1 and out > 1:
        dot, na, nb = 0.0, 0.0, 0.0
        off = pop_off[1]
        for j in range(sizes[1]):
            dot += errors[off + j] * errors_bp[off + j]
            na += errors[off + j] * errors[off + j]
            nb += errors_bp[off + j] * errors_bp[off + j]
        if na == 0.0 or nb == 0.0:
            angle = 90.0
        else:
            angle = math.degrees(math.acos(min(1.0, max(-1.0, dot / math.sqrt(na * nb)))))
    backprop = flags[F_BACKPROP] == 1
    for p in range(out, 0, -1):  # layer k = p − 1, top-down as in the code
        k = p - 1
        post, n_post = pop_off[p], sizes[p]
        pre, n_pre = pop_off[k], sizes[k]
        w = w_off[k]
        if backprop and p < out:
            if flags[F_BP_UPDATED] == 1:
                above, n_above, wa = pop_off[p + 1], sizes[p + 1], w_off[p]
                for j in range(n_post):
                    sg = sigmoid(soma_f[post + j])
                    total = 0.0
                    row = wa + j * n_above
                    for i in range(n_above):
                        total += WT[row + i] * errors[above + i]
                    errors[post + j] = total * k_b * (phi * (sg * (1.0 - sg)))
            else:
                for j in range(n_post):
                    errors[post + j] = errors_bp[post + j]
        step = steps[k]
        v_err = errors[post : post + n_post]
        v_sbar = sbar[pre : pre + n_pre]
        for i in range(n_pre):
            s_i = v_sbar[i]
            if s_i != 0.0:
                v_w = WT[w + i * n_post : w + (i + 1) * n_post]
                for j in range(n_post):
                    v_w[j] -= step * (v_err[j] * s_i)
        v_bias = bias[post : post + n_post]
        for j in range(n_post):
            v_bias[j] -= step * v_err[j]
        if spiking and flags[F_SPIKING_FF] == 1:
            # keep the stored drives W h equal to the new weights times the same spikes
            if flags[F_TRUNCATED] == 1:
                q_long, q_short = 0.0, 0.0
                for lag in range(m):
                    r = (head[0] - lag + m) % m
                    v_hist = hist[r, pre : pre + n_pre]
                    v_listed = ring_idx[r, pre : pre + n_pre]
                    q = 0.0
                    for s_i in range(ring_n[r, k]):  # the row's non-zero entries, in order
                        i = v_listed[s_i]
                        q += v_hist[i] * v_sbar[i]
                    if q != 0.0:
                        v_drive = drive[r, post : post + n_post]
                        for j in range(n_post):
                            v_drive[j] -= step * q * v_err[j]
                        q_long += consts[C_DL] ** (lag + 1) * q
                        q_short += consts[C_DS] ** (lag + 1) * q
                v_ds, v_df = dslow[post : post + n_post], dfast[post : post + n_post]
                for j in range(n_post):
                    v_ds[j] -= step * q_long * v_err[j]
                    v_df[j] -= step * q_short * v_err[j]
            else:
                v_slow, v_fast = slow[pre : pre + n_pre], fast[pre : pre + n_pre]
                qs, qf = 0.0, 0.0
                for i in range(n_pre):
                    qs += v_slow[i] * v_sbar[i]
                    qf += v_fast[i] * v_sbar[i]
                v_ds, v_df = dslow[post : post + n_post], dfast[post : post + n_post]
                for j in range(n_post):
                    v_ds[j] -= step * qs * v_err[j]
                    v_df[j] -= step * qf * v_err[j]
    return angle


@njit(cache=True, error_model="numpy")
def summarise(sizes, pop_off, flags, consts, e, n_forward, n_target, plateau_f, plateau_t,
              soma_acc_f, sbar_acc, apical_acc_f, apical_acc_t, rate_acc, fb_acc,
              soma_f, sbar, apical_f, alpha_f, alpha_t, rate_t, fb_mean,
              predicted, out_loss, hid_loss, out_fwd):
    """Window means (Eq. 5 plateaus), prediction, losses and V̄^{1,f} of example ``e``."""
    n_pop = sizes.shape[0]
    out = n_pop - 1
    n_out = sizes[out]
    phi = consts[C_MAX_RATE]
    for p in range(1, n_pop):
        for j in range(sizes[p]):
            soma_f[pop_off[p] + j] = soma_acc_f[pop_off[p] + j] / n_forward
    for p in range(n_pop - 1):
        for i in range(sizes[p]):
            sbar[pop_off[p] + i] = sbar_acc[pop_off[p] + i] / n_forward
    for o in range(n_out):
        rate_t[o] = rate_acc[o] / n_target
        fb_mean[o] = fb_acc[o] / n_forward
    for p in range(1, out):
        off, n = pop_off[p], sizes[p]
        v_apical, v_acc_f, v_acc_t = apical_f[off : off + n], apical_acc_f[off : off + n], (
            apical_acc_t[off : off + n])
        v_alpha_f, v_alpha_t = alpha_f[off : off + n], alpha_t[off : off + n]
        for j in range(n):  # vectorised
            v_apical[j] = v_acc_f[j] / plateau_f
            v_alpha_f[j] = sigmoid_vector(v_apical[j])
            v_alpha_t[j] = sigmoid_vector(v_acc_t[j] / plateau_t)
        loss = 0.0
        for j in range(n):
            diff = v_alpha_t[j] - v_alpha_f[j]
            loss += diff * diff
        hid_loss[e, p - 1] = loss
    units = flags[F_UNITS]
    best, best_value = 0, -np.inf
    for c in range(n_out // units):
        total = 0.0
        for u in range(units):
            total += soma_f[pop_off[out] + c * units + u]
        value = total / units
        if value > best_value:
            best, best_value = c, value
    predicted[e] = best
    for o in range(n_out):
        out_fwd[e, o] = soma_f[pop_off[out] + o]
    loss = 0.0
    for o in range(n_out):
        diff = rate_t[o] - phi * sigmoid(soma_f[pop_off[out] + o])
        loss += diff * diff
    out_loss[e] = loss


@njit(cache=True, error_model="numpy")
def train_spiking(
    images, targets, base_keys, f_lens, t_lens, offsets,
    sizes, pop_off, w_off, y_off, WT, bias, YT, cbias, kernel, consts, flags, steps,
    hist, slow, fast, soma, out_rate, head,
    predicted, out_loss, hid_loss, angles, out_fwd,
    soma_f, sbar, apical_f, alpha_f, alpha_t, rate_t, fb_mean,
    rec_pop, rec_idx, rec, rec_slots, feedback_noise,
):
    """Train online on a chunk of examples; return (completed, diverged layer or −1).

    Example e with ``rec_slots[e]`` ≥ 0 records its chosen neurons' potentials and spikes in
    ``rec[rec_slots[e]]`` (steps of both phases; :func:`run_phase`).

    With ``flags[F_SYMMETRIC]`` set (one hidden layer), Y is re-set after each example's weight
    update, Y = W¹ᵀ (Fig 8C) or Y = W¹ᵀ + ``feedback_noise[e]`` (Fig 8D; (examples, hidden,
    output), drawn by the caller), and the next example continues as in any other call: Y
    enters no drive, so the drives need no rebuilding. The result is that of one call per
    example with Y re-set in Python between calls to rounding (a fresh call rebuilds the drives
    from the spike history), with the same spikes.
    """
    total = pop_off[-1] + sizes[-1]
    n_out = sizes[-1]
    m = flags[F_M]
    truncated = flags[F_TRUNCATED] == 1
    drive = np.zeros((m if truncated else 1, total))
    dslow = np.zeros(total)
    dfast = np.zeros(total)
    rebuild_drives(sizes, pop_off, w_off, WT, hist, slow, fast, drive, dslow, dfast, flags,
                   consts, head)
    ring_idx, ring_n = ring_lists(hist, sizes, pop_off)
    scratch = np.zeros(total)
    fb_signal = np.zeros(n_out)
    soma_acc_f = np.zeros(total)
    soma_acc_t = np.zeros(total)
    sbar_acc = np.zeros(total)
    apical_acc_f = np.zeros(total)
    apical_acc_t = np.zeros(total)
    rate_acc = np.zeros(n_out)
    fb_acc = np.zeros(n_out)
    rate_dummy = np.zeros(n_out)
    errors = np.zeros(total)
    errors_bp = np.zeros(total)
    stochastic = flags[F_STOCHASTIC] == 1
    basal = np.zeros(sizes.max())
    decided = np.zeros((4, sizes.max() + 32), np.float32)
    int_scratch = np.zeros((2, sizes.max() + 32), np.int32)
    spikes_idx = np.zeros(sizes.max(), np.int64)
    spikes_count = np.zeros(sizes.max(), np.int64)
    apical_buf = np.zeros(sizes.max())
    for e in range(images.shape[0]):
        image_idx, image_rate, image_p0 = sparse_image(images[e], consts[C_MAX_RATE])
        image_thr = input_thresholds(image_rate, image_p0)
        soma_acc_f[:] = 0.0
        soma_acc_t[:] = 0.0
        sbar_acc[:] = 0.0
        apical_acc_f[:] = 0.0
        apical_acc_t[:] = 0.0
        rate_acc[:] = 0.0
        fb_acc[:] = 0.0
        f_len, t_len = f_lens[e], t_lens[e]
        status = run_phase(
            image_idx, image_rate, image_p0, image_thr, targets[e], False, base_keys[e], 0, f_len,
            1,
            offsets[e, 0], sizes, pop_off, w_off, y_off, WT, bias, YT, cbias, kernel, consts,
            flags, hist, ring_idx, ring_n, slow, fast, drive, dslow, dfast, soma, out_rate, head,
            soma_acc_f, sbar_acc, apical_acc_f, rate_dummy, fb_acc, scratch, fb_signal, basal,
            decided, int_scratch, spikes_idx, spikes_count, apical_buf, rec_pop, rec_idx, rec,
            rec_slots[e],
        )
        if status >= 0:
            return e, status
        status = run_phase(
            image_idx, image_rate, image_p0, image_thr, targets[e], True, base_keys[e], f_len,
            t_len, 2,
            offsets[e, 1], sizes, pop_off, w_off, y_off, WT, bias, YT, cbias, kernel, consts,
            flags, hist, ring_idx, ring_n, slow, fast, drive, dslow, dfast, soma, out_rate, head,
            soma_acc_t, sbar_acc, apical_acc_t, rate_acc, fb_acc, scratch, fb_signal, basal,
            decided, int_scratch, spikes_idx, spikes_count, apical_buf, rec_pop, rec_idx, rec,
            rec_slots[e],
        )
        if status >= 0:
            return e, status
        n_f = f_len - window_start(f_len, flags)
        n_t = t_len - window_start(t_len, flags)
        plateau_f = flags[F_PLATEAU_WINDOW] if stochastic else n_f
        plateau_t = flags[F_PLATEAU_WINDOW] if stochastic else n_t
        summarise(sizes, pop_off, flags, consts, e, n_f, n_t, plateau_f, plateau_t,
                  soma_acc_f, sbar_acc, apical_acc_f, apical_acc_t, rate_acc, fb_acc,
                  soma_f, sbar, apical_f, alpha_f, alpha_t, rate_t, fb_mean,
                  predicted, out_loss, hid_loss, out_fwd)
        if flags[F_UPDATE] == 1:
            angles[e] = update_weights(
                sizes, pop_off, w_off, WT, bias, kernel, consts, flags, steps,
                hist, ring_idx, ring_n, slow, fast, drive, dslow, dfast,
                soma_f, sbar, alpha_f, alpha_t, rate_t, errors, errors_bp, runtime_ints()[1] == 1,
                head,
            )
            if flags[F_SYMMETRIC] != SYMMETRIC_NONE:
                # (Y enters no drive: the drives, kept exact through the update, stay valid)
                symmetrise_feedback(sizes, w_off, y_off, WT, YT, feedback_noise, e,
                                    flags[F_SYMMETRIC] == SYMMETRIC_NOISY)
    return images.shape[0], -1


@njit(cache=True, error_model="numpy")
def symmetrise_feedback(sizes, w_off, y_off, WT, YT, noise, e, noisy):
    """Y⁰ = W¹ᵀ (+ ``noise[e]``) in YT's layout, for a network with one hidden layer (§2.8).

    YT holds Yᵀ row-major (element (o, h) at o·n_hidden + h) and WT holds W¹ᵀ row-major (element
    (h, o) at h·n_out + o): Y⁰[h, o] = W¹[o, h], plus noise[e, h, o] drawn with Y's shape, added
    as ``params.symmetrise_feedback`` adds it.
    """
    n_hidden, n_out = sizes[1], sizes[2]
    y, w = y_off[0], w_off[1]
    for h in range(n_hidden):
        for o in range(n_out):
            value = WT[w + h * n_out + o]
            if noisy:
                value = value + noise[e, h, o]
            YT[y + o * n_hidden + h] = value


@njit(cache=True, error_model="numpy")
def train_rate(
    images, targets, sizes, pop_off, w_off, y_off, WT, bias, Y, cbias, consts, flags, steps,
    predicted, out_loss, hid_loss, angles, out_fwd,
    soma_f, sbar, apical_f, alpha_f, alpha_t, rate_t, fb_mean,
):
    """The code's non-spiking mode (reference ``_rate_example``) on a chunk of examples."""
    n_pop = sizes.shape[0]
    out = n_pop - 1
    n_out = sizes[out]
    total = pop_off[-1] + sizes[-1]
    phi, k_b, k_d = consts[C_MAX_RATE], consts[C_KB], consts[C_KD]
    g_l, g_d, teach = consts[C_GL], consts[C_GD], consts[C_TEACH]
    basal = np.zeros(total)
    errors = np.zeros(total)
    errors_bp = np.zeros(total)
    apical_acc_f = np.zeros(total)
    apical_acc_t = np.zeros(total)
    soma_acc = np.zeros(total)
    rate_f = np.zeros(n_out)
    dummy2 = np.zeros((1, 1))
    dummy1 = np.zeros(1)
    one = runtime_ints()[1]
    for e in range(images.shape[0]):
        for i in range(sizes[0]):
            sbar[i] = phi * images[e, i]
        for p in range(1, n_pop):
            off, n = pop_off[p], sizes[p]
            pre, n_pre, w = pop_off[p - 1], sizes[p - 1], w_off[p - 1]
            v_basal = basal[off : off + n]
            for j in range(n):
                v_basal[j] = 0.0
            for i in range(n_pre):
                r = sbar[pre + i]
                if r != 0.0:
                    v_w = WT[w + i * n : w + (i + 1) * n]
                    for j in range(n):
                        v_basal[j] += v_w[j] * r
            v_bias, v_soma = bias[off : off + n], soma_acc[off : off + n]
            for j in range(n):
                v_basal[j] += v_bias[j]
            if p < out:
                v_rate = sbar[off : off + n]
                for j in range(n):  # vectorised
                    v_soma[j] = k_b * v_basal[j]
                    v_rate[j] = phi * sigmoid_vector(v_soma[j])
            else:
                for j in range(n):
                    v_soma[j] = k_d * v_basal[j]
                    rate_f[j] = phi * sigmoid(v_soma[j])
        for p in range(1, n_pop):
            for j in range(sizes[p]):
                if not math.isfinite(soma_acc[pop_off[p] + j]):
                    return e, p - 1
        o = pop_off[out]
        for j in range(n_out):
            g_exc = teach * targets[e, j]
            g_inh = teach * (1.0 - targets[e, j])
            v_t = (g_d * basal[o + j] + g_exc * consts[C_EE] + g_inh * consts[C_EI]) / (
                g_l + g_d + g_exc + g_inh
            )
            rate_t[j] = phi * sigmoid(v_t)
        for p in range(1, out):
            off, n = pop_off[p], sizes[p]
            for j in range(n):
                a_f, a_t = 0.0, 0.0
                yrow = y_off[p - 1] + j * n_out
                for q in range(n_out):
                    a_f += Y[yrow + q] * rate_f[q]
                    a_t += Y[yrow + q] * rate_t[q]
                if flags[F_HAS_CBIAS] == 1:
                    a_f += cbias[off + j]
                    a_t += cbias[off + j]
                apical_acc_f[off + j] = a_f
                apical_acc_t[off + j] = a_t
        # steady state: every "window" is a single value, so all divisors are 1
        summarise(sizes, pop_off, flags, consts, e, one, one, one, one, soma_acc, sbar,
                  apical_acc_f, apical_acc_t, rate_t, rate_f, soma_f, sbar, apical_f, alpha_f,
                  alpha_t, rate_t, fb_mean, predicted, out_loss, hid_loss, out_fwd)
        if flags[F_UPDATE] == 1:
            angles[e] = update_weights(
                sizes, pop_off, w_off, WT, bias, dummy1, consts, flags, steps,
                dummy2, np.zeros((1, 1), np.int64), np.zeros((1, 1), np.int64), dummy1, dummy1,
                dummy2, dummy1, dummy1,
                soma_f, sbar, alpha_f, alpha_t, rate_t, errors, errors_bp, one == 0,
                np.zeros(1, np.int64),
            )
    return images.shape[0], -1
