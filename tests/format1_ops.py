"""Format 1's op set, as the format-1 engine's table declared it: every file
valid in format 1 stays valid with the same meaning, so the tests check that
each of these ops still parses with these arities and attributes, and that
the format reference documents them.

name -> (number of tensor arguments, None for one or more; attribute names)
"""

FORMAT1_OPS: dict[str, tuple[int | None, tuple[str, ...]]] = {
    "add": (2, ()),
    "subtract": (2, ()),
    "multiply": (2, ()),
    "divide": (2, ()),
    "maximum": (2, ()),
    "minimum": (2, ()),
    "pow": (2, ()),
    "negative": (1, ()),
    "identity": (1, ()),
    "matmul": (2, ("transpose_a", "transpose_b")),
    "transpose": (1, ()),
    "reduce_sum": (1, ("axis", "keepdims")),
    "reduce_mean": (1, ("axis", "keepdims")),
    "square": (1, ()),
    "sqrt": (1, ()),
    "exp": (1, ()),
    "log": (1, ()),
    "tanh": (1, ()),
    "sigmoid": (1, ()),
    "abs": (1, ()),
    "relu": (1, ()),
    "add_n": (None, ()),
    "stop_gradient": (1, ()),
}
