"""Small LLVM intrinsics for the fast engine's kernels: operations that Numba cannot express but
the compiler vectorises or maps to single vector instructions (DESIGN.md "Engines").

* :func:`float_from_bits` / :func:`float32_from_bits`: reinterpret integer bits as a float (to
  build 2^k in a vectorised e^x).
* :func:`select_at_least16`: stream compaction of the indices of sixteen float32 or int32 values
  that reach a threshold (the neurons that may spike, the pixels that spiked). With LLVM ≥ 19 it
  uses the target-independent ``llvm.experimental.vector.compress`` (one instruction on
  AVX-512, expanded by LLVM elsewhere); with an older LLVM a scalar loop of the same result is
  used instead.
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
                                  ir.Constant(ir.VectorType(ir.IntType(32), vector_type.count),
                                              [0] * vector_type.count))


def _check_array(name, array, dtype):
    if not (isinstance(array, types.Array) and array.ndim == 1 and array.layout == "C"
            and array.dtype == dtype):
        raise TypingError(f"select_at_least16: {name} must be a contiguous 1-D {dtype} array")


@intrinsic
def _select_at_least16_compress(typingctx, values, start, threshold, out_idx, pos):
    is_float = isinstance(values, types.Array) and values.dtype == types.float32
    _check_array("values", values, types.float32 if is_float else types.int32)
    _check_array("out_idx", out_idx, types.int32)
    sig = types.int64(values, types.int64, values.dtype, out_idx, types.int64)

    def codegen(context, builder, signature, args):
        start_val, thr, pos_val = args[1], args[2], args[4]
        v_arr, idx_arr = (context.make_array(signature.args[k])(context, builder, value=args[k])
                          for k in (0, 3))
        ints = ir.VectorType(ir.IntType(32), 16)
        vectors = ir.VectorType(ir.FloatType(), 16) if is_float else ints
        mask_type = ir.VectorType(ir.IntType(1), 16)
        source = builder.gep(v_arr.data, [start_val])
        value = builder.load(builder.bitcast(source, vectors.as_pointer()), align=4)
        bound = _splat(builder, thr, vectors)
        mask = (builder.fcmp_ordered(">=", value, bound) if is_float
                else builder.icmp_signed(">=", value, bound))
        index = builder.add(_splat(builder, builder.trunc(start_val, ir.IntType(32)), ints),
                            ir.Constant(ints, list(range(16))))
        # the selected indices, in order, at out_idx[pos:] (all sixteen slots written)
        compress = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ints, [ints, mask_type, ints]),
            "llvm.experimental.vector.compress.v16i32")
        packed = builder.call(compress, [index, mask, ir.Constant(ints, ir.Undefined)])
        target = builder.gep(idx_arr.data, [pos_val])
        builder.store(packed, builder.bitcast(target, ints.as_pointer()), align=4)
        ctpop = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.IntType(16), [ir.IntType(16)]), "llvm.ctpop.i16")
        count = builder.call(ctpop, [builder.bitcast(mask, ir.IntType(16))])
        return builder.zext(count, ir.IntType(64))

    return sig, codegen


@njit(cache=True, error_model="numpy", inline="always")
def _select_at_least16_scalar(values, start, threshold, out_idx, pos):
    count = 0
    for k in range(16):
        out_idx[pos + count] = start + k
        count += values[start + k] >= threshold
    return count


# (the scalar form only with an LLVM older than 19)
_select = _select_at_least16_compress if HAS_VECTOR_COMPRESS else _select_at_least16_scalar


@njit(cache=True, error_model="numpy", inline="always")
def select_at_least16(values, start, threshold, out_idx, pos):
    """The indices j = start … start + 15 with ``values[j] >= threshold``, in order, go to
    ``out_idx[pos:]`` (int32); returns how many were selected. ``values`` is float32 (NaN is never
    selected) or int32, and ``threshold`` of the same type.

    All sixteen slots ``out_idx[pos : pos + 16]`` may be written (16 entries of slack needed).
    """
    return _select(values, start, threshold, out_idx, pos)


@njit(cache=True, error_model="numpy")
def select_at_least16_compiled(values, start, threshold, out_idx, pos):
    """:func:`select_at_least16` callable from Python (for tests)."""
    return _select(values, start, threshold, out_idx, pos)


@njit(cache=True, error_model="numpy")
def select_at_least16_scalar(values, start, threshold, out_idx, pos):
    """The scalar form of :func:`select_at_least16` (used with an LLVM older than 19; tested
    against the vector form)."""
    return _select_at_least16_scalar(values, start, threshold, out_idx, pos)
