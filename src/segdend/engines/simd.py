"""Small LLVM intrinsics for the fast engine's kernels: operations that Numba cannot express but
the compiler vectorises or maps to single vector instructions (DESIGN.md "Engines").

* :func:`float_from_bits` / :func:`float32_from_bits`: reinterpret integer bits as a float (to
  build 2^k in a vectorised e^x).
* :func:`draw_candidates8`: the uniform numbers of eight neurons and the stream compaction of
  those that may spike. With LLVM ≥ 19 it uses the target-independent
  ``llvm.experimental.vector.compress`` (one instruction on AVX-512, expanded by LLVM elsewhere);
  with an older LLVM a scalar loop of the same result is used instead.
"""

from __future__ import annotations

import llvmlite.binding
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.core.errors import TypingError
from numba.extending import intrinsic

from segdend.engines.counters import HASH_GOLDEN, HASH_M1, HASH_M2, UNIT, uniform

#: Whether LLVM provides the vector-compress intrinsic (LLVM 19 and later).
HAS_VECTOR_COMPRESS = llvmlite.binding.llvm_version_info >= (19,)


@intrinsic
def float_from_bits(typingctx, bits):
    """Reinterpret the bits of an int64 as a float64 (vectorisable, unlike a view)."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen


@intrinsic
def float32_from_bits(typingctx, bits):
    """Reinterpret the bits of an int32 as a float32 (vectorisable, unlike a view)."""
    sig = types.float32(types.int32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return sig, codegen


def _splat(builder, value, vector_type):
    vector = builder.insert_element(ir.Constant(vector_type, ir.Undefined), value,
                                    ir.Constant(ir.IntType(32), 0))
    return builder.shuffle_vector(vector, ir.Constant(vector_type, ir.Undefined),
                                  ir.Constant(ir.VectorType(ir.IntType(32), 8), [0] * 8))


def _check_array(name, array, dtype):
    if not (isinstance(array, types.Array) and array.ndim == 1 and array.layout == "C"
            and array.dtype == dtype):
        raise TypingError(f"draw_candidates8: {name} must be a contiguous 1-D {dtype} array")


@intrinsic
def _draw_candidates8_compress(typingctx, key, v, start, threshold, out_idx, out_u, out_v, pos):
    _check_array("v", v, types.float64)
    _check_array("out_idx", out_idx, types.int64)
    _check_array("out_u", out_u, types.float32)
    _check_array("out_v", out_v, types.float32)
    sig = types.int64(types.uint64, v, types.int64, types.float64, out_idx, out_u, out_v,
                      types.int64)

    def codegen(context, builder, signature, args):
        key_val, start_val, thr, pos_val = args[0], args[2], args[3], args[7]
        v_arr, idx_arr, u_arr, vo_arr = (
            context.make_array(signature.args[k])(context, builder, value=args[k])
            for k in (1, 4, 5, 6))
        longs = ir.VectorType(ir.IntType(64), 8)
        doubles = ir.VectorType(ir.DoubleType(), 8)
        floats = ir.VectorType(ir.FloatType(), 8)
        mask_type = ir.VectorType(ir.IntType(1), 8)

        def const(value):
            return ir.Constant(longs, [value] * 8)

        index = builder.add(_splat(builder, start_val, longs), ir.Constant(longs, list(range(8))))
        # u_j = mix64(key + (j + 1)·GOLDEN) >> 11, times 2^−53 (rng.uniforms; wrapping uint64)
        x = builder.add(_splat(builder, key_val, longs),
                        builder.mul(builder.add(index, const(1)), const(_signed(HASH_GOLDEN))))
        x = builder.mul(builder.xor(x, builder.lshr(x, const(30))), const(_signed(HASH_M1)))
        x = builder.mul(builder.xor(x, builder.lshr(x, const(27))), const(_signed(HASH_M2)))
        x = builder.xor(x, builder.lshr(x, const(31)))
        u = builder.fmul(builder.uitofp(builder.lshr(x, const(11)), doubles),
                         ir.Constant(doubles, [UNIT] * 8))
        mask = builder.fcmp_ordered(">", u, _splat(builder, thr, doubles))
        pointer = builder.gep(v_arr.data, [start_val])
        v = builder.load(builder.bitcast(pointer, doubles.as_pointer()), align=8)

        def store_compressed(vector, array, suffix):
            fnty = ir.FunctionType(vector.type, [vector.type, mask_type, vector.type])
            compress = cgutils.get_or_insert_function(
                builder.module, fnty, f"llvm.experimental.vector.compress.{suffix}")
            packed = builder.call(compress, [vector, mask, ir.Constant(vector.type, ir.Undefined)])
            target = builder.gep(array.data, [pos_val])
            builder.store(packed, builder.bitcast(target, vector.type.as_pointer()), align=4)

        store_compressed(index, idx_arr, "v8i64")
        store_compressed(builder.fptrunc(u, floats), u_arr, "v8f32")
        store_compressed(builder.fptrunc(v, floats), vo_arr, "v8f32")
        ctpop = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.IntType(8), [ir.IntType(8)]), "llvm.ctpop.i8")
        count = builder.call(ctpop, [builder.bitcast(mask, ir.IntType(8))])
        return builder.zext(count, ir.IntType(64))

    return sig, codegen


def _signed(value: int) -> int:
    """A uint64 constant as the int64 with the same bits (LLVM integers carry no sign)."""
    return value - (1 << 64) if value >= 1 << 63 else value


@njit(cache=True, error_model="numpy", inline="always")
def _draw_candidates8_scalar(key, v, start, threshold, out_idx, out_u, out_v, pos):
    count = 0
    for k in range(8):
        i = start + k
        u = uniform(key, i)
        out_idx[pos + count] = i
        out_u[pos + count] = np.float32(u)
        out_v[pos + count] = np.float32(v[i])
        count += u > threshold
    return count


# (the scalar form only with an LLVM older than 19)
_draw = _draw_candidates8_compress if HAS_VECTOR_COMPRESS else _draw_candidates8_scalar


@njit(cache=True, error_model="numpy", inline="always")
def draw_candidates8(key, v, start, threshold, out_idx, out_u, out_v, pos):
    """Uniform numbers u_j (``rng.uniforms`` under ``key``) of neurons j = start … start + 7, and
    of those with u_j > threshold, in order: j, u_j and v[j] (both as float32) go to
    ``out_*[pos:]``; returns how many.

    All eight slots ``out_*[pos : pos + 8]`` may be written, so outputs need 8 entries of slack.
    """
    return _draw(key, v, start, threshold, out_idx, out_u, out_v, pos)


@njit(cache=True, error_model="numpy")
def draw_candidates8_scalar(key, v, start, threshold, out_idx, out_u, out_v, pos):
    """The scalar form of :func:`draw_candidates8` (used with an LLVM older than 19; tested
    against the vector form)."""
    return _draw_candidates8_scalar(key, v, start, threshold, out_idx, out_u, out_v, pos)


@njit(cache=True, error_model="numpy")
def draw_candidates8_compiled(key, v, start, threshold, out_idx, out_u, out_v, pos):
    """:func:`draw_candidates8` callable from Python (for tests)."""
    return _draw(key, v, start, threshold, out_idx, out_u, out_v, pos)
