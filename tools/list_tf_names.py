"""Write TensorFlow's public names, per module, to tapeviz/_tf_names.json (run once, with TF).

    TF_USE_LEGACY_KERAS=1 python tools/list_tf_names.py

tapeviz reads the produced file (committed as data) to say "tapeviz does not implement
`tf.tensordot` yet" instead of a bare AttributeError, and docs/api.md is generated from it
(tools/make_api_doc.py).  TensorFlow is needed only to run this script, never by tapeviz.
"""

import json
import os
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # Keras 2 (tf_keras), tapeviz's semantics
import tensorflow as tf

MODULES = [
    "tf",
    "tf.math",
    "tf.linalg",
    "tf.nn",
    "tf.random",
    "tf.dtypes",
    "tf.errors",
    "tf.data",
    "tf.keras",
    "tf.keras.layers",
    "tf.keras.losses",
    "tf.keras.metrics",
    "tf.keras.optimizers",
    "tf.keras.optimizers.schedules",
    "tf.keras.activations",
    "tf.keras.initializers",
    "tf.keras.backend",
    "tf.keras.models",
]


def public(path: str) -> list[str]:
    """The public names of the TensorFlow module at ``path`` (``"tf.math"``)."""
    obj = tf
    for part in path.split(".")[1:]:
        obj = getattr(obj, part)
    return sorted(n for n in dir(obj) if not n.startswith("_"))


out = {"tensorflow": tf.__version__, "modules": {}}
for m in MODULES:
    out["modules"][m] = public(m)
target = Path(__file__).resolve().parent.parent / "tapeviz" / "_tf_names.json"
target.write_text(json.dumps(out, indent=0, sort_keys=False) + "\n")
print(f"wrote {target} ({sum(len(v) for v in out['modules'].values())} names)")
