"""TensorFlow's answers for the reduction and neural-network ops, at edges
(ties, zeros, nan/inf, extreme logits, class boundaries) and smooth points,
first and second order. tests/ops_tf_check.py runs them through tfgrad.

Each case: ``op`` with ``inputs`` (float lists, or ``(dtype, list)`` for
integer tensors; ``"nan"``/``"inf"``/``"-inf"`` strings for non-finite
numbers), ``attrs``, the cotangent ``cot`` of the output (None: ones),
``output`` (which output of a multi-output op), and ``w``: weights for a
second-order gradient, ``d(Σ_k Σ w_k ∘ dL/dx_k)/dx`` for every float input.
``tf[dtype]`` holds TF's value, ``grads`` and ``grads2`` (None where
tf.gradients returns None), or the kernel's error.

Generated with TensorFlow @@TFV@@ (CPU, graph mode: tf.function + tf.gradients)
by a script run by hand in a separate venv; CI never installs TensorFlow.
"""
