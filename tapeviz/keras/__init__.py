"""A Keras-2 subset for hand-written training loops: ``tv.keras`` (``from tapeviz import keras``).

* ``keras.optimizers`` — SGD, Adam, RMSprop, Adagrad, Adadelta, Adamax, Nadam, AdamW with
  ``apply_gradients``/``minimize``, TensorFlow's float32 digits, ``optimizers.schedules``,
  and ``optimizers.record_run`` / ``record_race`` to record trajectories for plots;
* ``keras.layers`` (Dense, Activation, Flatten, Dropout), ``keras.Sequential``,
  ``keras.Model`` (subclass it);
* ``keras.losses``, ``keras.metrics``, ``keras.initializers``, ``keras.activations``.

>>> import tapeviz as tv
>>> keras = tv.keras
>>> model = keras.Sequential([keras.layers.Dense(3, activation="relu"), keras.layers.Dense(2)])
>>> loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
>>> optimizer = keras.optimizers.SGD(learning_rate=0.1)
>>> with tv.GradientTape() as tape:
...     logits = model([[1.0, 2.0], [0.5, -1.0]], training=True)
...     loss_value = loss_fn([0, 1], logits)
>>> grads = tape.gradient(loss_value, model.trainable_weights)
>>> _ = optimizer.apply_gradients(zip(grads, model.trainable_weights))
"""

from __future__ import annotations

from .._surface import module_getattr as _module_getattr
from . import (
    activations,
    backend,
    initializers,
    layers,
    losses,
    metrics,
    optimizers,
    schedules,
)
from .layers import Layer
from .models import Model, Sequential

__all__ = [
    "Layer",
    "Model",
    "Sequential",
    "activations",
    "backend",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "optimizers",
    "schedules",
]

# a TensorFlow name tapeviz lacks: an error that says so (see tapeviz/_surface.py)
__getattr__ = _module_getattr("tf.keras")
