"""Record TensorFlow's results for the control-flow programs of the tests (run once, with TF).

    TF_USE_LEGACY_KERAS=1 TF_ENABLE_ONEDNN_OPTS=0 python tools/record_control_flow_tf.py \
        > tests/data/control_flow_tf.json

The programs are in tests/function/control_flow_programs.py, shared with the tests: each
runs under ``tf.function`` (autograph converts its Python ``if``/``while``/``for``).
"""

import importlib.util
import json
import pathlib

import numpy as np
import tensorflow as tf

here = pathlib.Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location(
    "control_flow_programs", here / "tests" / "function" / "control_flow_programs.py"
)
programs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(programs)


def plain(x):
    if isinstance(x, list | tuple):
        return [plain(v) for v in x]
    a = np.asarray(x)
    return {"dtype": a.dtype.name, "value": a.tolist()}


out = {"tensorflow": tf.__version__, "programs": {}}
for name, (fn, args) in programs.build(tf).items():
    out["programs"][name] = plain(tf.function(fn)(*args))
train, args, variables = programs.build_training(tf)
loss = tf.function(train)(*args)
out["training"] = plain([loss, *[v.read_value() for v in variables]])
print(json.dumps(out, indent=1))
