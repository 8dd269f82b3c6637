"""Compiled Poisson spike generation of the fast engine (PAPER.md §1.2, §1.5; DESIGN.md "Engines").

The counts are those of :func:`segdend.rng.poisson_counts`: neuron j's uniform number under a
step's key is ``mix64(key + (j + 1) · GOLDEN)``, and its count inverts the Poisson CDF at that
number. What is compiled here is *how* the inversion is decided, in loops that the compiler
vectorises:

* **Input pixels** keep their rate φ_max·x for a whole example, so their CDF values
  F_0 ≤ F_1 ≤ … are computed once per example, with the same floating-point operations, in the
  same order, as the scalar inversion; a count is then the number of thresholds below u.
* **Hidden neurons** change rate every step. Only the candidates (u > e^{−φ_max}; every other
  neuron cannot spike), selected sixteen at a time from the uniform numbers in float32
  (:func:`segdend.engines.simd.select_at_least16`), get a rate: φ_max σ(V) and the CDF values
  F_0..F_3 are computed in float32 vector arithmetic (:func:`poisson_cdf_float32`, absolute error
  below 1e-6), and the count is the number of F_k below u. A draw within MARGIN_FLOAT32 = 1e-5 of
  an F_k (about 1 candidate in 2,500), beyond F_3, or with a NaN potential is recomputed exactly
  in float64 with the library's e^x, so every count is the exact inversion's.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from segdend.engines.counters import uniform
from segdend.engines.simd import float32_from_bits, float_from_bits, select_at_least16

#: Distance (in probability) from a bound within which a count is computed exactly.
MARGIN = 1e-12
#: CDF thresholds kept per input pixel: counts up to this many are decided by comparisons.
INPUT_THRESHOLDS = 4


@njit(cache=True, error_model="numpy", inline="always")
def sigmoid(x):
    """σ(x) = 1/(1 + e^{−x}) with the library's e^x (scalar use and the exact spike path)."""
    return 1.0 / (1.0 + math.exp(-x))


_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # trailing zero bits: k · _LN2_HI is exact for |k| < 2^11
_LN2_LO = 1.90821492927058770002e-10
_INV_FACTORIALS = tuple(1.0 / math.factorial(n) for n in range(14))


@njit(cache=True, error_model="numpy", inline="always")
def exp_vector(x):
    """e^x for |x| ≤ 708 (clamped beyond; NaN gives NaN), relative error below 1e-15, in
    vectorisable form.

    x = k ln 2 + r with |r| ≤ ln(2)/2 (Cody–Waite), e^r by its Taylor polynomial to r^13
    (remainder < 2e-17, evaluated by Estrin's scheme), 2^k built from its bits.
    """
    clamped = min(max(x, -708.0), 708.0)
    k = math.floor(clamped * _LOG2E + 0.5)
    r = (clamped - k * _LN2_HI) - k * _LN2_LO
    a = _INV_FACTORIALS  # Estrin's scheme: a shorter dependency chain than Horner's
    r2 = r * r
    r4 = r2 * r2
    s0 = (a[0] + a[1] * r) + (a[2] + a[3] * r) * r2
    s1 = (a[4] + a[5] * r) + (a[6] + a[7] * r) * r2
    s2 = (a[8] + a[9] * r) + (a[10] + a[11] * r) * r2
    s3 = a[12] + a[13] * r
    p = (s0 + s1 * r4) + (s2 + s3 * r4) * (r4 * r4)
    value = p * float_from_bits((np.int64(k) + 1023) << 52)
    return value if x == x else x  # NaN stays NaN


@njit(cache=True, error_model="numpy", inline="always")
def sigmoid_vector(x):
    """σ(x) with :func:`exp_vector`: for loops over neurons that the compiler vectorises (in a
    scalar loop the library's e^x, :func:`sigmoid`, is faster)."""
    return 1.0 / (1.0 + exp_vector(-x))

@njit(cache=True, error_model="numpy", inline="always")
def poisson_tail(u, rate, p0):
    """Inverse Poisson CDF at u given p0 = e^{−rate} (``rng.poisson_from_uniform``)."""
    p = p0
    cdf = p
    k = 0
    while u > cdf:
        k += 1
        p = p * rate / k
        cdf = cdf + p
        if k > 64:
            break
    return k


