import json, os, pprint, sys
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from cases import R
d = json.load(open(os.path.join(HERE, "tf_results.json")))
def enc_inputs(ins):
    out = {}
    for k, v in ins.items():
        out[k] = v if isinstance(v, tuple) else json.loads(json.dumps(v).replace("NaN", '"nan"').replace("-Infinity", '"-inf"').replace("Infinity", '"inf"'))
    return out
cases = []
for c in R:
    e = dict(c)
    e["inputs"] = enc_inputs(c["inputs"])
    e["tf"] = d["results"][c["name"]]
    cases.append(e)
# The data module: the docstring of head.py, the TF version, the cases. The code that runs
# them through tfgrad is tests/ops_tf_check.py (hand-written, not generated).
head = open(os.path.join(HERE, "head.py")).read().replace("@@TFV@@", d["tf_version"])
body = "CASES = " + pprint.pformat(cases, width=100, sort_dicts=False) + "\n"
out = head + '\nTF_VERSION = "' + d["tf_version"] + '"\ninf = float("inf")  # pprint writes math.inf attributes as inf\n\n' + body
open(os.path.join(HERE, "..", "ops_tf_cases.py"), "w").write(out)
