"""Calls of ops bound to TensorFlow's parameters, against the op registry.

Input: an ``OpDef`` (``opdefs.REGISTRY``), the arguments of one call as the
parser saw them (positional, keyword), each an opaque object with its
position. Output: which parameter each argument fills (``bind``), and
attribute values checked against their parameter's kind (``check_attr``).
Both raise ``GraphError`` with code TG203 (an op call error) at the
offending argument. The parser has no op list of its own: an op is valid
the moment it is registered; ``TF_OPS`` only lets a message say that a
TensorFlow op tfgrad lacks is not a typo.

No SymPy here: parsing imports the registry's records, not the engine.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any, Callable, Generic, NoReturn, Sequence, TypeVar

from typing import TYPE_CHECKING

from .graph import GraphError, Pos

if TYPE_CHECKING:
    from .opdefs import OpDef, Param

# Parameter kinds (opdefs.spec's), spelled here so that importing the parser
# does not import the registry (whose families import SymPy's node types):
# the registry is imported on the first call that needs it.
TENSOR = "tensor"
TENSORS = "tensors"


def lookup(name: str) -> "OpDef | None":
    from .opdefs import lookup as _lookup

    return _lookup(name)


def registry_names() -> list[str]:
    from .opdefs import REGISTRY

    return list(REGISTRY)

__all__ = ["Bound", "DTYPES", "TF_OPS", "bind", "check_attr", "unknown_op_message", "NOT_A_VALUE"]

# The dtypes a value or a dtype attribute may name (TF's names).
DTYPES = ("float32", "float64", "int32", "int64", "bool")
_OTHER_TF_DTYPES = ("float16", "bfloat16", "half", "double", "int8", "int16", "uint8", "uint16",
                    "uint32", "uint64", "complex64", "complex128", "string", "qint8", "resource",
                    "variant")

# Common TensorFlow 2 op names (``tf``, ``tf.math``, ``tf.nn``, ``tf.linalg``,
# ``tf.image`` and a few of ``tf.signal``): a call of one that tfgrad has not
# registered says "tfgrad does not have 'X' yet" instead of suggesting a
# different op (reduce_mean is never what a user of reduce_max meant).
TF_OPS = frozenset("""
abs accumulate_n acos acosh add add_n angle argmax argmin argsort asin asinh atan atan2 atanh
avg_pool avg_pool1d avg_pool2d avg_pool3d batch_jacobian batch_norm_with_global_normalization
batch_normalization batch_to_space bessel_i0 bessel_i0e bessel_i1 bessel_i1e betainc bias_add
bincount bitcast boolean_mask broadcast_dynamic_shape broadcast_static_shape broadcast_to
band_part cast ceil cholesky cholesky_solve clip_by_global_norm clip_by_norm clip_by_value
complex compute_accidental_hits concat cond confusion_matrix conj constant conv1d conv1d_transpose
conv2d conv2d_transpose conv3d conv3d_transpose conv_transpose convolution cos cosh
count_nonzero cross crelu ctc_loss cumprod cumsum cumulative_logsumexp depth_to_space
depthwise_conv2d det diag diag_part digamma dilation2d divide divide_no_nan dropout edit_distance
eig eigh eigvals eigvalsh einsum elu embedding_lookup equal erf erfc erfcinv erfinv exp expand_dims
expm expm1 eye fill fingerprint floor floordiv floormod fractional_avg_pool fractional_max_pool
gather gather_nd gelu global_norm gradients greater greater_equal hessians histogram_fixed_width
identity identity_n igamma igammac imag in_top_k inv invert_permutation is_finite is_inf is_nan
is_non_decreasing is_strictly_increasing jacobian l2_loss l2_normalize lbeta leaky_relu less
less_equal lgamma linspace local_response_normalization log log1p log_poisson_loss log_sigmoid
log_softmax logdet logical_and logical_not logical_or logical_xor logm logsumexp lstsq lu
lu_matrix_inverse lu_reconstruct lu_solve map_fn matmul matrix_rank matrix_transpose matvec
max_pool max_pool1d max_pool2d max_pool3d max_pool_with_argmax maximum meshgrid minimum mod
moments multiply multiply_no_nan nce_loss ndtri negative nextafter no_op norm normalize
not_equal one_hot ones ones_like pad pinv polygamma polyval pool pow qr range rank
real reciprocal reciprocal_no_nan reduce_all reduce_any reduce_euclidean_norm reduce_logsumexp
reduce_max reduce_mean reduce_min reduce_prod reduce_std reduce_sum reduce_variance relu relu6
repeat reshape reverse reverse_sequence rint roll round rsqrt safe_embedding_lookup_sparse
sampled_softmax_loss scalar_mul scan scatter_nd searchsorted segment_max segment_mean
segment_min segment_prod segment_sum selu separable_conv2d sequence_mask shape sigmoid
sigmoid_cross_entropy_with_logits sign silu sin sinh size slice slogdet softmax
softmax_cross_entropy_with_logits softplus softsign solve space_to_batch space_to_depth
sparse_softmax_cross_entropy_with_logits split sqrt square squared_difference squeeze stack
stop_gradient strided_slice subtract svd swish tan tanh tensor_diag tensor_diag_part
tensordot tile top_k trace transpose triangular_solve truediv truncatediv truncatemod
unique unravel_index unsorted_segment_max unsorted_segment_mean unsorted_segment_min
unsorted_segment_prod unsorted_segment_sum unstack weighted_cross_entropy_with_logits
weighted_moments where where_v2 xdivy xlog1py xlogy zero_fraction zeros zeros_like zeta
""".split())

A = TypeVar("A")


class _NotAValue:
    def __repr__(self) -> str:
        return "NOT_A_VALUE"


# An argument that is not an attribute value (a name, an expression): the
# parser passes it with its text so that the error can quote it.
NOT_A_VALUE: Any = _NotAValue()


def _fail(message: str, pos: Pos | None, code: str) -> NoReturn:
    raise GraphError(message, pos, code)


def unknown_op_message(name: str, declared_kind: str | None = None) -> str:
    """Why ``name(...)`` is not a call of an op."""
    if declared_kind is not None:
        return f"'{name}' is a {declared_kind}, not an op; only ops can be called, e.g. matmul(a, b)"
    if name in TF_OPS or name.lower() in TF_OPS:
        return (f"tfgrad does not have '{name}' yet (a TensorFlow op that is not in tfgrad's "
                "op table; `tfgrad schema` lists the ops it has)")
    close = difflib.get_close_matches(name, registry_names(), n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"'{name}' is not an op{hint}; `tfgrad schema` lists the ops"


def find_op(name: str) -> OpDef | None:
    return lookup(name)


@dataclass
class Bound(Generic[A]):
    """One parameter filled by a call: ``value`` is one argument, or (when
    ``spread``) the list of positional arguments that fill a ``tensors``
    parameter of a varargs op (``add_n(a, b, c)``). ``pos`` is where the
    (first) argument was written."""

    param: Param
    value: Any
    pos: Pos
    spread: bool = False


def signature(op: OpDef) -> str:
    return op.signature()


def bind(
    op: OpDef,
    positional: Sequence[tuple[A, Pos]],
    keywords: Sequence[tuple[str, A, Pos, Pos]],
    call_pos: Pos,
    is_list: Callable[[A], bool],
    is_none: Callable[[A], bool] = lambda a: False,
) -> list[Bound]:
    """Bind a call's arguments to ``op``'s parameters as Python binds them to
    TF's function: positionally in TF's order (attributes included), then by
    keyword (TF's names). ``keywords`` holds (name, arg, key pos, value
    pos). A varargs op's ``tensors`` parameter takes every remaining
    positional argument (``add_n(a, b, c)``), or a single list argument
    (``add_n([a, b])``). An optional tensor given ``None`` is left out.
    Returns the bound parameters in ``op.params`` order."""
    params = op.params
    bound: dict[str, Bound] = {}
    rest = list(positional)
    for p in params:
        if not rest:
            break
        if op.varargs and p.kind == TENSORS:
            if len(rest) == 1 and is_list(rest[0][0]):
                bound[p.name] = Bound(p, rest[0][0], rest[0][1])
            else:
                bound[p.name] = Bound(p, [a for a, _ in rest], rest[0][1], spread=True)
            rest = []
            break
        a, pos = rest.pop(0)
        bound[p.name] = Bound(p, a, pos)
    if rest:
        n_pos = sum(1 for p in params if not (op.varargs and p.kind == TENSORS))
        if op.varargs:
            _fail(f"{op.name} takes at most {n_pos + 1} positional arguments here; found "
                  f"{len(positional)}: {signature(op)}", rest[0][1], "TG203")
        _fail(f"{op.name} takes at most {len(params)} "
              f"{'argument' if len(params) == 1 else 'arguments'}; found {len(positional)}: "
              f"{signature(op)}", rest[0][1], "TG203")
    by_keyword: set[str] = set()
    for key, a, key_pos, value_pos in keywords:
        p = op.param(key)
        if p is None:
            names = [q.name for q in params]
            close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            _fail(f"{op.name} has no parameter '{key}'{hint}; {signature(op)}", key_pos, "TG203")
        if key in bound:
            how = "twice" if key in by_keyword else f"by position and as {key}="
            _fail(f"{op.name}: argument '{key}' is given {how}", key_pos, "TG203")
        by_keyword.add(key)
        bound[key] = Bound(p, a, value_pos)
    out = []
    for p in params:
        b = bound.get(p.name)
        if b is not None and p.kind in (TENSOR, TENSORS) and not p.required and not b.spread and is_none(b.value):
            b = None  # gradients(y, x, grad_ys=None): TF's default
        if b is None:
            if p.required:
                _fail(f"{op.name} is missing the argument '{p.name}': {signature(op)}", call_pos, "TG203")
            continue
        out.append(b)
    return out


def _ints(v: Any) -> bool:
    return isinstance(v, list) and all(type(e) is int for e in v)


def describe(v: Any) -> str:
    """How an attribute value reads in messages (the file's spelling)."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(describe(e) for e in v) + "]"
    return str(v)


_KIND_RULE = {
    "bool": "true or false",
    "int": "an int",
    "float": "a number",
    "str": "a string",
    "dtype": "a dtype (" + ", ".join(DTYPES) + ")",
    "axis": "null, an int or a list of ints",
    "ints": "a list of ints",
    # an op's own rule checks the value: here it need only be one
    "any": "a value (a number, inf, true/false, null, a quoted string or a list)",
}


def check_attr(op: OpDef, p: Param, value: Any, text: str, pos: Pos) -> Any:
    """``value`` checked against ``p.kind`` (and ``p.choices``); ``text`` is
    the argument as written, for the message. A value of ``NOT_A_VALUE`` (a
    name or an expression where an attribute goes) is an error. Returns the
    value to store (ints as ints, floats as floats, lists as lists)."""
    kind = p.kind
    ok = value is not NOT_A_VALUE
    if ok and value is None and p.default is None:
        return None  # TF's own default
    if not ok:
        pass
    elif kind == "bool":
        ok = type(value) is bool
    elif kind == "int":
        ok = type(value) is int
    elif kind == "float":
        ok = type(value) in (int, float)
        if ok:
            value = float(value)
    elif kind == "str":
        ok = isinstance(value, str)
    elif kind == "dtype":
        ok = isinstance(value, str) and value in DTYPES
        if isinstance(value, str) and value in _OTHER_TF_DTYPES:
            _fail(f"{op.name}: {p.name} {value} is a TensorFlow dtype that tfgrad does not have; "
                  f"dtypes are {', '.join(DTYPES)}", pos, "TG203")
    elif kind == "axis":
        ok = value is None or type(value) is int or _ints(value)
    elif kind == "ints":
        ok = _ints(value)
    else:  # "any": the op's own rule checks it
        ok = True
    if not ok:
        rule = _KIND_RULE.get(kind, kind)
        hint = ""
        if value is NOT_A_VALUE and "inf" in text:
            hint = " (infinity is written inf, as TF code's np.inf)"
        prefixed = re.fullmatch(r"'(?:tf|tensorflow)\.(\w+)'", text) if value is NOT_A_VALUE else None
        if prefixed:  # cast(x, tf.float32): TF code, transcribed without the prefix
            hint = f" (drop the prefix: {prefixed[1]})"
        _fail(f"{op.name}: {p.name} must be {rule}, got {text}{hint}", pos, "TG203")
    if p.upper and isinstance(value, str):
        value = value.upper()  # TF reads it as value.upper() (array_ops.pad)
    if p.choices and value not in p.choices:
        close = difflib.get_close_matches(str(value), [str(c) for c in p.choices], n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        _fail(f"{op.name}: {p.name} must be one of {', '.join(describe(c) for c in p.choices)}; "
              f"got {text}{hint}", pos, "TG203")
    return value
