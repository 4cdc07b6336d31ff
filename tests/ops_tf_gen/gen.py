import os, json, sys; os.environ["TF_CPP_MIN_LOG_LEVEL"]="3"
import numpy as np, tensorflow as tf
sys.path.insert(0, os.path.dirname(__file__))
from cases import R
tf.config.run_functions_eagerly(False)
def enc(a):
    if a is None: return None
    a = np.asarray(a, dtype=np.float64)
    def f(v): 
        if np.isnan(v): return "nan"
        if np.isinf(v): return "inf" if v > 0 else "-inf"
        return float(v)
    return np.vectorize(f, otypes=[object])(a).tolist() if a.ndim else f(float(a))
def call(op, ins, attrs):
    A = dict(attrs)
    if op == "norm":
        return tf.norm(ins["tensor"], ord=A.get("ord", "euclidean"), axis=tuple(A["axis"]) if isinstance(A.get("axis"), list) else A.get("axis"), keepdims=A.get("keepdims"))
    f = {"reduce_max": tf.reduce_max, "reduce_min": tf.reduce_min, "reduce_prod": tf.reduce_prod,
         "reduce_logsumexp": tf.reduce_logsumexp, "reduce_variance": tf.math.reduce_variance, "reduce_std": tf.math.reduce_std,
         "l2_normalize": tf.math.l2_normalize, "cumsum": tf.cumsum, "cumprod": tf.math.cumprod,
         "softmax": tf.nn.softmax, "log_softmax": tf.nn.log_softmax,
         "softmax_cross_entropy_with_logits": tf.nn.softmax_cross_entropy_with_logits,
         "sparse_softmax_cross_entropy_with_logits": tf.nn.sparse_softmax_cross_entropy_with_logits,
         "sigmoid_cross_entropy_with_logits": tf.nn.sigmoid_cross_entropy_with_logits,
         "l2_loss": tf.nn.l2_loss, "bias_add": tf.nn.bias_add, "batch_normalization": tf.nn.batch_normalization,
         "moments": tf.nn.moments}[op]
    return f(**ins, **A)
out = {}
for dt in (tf.float64, tf.float32):
  for c in R:
    ins = {}
    fl = []
    for k, v in c["inputs"].items():
        if isinstance(v, tuple): ins[k] = tf.constant(v[1], getattr(tf, v[0]))
        else: ins[k] = tf.constant(v, dt); fl.append(k)
    @tf.function
    def run(**ins):
        y = call(c["op"], ins, c["attrs"])
        if c["output"] is not None: y = y[c["output"]]
        cot = tf.ones_like(y) if c["cot"] is None else tf.constant(c["cot"], dt)
        gs = tf.gradients(y, [ins[k] for k in fl], grad_ys=cot)
        gg = None
        if c["w"] is not None:
            s = [tf.reduce_sum(g * tf.constant(c["w"][k], dt)) for g, k in zip(gs, fl) if g is not None]
            gg = tf.gradients(s, [ins[k] for k in fl]) if s else [None] * len(fl)
        return y, gs, gg
    try:
        y, gs, gg = run(**ins)
        r = {"value": enc(y.numpy()), "grads": {k: enc(None if g is None else g.numpy()) for k, g in zip(fl, gs)}}
        if gg is not None: r["grads2"] = {k: enc(None if g is None else g.numpy()) for k, g in zip(fl, gg)}
    except Exception as e:
        r = {"error": str(e).split("\n")[0][:200]}
    out.setdefault(c["name"], {})[dt.name] = r
json.dump({"tf_version": tf.__version__, "results": out}, open(os.path.join(os.path.dirname(__file__), "tf_results.json"), "w"))
print("ok", len(out))
