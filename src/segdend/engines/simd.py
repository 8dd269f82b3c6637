"""Small LLVM intrinsics for the fast engine's kernels: operations that Numba cannot express but
the compiler vectorises or maps to single vector instructions (DESIGN.md "Engines").

* :func:`float_from_bits` / :func:`float32_from_bits`: reinterpret integer bits as a float (to
  build 2^k in a vectorised e^x).
* :func:`select_above8`: stream compaction of eight neurons at a time. With LLVM ≥ 19 it uses the
  target-independent ``llvm.experimental.vector.compress`` (one instruction on AVX-512, expanded by
  LLVM elsewhere); with an older LLVM a scalar loop of the same result is used instead.
"""

from __future__ import annotations

import llvmlite.binding
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.core.errors import TypingError
from numba.extending import intrinsic

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


@intrinsic
def _select_above8_compress(typingctx, u, v, start, threshold, out_idx, out_u, out_v, pos):
    for name, array, dtype in (("u", u, types.float64), ("v", v, types.float64),
                               ("out_idx", out_idx, types.int64), ("out_u", out_u, types.float64),
                               ("out_v", out_v, types.float64)):
        if not (isinstance(array, types.Array) and array.ndim == 1 and array.layout == "C"
                and array.dtype == dtype):
            raise TypingError(f"select_above8: {name} must be a contiguous 1-D {dtype} array")
    sig = types.int64(u, v, types.int64, types.float64, out_idx, out_u, out_v, types.int64)

    def codegen(context, builder, signature, args):
        start_val, thr, pos_val = args[2], args[3], args[7]
        arrays = [context.make_array(signature.args[k])(context, builder, value=args[k])
                  for k in (0, 1, 4, 5, 6)]
        doubles = ir.VectorType(ir.DoubleType(), 8)
        longs = ir.VectorType(ir.IntType(64), 8)
        mask_type = ir.VectorType(ir.IntType(1), 8)

        def load(array, vector_type):
            pointer = builder.gep(array.data, [start_val])
            return builder.load(builder.bitcast(pointer, vector_type.as_pointer()), align=8)

        def store_compressed(vector, array, suffix):
            fnty = ir.FunctionType(vector.type, [vector.type, mask_type, vector.type])
            compress = cgutils.get_or_insert_function(
                builder.module, fnty, f"llvm.experimental.vector.compress.{suffix}")
            packed = builder.call(compress, [vector, mask, ir.Constant(vector.type, ir.Undefined)])
            pointer = builder.gep(array.data, [pos_val])
            builder.store(packed, builder.bitcast(pointer, vector.type.as_pointer()), align=8)

        values_u = load(arrays[0], doubles)
        values_v = load(arrays[1], doubles)
        mask = builder.fcmp_ordered(">", values_u, _splat(builder, thr, doubles))
        index = builder.add(_splat(builder, start_val, longs), ir.Constant(longs, list(range(8))))
        store_compressed(index, arrays[2], "v8i64")
        store_compressed(values_u, arrays[3], "v8f64")
        store_compressed(values_v, arrays[4], "v8f64")
        ctpop = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.IntType(8), [ir.IntType(8)]), "llvm.ctpop.i8")
        count = builder.call(ctpop, [builder.bitcast(mask, ir.IntType(8))])
        return builder.zext(count, ir.IntType(64))

    return sig, codegen


@njit(cache=True, error_model="numpy", inline="always")
def _select_above8_scalar(u, v, start, threshold, out_idx, out_u, out_v, pos):
    count = 0
    for k in range(8):
        i = start + k
        out_idx[pos + count] = i
        out_u[pos + count] = u[i]
        out_v[pos + count] = v[i]
        count += u[i] > threshold
    return count


# (the scalar form only with an LLVM older than 19)
_select = _select_above8_compress if HAS_VECTOR_COMPRESS else _select_above8_scalar


@njit(cache=True, error_model="numpy", inline="always")
def select_above8(u, v, start, threshold, out_idx, out_u, out_v, pos):
    """Of the eight entries ``start … start + 7``, those with u > threshold, in order: their
    indices, u and v go to ``out_*[pos:]``; returns how many.

    All eight slots ``out_*[pos : pos + 8]`` may be written, so outputs need 8 entries of slack;
    u and v must have the eight entries. NaN in u is not selected.
    """
    return _select(u, v, start, threshold, out_idx, out_u, out_v, pos)


@njit(cache=True, error_model="numpy")
def select_above8_scalar(u, v, start, threshold, out_idx, out_u, out_v, pos):
    """The scalar form of :func:`select_above8` (used with an LLVM older than 19; tested against
    the vector form)."""
    return _select_above8_scalar(u, v, start, threshold, out_idx, out_u, out_v, pos)
