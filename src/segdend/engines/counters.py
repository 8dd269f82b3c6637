"""The counter-based random numbers of :mod:`segdend.rng` in compiled form (DESIGN.md "Counter-based
random numbers"): the SplitMix64 hash, key derivation and neuron j's uniform number under a key."""

from __future__ import annotations

import numpy as np
from numba import njit

from segdend.rng import _M1, _M2, GOLDEN

#: The hash constants as Python ints (for code that builds them into LLVM constants).
HASH_GOLDEN, HASH_M1, HASH_M2 = GOLDEN, _M1, _M2
_U_GOLDEN = np.uint64(GOLDEN)
_U_M1 = np.uint64(_M1)
_U_M2 = np.uint64(_M2)
_U_IV = np.uint64(0x6A09E667F3BCC909)
_U11 = np.uint64(11)
_U27 = np.uint64(27)
_U30 = np.uint64(30)
_U31 = np.uint64(31)
#: 2^−53: a uniform number is (hash >> 11) · UNIT.
UNIT = 1.0 / 9007199254740992.0


@njit(cache=True, error_model="numpy", inline="always")
def mix64(x):
    """SplitMix64 output function (uint64 in, uint64 out)."""
    x = (x ^ (x >> _U30)) * _U_M1
    x = (x ^ (x >> _U27)) * _U_M2
    return x ^ (x >> _U31)


@njit(cache=True, error_model="numpy", inline="always")
def extend_key(key, part):
    """One step of ``rng.derive_key``: fold ``part`` into ``key``."""
    return mix64(key ^ mix64(np.uint64(part) + _U_GOLDEN))


@njit(cache=True, error_model="numpy")
def derive_key2(a, b):
    """``rng.derive_key(a, b)`` in compiled form: the prefix of ``derive_key3(a, b, ·)``."""
    return extend_key(extend_key(_U_IV, a), b)


@njit(cache=True, error_model="numpy")
def derive_key3(a, b, c):
    """``rng.derive_key(a, b, c)`` in compiled form (= ``extend_key(derive_key2(a, b), c)``)."""
    return extend_key(derive_key2(a, b), c)


@njit(cache=True, error_model="numpy")
def extend_keys(prefix, parts):
    """``extend_key(prefix, part)`` for each of ``parts`` (int64): with ``prefix =
    rng.derive_key(*head)``, the keys ``rng.derive_key(*head, part)``, without a Python loop."""
    out = np.empty(parts.shape[0], np.uint64)
    for k in range(parts.shape[0]):
        out[k] = extend_key(prefix, parts[k])
    return out


@njit(cache=True, error_model="numpy", inline="always")
def uniform(key, j):
    """The uniform number of neuron j under ``key`` (``rng.uniforms``)."""
    return float(mix64(key + np.uint64(j + 1) * _U_GOLDEN) >> _U11) * UNIT