@njit(cache=True, error_model="numpy", inline="always")
def poisson_bracketed(u, rate):
    """``poisson_tail(u, rate, e^{−rate})`` without computing e^{−rate} in the common cases.

    1 − r ≤ e^{−r} ≤ 1 − r + r²/2 and e^{−r}(1 + r) ≥ 1 − r²/2 for r ≥ 0; away from these bounds
    (by far more than rounding) the count is 0 or 1 for certain. Otherwise it is computed exactly.
    """
    if rate <= 0.0:
        return 0
    low = 1.0 - rate
    if u <= low - MARGIN:
        return 0
    half_square = 0.5 * rate * rate
    if u > low + half_square + MARGIN and u <= 1.0 - half_square - MARGIN:
        return 1
    return poisson_tail(u, rate, math.exp(-rate))


@njit(cache=True, error_model="numpy")
def input_thresholds(rates, p0):
    """The CDF values F_0 … F_{K−1} (K = INPUT_THRESHOLDS) of each pixel's Poisson count.

    Computed exactly as :func:`poisson_tail` accumulates them, so that ``count = #{k: u > F_k}``
    equals its result whenever that is below K.
    """
    out = np.empty((INPUT_THRESHOLDS, rates.shape[0]))
    for q in range(rates.shape[0]):
        p = p0[q]
        cdf = p
        out[0, q] = cdf
        for k in range(1, INPUT_THRESHOLDS):
            p = p * rates[q] / k
            cdf = cdf + p
            out[k, q] = cdf
    return out


@njit(cache=True, error_model="numpy", inline="never")
def input_spikes(key, pixel_idx, pixel_rate, pixel_p0, thresholds, counts, selected, spikes_idx,
                 spikes_count):
    """Spike counts of the input pixels with non-zero rate at one step; returns how many spiked.

    ``counts`` and ``selected`` are int32 scratch arrays at least 16 longer than ``pixel_idx``.
    """
    n = pixel_idx.shape[0]
    for q in range(n):
        u = uniform(key, pixel_idx[q])
        counts[q] = (np.int32(u > thresholds[0, q]) + np.int32(u > thresholds[1, q])) + (
            np.int32(u > thresholds[2, q]) + np.int32(u > thresholds[3, q]))
    # the pixels that spiked, sixteen at a time
    whole = n - n % 16
    n_spikes = 0
    for g in range(0, whole, 16):
        n_spikes += select_at_least16(counts, g, np.int32(1), selected, n_spikes)
    for q in range(whole, n):
        selected[n_spikes] = q
        n_spikes += counts[q] > 0
    for s in range(n_spikes):
        q = selected[s]
        count = np.int64(counts[q])
        if count == INPUT_THRESHOLDS:  # beyond the stored thresholds: invert exactly
            count = poisson_tail(uniform(key, pixel_idx[q]), pixel_rate[q], pixel_p0[q])
        spikes_idx[s] = pixel_idx[q]
        spikes_count[s] = count
    return n_spikes


# float32 constants: a Python float in an expression would promote float32 arithmetic to float64.
_F32 = np.float32
_F32_LOG2E = _F32(_LOG2E)
_F32_LN2_HI = _F32(0.693359375)  # 355/512: k · _F32_LN2_HI is exact for |k| < 2^15
_F32_LN2_LO = _F32(math.log(2.0) - 0.693359375)
_F32_CLAMP = _F32(80.0)
_F32_ONE = _F32(1.0)
_F32_HALF = _F32(0.5)
_F32_THIRD = _F32(1.0 / 3.0)
_F32_FOUR = _F32(4.0)
_F32_ZERO = _F32(0.0)
_F32_MINUS_ONE = _F32(-1.0)
_F32_INV_FACTORIALS = tuple(_F32(1.0 / math.factorial(n)) for n in range(8))
#: Distance (in probability) within which a float32 decision is recomputed exactly. The float32
#: CDF values carry an absolute error below 1e-6 (rounding of V, u and each operation, and the
#: degree-7 exponential), so a draw farther than this from every one is decided correctly.
MARGIN_FLOAT32 = _F32(1e-5)


@njit(cache=True, error_model="numpy", inline="always")
def exp_float32(x):
    """e^x in float32 for |x| ≤ 80 (clamped beyond), relative error below 1e-6, vectorisable.

    Used only where a decision is checked against a margin (:func:`hidden_spikes`).
    """
    clamped = min(max(x, -_F32_CLAMP), _F32_CLAMP)
    k = np.floor(clamped * _F32_LOG2E + _F32_HALF)
    r = (clamped - k * _F32_LN2_HI) - k * _F32_LN2_LO
    a = _F32_INV_FACTORIALS
    r2 = r * r
    p = ((a[0] + a[1] * r) + (a[2] + a[3] * r) * r2) + (
        (a[4] + a[5] * r) + (a[6] + a[7] * r) * r2) * (r2 * r2)
    return p * float32_from_bits((np.int32(k) + np.int32(127)) << np.int32(23))


