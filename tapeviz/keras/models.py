"""``keras.Model`` (subclass it) and ``keras.Sequential`` (a stack of layers).

Enough for the hand-written training loop of the Keras guides::

    with tv.GradientTape() as tape:
        logits = model(x_batch, training=True)
        loss_value = loss_fn(y_batch, logits)
    grads = tape.gradient(loss_value, model.trainable_weights)
    optimizer.apply_gradients(zip(grads, model.trainable_weights))

(``compile``/``fit`` are not part of tapeviz: the point is to see the loop.)

>>> import tapeviz as tv
>>> class TwoLayers(tv.keras.Model):
...     def __init__(self):
...         super().__init__()
...         self.hidden = tv.keras.layers.Dense(4, activation="relu")
...         self.out = tv.keras.layers.Dense(2)
...     def call(self, x, training=False):
...         return self.out(self.hidden(x))
>>> model = TwoLayers()
>>> model(tv.zeros((3, 5))).shape
TensorShape([3, 2])
>>> len(model.trainable_weights)
4
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .._surface import module_getattr as _module_getattr
from ..tensor import Tensor
from .layers import Layer, _float_input

__all__ = ["Model", "Sequential"]


class Model(Layer):
    """Base class for models: subclass it, create layers in ``__init__`` (after
    ``super().__init__()``) and write the forward pass in ``call(inputs, training=None)``.

    ``trainable_weights`` lists the weights of the layers assigned as attributes, in the
    order they were assigned, then Variables assigned directly.
    """

    _children_first = True
    _autocast = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args or "inputs" in kwargs or "outputs" in kwargs:
            raise NotImplementedError(
                "tapeviz does not support the functional API Model(inputs, outputs); "
                "subclass tv.keras.Model (define call) or use tv.keras.Sequential([...])"
            )
        super().__init__(**kwargs)

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """Run the model; float numpy inputs become float32 tensors, as in Keras."""
        if isinstance(inputs, np.ndarray | np.generic) and inputs.dtype.kind == "f":
            inputs = Tensor._wrap(np.array(inputs, dtype=np.float32))
        return super().__call__(inputs, *args, **kwargs)

    @property
    def layers(self) -> list[Layer]:
        """The layers assigned as attributes (in assignment order)."""
        return list(self._layers)

    def call(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """The forward pass: a subclass of ``tv.keras.Model`` defines it."""
        raise NotImplementedError(
            f"{type(self).__name__} must define call(self, inputs, training=None): the "
            "forward pass (subclass tv.keras.Model)"
        )

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by name or by index."""
        layers = self.layers
        if index is not None:
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        names = [layer.name for layer in layers]
        raise ValueError(f"No such layer: {name}. Existing layers are: {names}.")

    def predict(self, x: Any, batch_size: int | None = None) -> np.ndarray:
        """The model's outputs for ``x`` as a numpy array (``training=False``)."""
        n = len(x)
        size = batch_size or 32
        parts = []
        for start in range(0, n, size):
            out = self(x[start : start + size], training=False)
            parts.append(np.asarray(out._value if isinstance(out, Tensor) else out))
        return np.concatenate(parts) if parts else np.zeros((0,))

    def summary(self, print_fn: Any = None) -> None:
        """Print the layers, their output shapes and parameter counts, as Keras does."""
        emit = print_fn or print
        line = "_" * 65
        emit(f'Model: "{self.name}"')
        emit(line)
        emit(f" {'Layer (type)':<27} {'Output Shape':<25} {'Param #':<9}")
        emit("=" * 65)
        layers = self.layers
        for i, layer in enumerate(layers):
            shape = layer._output_shape
            shape_text = "multiple" if shape is None else str(tuple(shape))
            label = f"{layer.name} ({type(layer).__name__})"
            emit(f" {label:<27} {shape_text:<25} {layer.count_params():<9}")
            if i < len(layers) - 1:
                emit("")
        emit("=" * 65)
        trainable = sum(int(np.prod(np.shape(w._value))) for w in self.trainable_weights)
        total = self.count_params()
        emit(f"Total params: {total:,}")
        emit(f"Trainable params: {trainable:,}")
        emit(f"Non-trainable params: {total - trainable:,}")
        emit(line)


class Sequential(Model):
    """A model that applies its layers one after the other.

    >>> import tapeviz as tv
    >>> model = tv.keras.Sequential([
    ...     tv.keras.layers.Dense(8, activation="relu", input_shape=(2,)),
    ...     tv.keras.layers.Dense(3),
    ... ])
    >>> model.count_params()
    51
    """

    _children_first = True
    _autocast = True
    _opens_scope = False  # as in Keras, weights are named dense/kernel:0 (no model prefix)

    def __init__(
        self, layers: Iterable[Layer] | None = None, name: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(name=name, **kwargs)
        self._stack: list[Layer] = []
        for layer in layers or ():
            self.add(layer)

    def add(self, layer: Layer) -> None:
        """Append a layer (built at once if the model's input shape is known)."""
        if not isinstance(layer, Layer):
            raise TypeError(
                "The added layer must be an instance of class Layer. Received: "
                f"layer={layer!r} of type {type(layer)}."
            )
        self._stack.append(layer)
        self._track(layer)
        first = self._stack[0]._batch_input_shape
        if first is not None:
            self._build_from_shape(first)

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if not self._stack:
            raise TypeError("There are no layers in the model.")
        layer = self._stack.pop()
        self._layers[:] = [known for known in self._layers if known is not layer]
        return layer

    @property
    def layers(self) -> list[Layer]:
        """The layers in the order they were added."""
        return list(self._stack)

    def _flat_layers(self) -> list[Layer]:
        return list(self._stack)

    def _build_from_shape(self, shape: Any) -> None:
        for layer in self._stack:
            if shape is None:
                return
            layer._maybe_build(shape)
            out = layer.compute_output_shape(shape)
            if out is None:
                return
            layer.__dict__["_output_shape"] = tuple(out)
            shape = tuple(out)
        self.__dict__["built"] = True

    def build(self, input_shape: Any = None) -> None:
        """Create every layer's weights for inputs of ``input_shape`` (batch axis included)."""
        if input_shape is None:
            input_shape = self._stack[0]._batch_input_shape if self._stack else None
        if input_shape is None:
            raise ValueError("You must provide an `input_shape` argument.")
        self._build_from_shape(tuple(input_shape))

    def call(self, inputs: Any, training: Any = None) -> Any:
        """The layers applied one after the other."""
        x = _float_input(inputs)
        for layer in self._stack:
            x = layer(x, training=training)
        return x


# a TensorFlow name tapeviz lacks: an error that says so (see tapeviz/_surface.py)
__getattr__ = _module_getattr("tf.keras.models")
