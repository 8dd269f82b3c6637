"""Counter-based random numbers shared by every engine (DESIGN.md, "Engines").

Every random number in a simulation is a pure function of a key: the run's seed, a stream
(what the number is for), and counters (example, time step, neuron). Nothing is carried from one
draw to the next, so a resumed run, a run split across workers, and a different engine all draw the
same numbers.

Two kinds of draws exist:

* **Per-step spikes** (the hot path). A 64-bit key is derived once per (stream, example, step);
  the uniform number of neuron ``j`` is ``mix64(key + (j + 1) * GOLDEN)`` (the SplitMix64 output
  function at position ``j``). Poisson counts are obtained by inverting the CDF (PAPER.md §1.2,
  §1.5: rates are at most 0.2 spikes per step, so one or two comparisons suffice). The functions
  below are written so that Numba can compile the scalar forms with identical integer arithmetic.
* **Everything else** (weight initialisation, shuffles, phase lengths, plateau times, feedback
  noise). These use NumPy's Philox generator, itself counter-based, keyed by the same hash.
"""

from __future__ import annotations

import numpy as np

MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
_UNIT = 1.0 / 9007199254740992.0  # 2**-53

# Stream identifiers: what a random number is used for.
STREAM_TRAIN = 1
STREAM_TEST = 2
STREAM_INIT = 3
STREAM_SHUFFLE = 4
STREAM_PHASES = 5
STREAM_PLATEAUS = 6
STREAM_FEEDBACK_NOISE = 7
STREAM_SPARSE = 8


def mix64_int(x: int) -> int:
    """SplitMix64 output function on a Python int (exact 64-bit arithmetic)."""
    x &= MASK64
    x = ((x ^ (x >> 30)) * _M1) & MASK64
    x = ((x ^ (x >> 27)) * _M2) & MASK64
    return x ^ (x >> 31)


def derive_key(*parts: int) -> int:
    """Fold integers (seed, stream, counters) into one 64-bit key, order-sensitively."""
    key = 0x6A09E667F3BCC909
    for part in map(int, parts):  # NumPy integers would overflow below
        if part < 0:
            raise ValueError(f"key parts must be non-negative, got {part}")
        key = mix64_int(key ^ mix64_int((part + GOLDEN) & MASK64))
    return key


def step_key(base_key: int, population: int, step: int) -> int:
    """Key of one population's draws at one time step, from an example's base key."""
    return derive_key(base_key, population, step)


def uniforms(key: int, n: int) -> np.ndarray:
    """``n`` uniform numbers in [0, 1) for neurons ``0..n-1`` under ``key`` (vectorised)."""
    j = np.arange(1, n + 1, dtype=np.uint64)
    x = np.uint64(key) + j * np.uint64(GOLDEN)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(_M1)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(_M2)
    x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) * _UNIT


def poisson_from_uniform(rate: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Poisson counts with mean ``rate`` by inverting the CDF at ``u`` (PAPER.md §1.5).

    The scalar loop ``p = exp(-rate); F = p; k = 0; while u > F: k += 1; p = p * rate / k;
    F += p`` is evaluated in lockstep for all neurons, with the same floating-point operations in
    the same order as the compiled engines use.
    """
    rate = np.asarray(rate, dtype=np.float64)
    p = np.exp(-rate)
    cdf = p.copy()
    counts = np.zeros(rate.shape, dtype=np.int64)
    active = u > cdf
    k = 0
    while active.any():
        k += 1
        counts += active
        p = p * rate / k
        cdf = cdf + p
        active &= u > cdf
        if k > 64:  # rates here are <= 1 per step; this bound is never reached in practice
            break
    return counts


def poisson_counts(key: int, rate: np.ndarray) -> np.ndarray:
    """Poisson spike counts for one population at one step: ``rate[j]`` is neuron j's mean."""
    return poisson_from_uniform(rate, uniforms(key, rate.shape[0]))


def generator(*parts: int) -> np.random.Generator:
    """A NumPy Philox generator keyed by ``derive_key(*parts)`` (for non-hot-path draws)."""
    key = derive_key(*parts)
    return np.random.Generator(np.random.Philox(key=np.array([key, mix64_int(key)], np.uint64)))