@njit(cache=True, error_model="numpy", inline="always")
def poisson_cdf_float32(v, rate_max):
    """F_0 … F_3 of a Poisson count with rate φ_max σ(V), in float32 (absolute error < 1e-6).

    ``rate_max`` is φ_max as a float32. Vectorisable; used for decisions with a margin.
    """
    rate = rate_max / (_F32_ONE + exp_float32(-_F32(v)))
    p = exp_float32(-rate)
    f0 = p
    p = p * rate
    f1 = f0 + p
    p = p * rate * _F32_HALF
    f2 = f1 + p
    p = p * rate * _F32_THIRD
    return f0, f1, f2, f2 + p


@njit(cache=True, error_model="numpy", inline="never", fastmath={"contract"})
def hidden_spikes(key, v_soma, n, max_rate, scratch, candidates, spikes_idx, spikes_count):
    """Spike counts of a population with rates φ_max σ(V) at one step; returns how many spiked.

    ``scratch`` is a float32 (4, n + 32) work array and ``candidates`` an int32 work array of
    length n + 16. Every rate is at most φ_max, so a uniform number u ≤ e^{−φ_max} means no spike
    for certain: only the other neurons (the candidates, about 18 % at φ_max = 0.2) get a rate,
    first in float32 (:func:`poisson_cdf_float32`); draws near a decision boundary and NaN
    potentials are computed exactly (NaN gives no spike).
    """
    uniforms, cand_u, cand_v, decided = scratch[0], scratch[1], scratch[2], scratch[3]
    no_spike_below = math.exp(-max_rate)
    # every uniform number, as float32 (a loop the compiler vectorises) ...
    for i in range(n):
        uniforms[i] = _F32(uniform(key, i))
    # ... and the candidates' indices, sixteen neurons at a time. Rounding to float32 keeps the
    # order, so u > e^{−φ_max} implies float32(u) ≥ float32(e^{−φ_max}): a superset is selected,
    # and the extra neurons are decided like the others (count 0).
    threshold = _F32(no_spike_below)
    whole = n - n % 16
    n_cand = 0
    for g in range(0, whole, 16):
        n_cand += select_at_least16(uniforms, g, threshold, candidates, n_cand)
    for i in range(whole, n):
        candidates[n_cand] = i
        n_cand += uniforms[i] >= threshold
    for c in range(n_cand):  # gathered: the loop below then runs on contiguous float32 arrays
        i = candidates[c]
        cand_u[c] = uniforms[i]
        cand_v[c] = _F32(v_soma[i])
    n_pad = (n_cand + 31) & ~31  # whole vectors: no scalar remainder loop
    for c in range(n_cand, n_pad):
        cand_v[c] = _F32_ZERO
        cand_u[c] = _F32_ZERO
    rate_max = _F32(max_rate)
    for c in range(n_pad):
        # the count is the number of F_k below u unless u lies within MARGIN_FLOAT32 of one of
        # them, or beyond F_3, or V is NaN (then it is computed exactly below)
        v = cand_v[c]
        u = cand_u[c]
        f0, f1, f2, f3 = poisson_cdf_float32(v, rate_max)
        count = (_F32(u > f0) + _F32(u > f1)) + (_F32(u > f2) + _F32(u > f3))
        near = ((abs(u - f0) <= MARGIN_FLOAT32) | (abs(u - f1) <= MARGIN_FLOAT32)) | (
            (abs(u - f2) <= MARGIN_FLOAT32) | (abs(u - f3) <= MARGIN_FLOAT32))
        exact = near | (count == _F32_FOUR) | (v != v)
        decided[c] = _F32_MINUS_ONE if exact else count
    n_spikes = 0
    for c in range(n_cand):
        i = candidates[c]
        count = np.int64(decided[c])
        if count < 0:  # in float64, from the potential and the uniform number themselves
            rate = max_rate * sigmoid(v_soma[i])
            count = poisson_tail(uniform(key, i), rate, math.exp(-rate))
        spikes_idx[n_spikes] = i
        spikes_count[n_spikes] = count
        n_spikes += count > 0
    return n_spikes
