"""tfgrad: TensorFlow-exact gradients of YAML graph files.

Input: a graph file (see README). Output: what ``tf.gradients`` returns for
it. The stages are ``parse`` (YAML -> Graph), ``symbolic`` (Graph ->
Derivation), ``evaluate`` (Derivation -> NumPy arrays) and ``render``; the
command line lives in ``commands``.
"""

__version__ = "0.1.0"
