"""Expression nodes -> readable forms: matrix notation where every tensor of
a formula has rank <= 2, index notation above; text, ASCII and LaTeX.

``printers``: tensor formulas through SymPy's printer protocol
(``_print_Tensor``, ``_print_Ew``...). ``elements``: one element of a
gradient as a scalar formula, its IEEE value, its printers. ``contract``:
which einsum specs read as matrix algebra. ``common``: names, numbers and
values of any rank.
"""
