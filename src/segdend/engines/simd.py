"""Small LLVM intrinsics for the fast engine's kernels: operations that Numba cannot express but
the compiler vectorises or maps to single vector instructions (DESIGN.md "Engines").

* :func:`float_from_bits` / :func:`float32_from_bits`: reinterpret integer bits as a float (to
  build 2^k in a vectorised e^x).
* :func:`draw_candidates8`: the uniform numbers of eight neurons and the stream compaction of
  the indices of those that may spike. With LLVM ≥ 19 it uses the target-independent
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


def _reinterpret(int_type, float_type, ir_type, doc):
    """An intrinsic that reinterprets the bits of an ``int_type`` as a ``float_type`` (vectorisable,
    unlike a view)."""

    def reinterpret(typingctx, bits):
        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], ir_type)

        return float_type(int_type), codegen

    reinterpret.__doc__ = doc
    return intrinsic(reinterpret)


float_from_bits = _reinterpret(types.int64, types.float64, ir.DoubleType(),
                               "The bits of an int64 as a float64.")
float32_from_bits = _reinterpret(types.int32, types.float32, ir.FloatType(),
                                 "The bits of an int32 as a float32.")


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
def _draw_candidates8_compress(typingctx, key, start, threshold, uniforms, out_idx, pos):
    _check_array("uniforms", uniforms, types.float32)
    _check_array("out_idx", out_idx, types.int64)
    sig = types.int64(types.uint64, types.int64, types.float64, uniforms, out_idx, types.int64)

    def codegen(context, builder, signature, args):
        key_val, start_val, thr, pos_val = args[0], args[1], args[2], args[5]
        u_arr, idx_arr = (context.make_array(signature.args[k])(context, builder, value=args[k])
                          for k in (3, 4))
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
        # every u, as float32, at uniforms[start:]
        target = builder.gep(u_arr.data, [start_val])
        builder.store(builder.fptrunc(u, floats), builder.bitcast(target, floats.as_pointer()),
                      align=4)
        # the selected indices, in order, at out_idx[pos:] (all eight slots written)
        fnty = ir.FunctionType(longs, [longs, mask_type, longs])
        compress = cgutils.get_or_insert_function(
            builder.module, fnty, "llvm.experimental.vector.compress.v8i64")
        packed = builder.call(compress, [index, mask, ir.Constant(longs, ir.Undefined)])
        target = builder.gep(idx_arr.data, [pos_val])
        builder.store(packed, builder.bitcast(target, longs.as_pointer()), align=8)
        ctpop = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.IntType(8), [ir.IntType(8)]), "llvm.ctpop.i8")
        count = builder.call(ctpop, [builder.bitcast(mask, ir.IntType(8))])
        return builder.zext(count, ir.IntType(64))

    return sig, codegen


def _signed(value: int) -> int:
    """A uint64 constant as the int64 with the same bits (LLVM integers carry no sign)."""
    return value - (1 << 64) if value >= 1 << 63 else value


@njit(cache=True, error_model="numpy", inline="always")
def _draw_candidates8_scalar(key, start, threshold, uniforms, out_idx, pos):
    count = 0
    for k in range(8):
        i = start + k
        u = uniform(key, i)
        uniforms[i] = np.float32(u)
        out_idx[pos + count] = i
        count += u > threshold
    return count


# (the scalar form only with an LLVM older than 19)
_draw = _draw_candidates8_compress if HAS_VECTOR_COMPRESS else _draw_candidates8_scalar


@njit(cache=True, error_model="numpy", inline="always")
def draw_candidates8(key, start, threshold, uniforms, out_idx, pos):
    """Uniform numbers u_j (``rng.uniforms`` under ``key``) of neurons j = start … start + 7: all
    of them (as float32) go to ``uniforms[start:]``, and the indices j with u_j > threshold, in
    order, to ``out_idx[pos:]``; returns how many were selected.

    All eight slots ``out_idx[pos : pos + 8]`` may be written (8 entries of slack needed).
    """
    return _draw(key, start, threshold, uniforms, out_idx, pos)


@njit(cache=True, error_model="numpy")
def draw_candidates8_compiled(key, start, threshold, uniforms, out_idx, pos):
    """:func:`draw_candidates8` callable from Python (for tests)."""
    return _draw(key, start, threshold, uniforms, out_idx, pos)


@njit(cache=True, error_model="numpy")
def draw_candidates8_scalar(key, start, threshold, uniforms, out_idx, pos):
    """The scalar form of :func:`draw_candidates8` (used with an LLVM older than 19; tested
    against the vector form)."""
    return _draw_candidates8_scalar(key, start, threshold, uniforms, out_idx, pos)
