"""Keras-2 layers: ``Layer`` (the base class), ``Dense``, ``Activation``, ``Flatten``, ``Dropout``.

A layer owns its weights (tapeviz Variables, created on the first call when the input
size is known) and runs tapeviz ops in ``call``, so a ``GradientTape`` records them.
Each call runs inside ``tv.name_scope(layer.name)``: drawings of the tape group the ops
of one layer into one cluster, and the weights are named ``dense/kernel:0``.

>>> import tapeviz as tv
>>> layer = tv.keras.layers.Dense(2, kernel_initializer="ones", name="d")
>>> print(layer(tv.constant([[1.0, 2.0, 3.0]])))
tv.Tensor([[6. 6.]], shape=(1, 2), dtype=float32)
>>> [w.name for w in layer.trainable_weights]
['d/kernel:0', 'd/bias:0']
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import _state
from .. import random as _random
from .._readonly import ReadOnly
from .._surface import module_getattr as _module_getattr
from ..custom import name_scope
from ..ops import linalg as _linalg
from ..ops import math as _math
from ..ops import shape as _shape_ops
from ..tensor import Tensor, Variable, convert_to_tensor
from . import activations, backend, initializers
from ._config import FromConfig

__all__ = ["Layer", "Dense", "Activation", "Flatten", "Dropout", "Lambda", "BatchNormalization"]


def _to_snake_case(name: str) -> str:
    intermediate = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    insecure = re.sub("([a-z])([A-Z])", r"\1_\2", intermediate).lower()
    return insecure if not insecure.startswith("_") else "private" + insecure


def _float_input(x: Any) -> Any:
    """Convert a layer's input: numpy/lists become float32 tensors (Keras' autocast)."""
    if isinstance(x, Tensor):
        if x._value.dtype.kind in "iub" or x._value.dtype == np.float64:
            return _math.cast(x, "float32")
        return x
    if isinstance(x, np.ndarray | np.generic | list | tuple | int | float):
        arr = np.asarray(x)
        if arr.dtype.kind in "iubf":
            return Tensor._wrap(np.array(arr, dtype=np.float32))
    return x


_ACCEPTS_TRAINING: dict[type, bool] = {}


def _call_accepts_training(cls: type) -> bool:
    ok = _ACCEPTS_TRAINING.get(cls)
    if ok is None:
        try:
            params = inspect.signature(cls.call).parameters  # type: ignore[attr-defined]
            ok = "training" in params or any(p.kind == p.VAR_KEYWORD for p in params.values())
        except (TypeError, ValueError):
            ok = False
        _ACCEPTS_TRAINING[cls] = ok
    return ok


class Layer(FromConfig):
    """Base class of layers (and of :class:`~tapeviz.keras.Model`).

    Subclass it, create weights in ``build(input_shape)`` with :meth:`add_weight` (or in
    ``__init__``), and compute the output in ``call(inputs)`` with tapeviz ops.  Layers
    and Variables assigned as attributes are tracked: their weights appear in
    ``trainable_weights``.

    Parameters
    ----------
    trainable : bool
        If False, the layer's weights are listed in ``non_trainable_weights``.
    name : str, optional
        Unique by default: ``dense``, ``dense_1``, ...
    input_shape : tuple, optional
        The shape of one sample; lets ``Sequential`` build the layer at once.
    """

    _opens_scope = True  # run call() inside tv.name_scope(self.name)
    _autocast = True  # convert numpy / float64 inputs to float32

    # set in __init__ through __dict__ (before attribute tracking is ready)
    _trainable_weights: list[Variable]
    _non_trainable_weights: list[Variable]
    _layers: list[Layer]
    _name: str
    built: bool
    trainable: bool
    _building: bool
    _dtype: str
    _losses: list[Any]
    _calling: bool
    _output_shape: Any
    _batch_input_shape: Any

    def __init__(
        self,
        trainable: bool = True,
        name: str | None = None,
        dtype: Any = None,
        input_shape: Any = None,
        input_dim: int | None = None,
        batch_input_shape: Any = None,
        **kwargs: Any,
    ) -> None:
        if kwargs:
            raise TypeError(
                f"{type(self).__name__}: unexpected keyword argument(s) {sorted(kwargs)}"
            )
        d = self.__dict__
        d["_trainable_weights"] = []
        d["_non_trainable_weights"] = []
        d["_layers"] = []
        d["_losses"] = []  # add_loss: tensors of the latest call, or zero-argument callables
        d["_calling"] = False
        d["_name"] = (
            name if name is not None else backend.unique_name(_to_snake_case(type(self).__name__))
        )
        d["built"] = False
        d["trainable"] = bool(trainable)
        d["_building"] = False
        d["_dtype"] = "float32" if dtype is None else str(getattr(dtype, "name", dtype))
        d["_output_shape"] = None
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if batch_input_shape is not None:
            d["_batch_input_shape"] = tuple(batch_input_shape)
        elif input_shape is not None:
            shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
            d["_batch_input_shape"] = (None, *shape)
        else:
            d["_batch_input_shape"] = None

    # -- attribute tracking ---------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        if "_layers" not in d and not name.startswith("__"):
            raise RuntimeError(
                f"It looks like you are subclassing `{_base_name(self)}` and you forgot to "
                "call `super().__init__()`. Always start with this line."
            )
        if not name.startswith("_"):
            self._track(value)
        object.__setattr__(self, name, value)

    def _track(self, value: Any) -> None:
        if isinstance(value, Layer) and value is not self:
            if not any(value is known for known in self._layers):
                self._layers.append(value)
        elif isinstance(value, Variable):
            bucket = self._trainable_weights if value.trainable else self._non_trainable_weights
            if not any(value is w for w in bucket):
                bucket.append(value)
        elif isinstance(value, list | tuple):
            for v in value:
                if isinstance(v, Layer | Variable):
                    self._track(v)
        elif isinstance(value, dict):
            for v in value.values():
                if isinstance(v, Layer | Variable):
                    self._track(v)

    name = ReadOnly[str](
        "_name", "The layer's name, unique in its model (``dense``, ``dense_1``, ...)."
    )
    dtype = ReadOnly[str](
        "_dtype", 'The dtype of the layer\'s weights (``"float32"`` unless given).'
    )

    # -- weights ------------------------------------------------------------------------------
    def add_weight(
        self,
        name: str | None = None,
        shape: Any = None,
        dtype: Any = None,
        initializer: Any = None,
        trainable: bool = True,
        **kwargs: Any,
    ) -> Variable:
        """Create a weight Variable named ``<layer>/<name>:0`` and track it."""
        shape = () if shape is None else tuple(int(s) for s in shape)
        dtype = dtype or self._dtype
        if initializer is None:
            initializer = (
                "glorot_uniform"
                if np.dtype(str(getattr(dtype, "name", dtype))).kind == "f"
                else "zeros"
            )
        init = initializers.get(initializer)
        value = init(shape, dtype=dtype)
        wname = name or "Variable"
        if self._building:
            var = Variable(value, name=wname, trainable=trainable)
        else:
            with name_scope(self.name):
                var = Variable(value, name=wname, trainable=trainable)
        (self._trainable_weights if trainable else self._non_trainable_weights).append(var)
        return var

    def _flat_layers(self) -> list[Layer]:
        return list(self._layers)

    def _gather(self, trainable: bool) -> list[Variable]:
        own = list(self._trainable_weights) if trainable else list(self._non_trainable_weights)
        children: list[Variable] = []
        for layer in self._flat_layers():
            children += layer.trainable_weights if trainable else layer.non_trainable_weights
        ordered = children + own if self._children_first else own + children
        out: list[Variable] = []
        seen: set[int] = set()
        for w in ordered:
            if w._id not in seen:
                seen.add(w._id)
                out.append(w)
        return out

    _children_first = False

    @property
    def trainable_weights(self) -> list[Variable]:
        """The Variables that training should update (own weights and sub-layers')."""
        if not self.trainable:
            return []
        return self._gather(True)

    @property
    def non_trainable_weights(self) -> list[Variable]:
        """The Variables training does not update (all of them when ``trainable=False``)."""
        if not self.trainable:
            return self._gather(True) + self._gather(False)
        return self._gather(False)

    @property
    def weights(self) -> list[Variable]:
        """Trainable weights first, then the non-trainable ones (Keras's order)."""
        return self.trainable_weights + self.non_trainable_weights

    @property
    def trainable_variables(self) -> list[Variable]:
        """The same list as ``trainable_weights`` (TensorFlow's other name for it)."""
        return self.trainable_weights

    @property
    def non_trainable_variables(self) -> list[Variable]:
        """The same list as ``non_trainable_weights``."""
        return self.non_trainable_weights

    @property
    def variables(self) -> list[Variable]:
        """The same list as ``weights``."""
        return self.weights

    def get_weights(self) -> list[np.ndarray]:
        """The weights' values as numpy arrays."""
        return [np.array(w._value) for w in self.weights]

    def set_weights(self, weights: Iterable[Any]) -> None:
        """Assign new values to the weights (same order and shapes as ``get_weights``)."""
        values = list(weights)
        own = self.weights
        if len(values) != len(own):
            raise ValueError(
                f"Layer {self.name} expects {len(own)} weights, but the given list has "
                f"{len(values)}"
            )
        for w, v in zip(own, values, strict=True):
            w.assign(v)

    def count_params(self) -> int:
        """The number of scalars in the weights."""
        return int(sum(int(np.prod(np.shape(w._value))) for w in self.weights))

    # -- building and calling ---------------------------------------------------------------
    def build(self, input_shape: Any) -> None:
        """Create the weights for inputs of ``input_shape`` (override in subclasses)."""
        self.built = True

    def _maybe_build(self, input_shape: Any) -> None:
        if self.built:
            return
        d = self.__dict__
        d["_building"] = True
        shape = tuple(input_shape) if input_shape is not None else None
        try:
            if self._opens_scope:
                with name_scope(self.name):
                    self.build(shape)
            else:
                self.build(shape)
        finally:
            d["_building"] = False
        d["built"] = True

    def call(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """The layer's computation (override in subclasses)."""
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The output shape for ``input_shape``, or None where the layer cannot say."""
        return None

    # -- losses added by the layer's own code (activity regularisation, ...) ------------------
    def add_loss(self, losses: Any, **kwargs: Any) -> None:
        """Add a loss to :attr:`losses`, as Keras 2: a tensor computed in ``call`` (kept until
        the layer is called again) or a zero-argument callable (evaluated on each access)."""
        items = list(losses) if isinstance(losses, list | tuple) else [losses]
        for item in items:
            if not callable(item) and not isinstance(item, Tensor):
                from ..tensor import convert_to_tensor

                item = convert_to_tensor(item)
            self._losses.append(item)

    @property
    def losses(self) -> list[Tensor]:
        """The losses added with :meth:`add_loss` by this layer and its sub-layers."""
        out: list[Tensor] = []
        for layer in [self, *self._all_layers()]:  # per layer: the call's, then callables (Keras)
            out += [x for x in layer._losses if isinstance(x, Tensor)]
            out += [x() for x in layer._losses if not isinstance(x, Tensor)]
        return out

    def _all_layers(self) -> list[Layer]:
        found: list[Layer] = []
        stack = list(reversed(self._flat_layers()))
        while stack:
            layer = stack.pop()
            if not any(layer is f for f in found):
                found.append(layer)
                stack.extend(reversed(layer._flat_layers()))
        return found

    def _clear_call_losses(self) -> None:
        for layer in [self, *self._all_layers()]:
            layer._losses[:] = [
                x for x in layer._losses if callable(x) and not isinstance(x, Tensor)
            ]

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """Build on first use, run ``call`` inside the layer's name scope, collect its losses."""
        d = self.__dict__
        if "_losses" in d and not d["_calling"]:  # an outermost call: last call's losses go
            self._clear_call_losses()
            d["_calling"] = True
            try:
                return self._call_in_scope(inputs, *args, **kwargs)
            finally:
                d["_calling"] = False
        return self._call_in_scope(inputs, *args, **kwargs)

    def _call_in_scope(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        if self._autocast:
            inputs = _float_input(inputs)
        if "training" in kwargs and not _call_accepts_training(type(self)):
            del kwargs["training"]
        if not self._opens_scope:
            if not self.built:
                self._maybe_build(getattr(inputs, "shape", None))
            out = self.call(inputs, *args, **kwargs)
        else:
            local = _state.local
            saved = local.scope
            local.scopes.append(self._name)
            local.scope = saved + self._name + "/"
            try:
                if not self.built:
                    self._building_from_call(inputs)
                out = self.call(inputs, *args, **kwargs)
            finally:
                local.scopes.pop()
                local.scope = saved
        if isinstance(out, Tensor):
            self.__dict__["_output_shape"] = (None, *tuple(out.shape)[1:]) if out.ndim else ()
        return out

    def _building_from_call(self, inputs: Any) -> None:
        # Already inside this layer's name scope: build without opening it again.
        d = self.__dict__
        d["_building"] = True
        try:
            self.build(tuple(inputs.shape) if hasattr(inputs, "shape") else None)
        finally:
            d["_building"] = False
        d["built"] = True

    def get_config(self) -> dict[str, Any]:
        """``name``, ``trainable`` and ``dtype``; subclasses add their own arguments."""
        return {"name": self.name, "trainable": self.trainable, "dtype": self._dtype}

    def __repr__(self) -> str:
        return f"<tv.keras.layers.{type(self).__name__} name={self.name}, built={self.built}>"


def _base_name(obj: Any) -> str:
    for cls in type(obj).__mro__:
        if cls.__module__.startswith("tapeviz.keras"):
            return cls.__name__
    return type(obj).__name__


class Dense(Layer):
    r"""A fully connected layer: ``activation(inputs @ kernel + bias)``.

    Parameters
    ----------
    units : int
        The number of outputs.
    activation : str or callable, optional
        ``"relu"``, ``"sigmoid"``, ``"softmax"``, ``"tanh"``, ``"linear"`` (default: none).
    use_bias : bool
    kernel_initializer : str or initializer, default ``"glorot_uniform"``
        ``tv.keras.initializers.GlorotUniform(seed=0)`` makes the weights reproducible.
    bias_initializer : str or initializer, default ``"zeros"``

    The kernel has shape ``(input size, units)``; for inputs of rank > 2 the last axis is
    the one contracted.
    """

    def __init__(
        self,
        units: int,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(units, int | np.integer) or isinstance(units, bool) or units <= 0:
            raise ValueError(
                "Received an invalid value for `units`, expected a positive integer. "
                f"Received: units={units}"
            )
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel: Variable | None = None
        self.bias: Variable | None = None

    def build(self, input_shape: Any) -> None:
        """Create ``kernel`` (inputs × units) and ``bias`` for inputs of this shape."""
        if input_shape is not None and len(input_shape) < 2:
            raise ValueError(
                f'Input 0 of layer "{self.name}" is incompatible with the layer: expected '
                f"min_ndim=2, found ndim={len(input_shape)}. Full shape received: "
                f"{tuple(input_shape)}. Pass a batch, e.g. x[None, :] or tv.reshape(x, (1, -1))."
            )
        if input_shape is None or input_shape[-1] is None:
            raise ValueError(
                f"The last dimension of the inputs to a Dense layer should be defined. "
                f"Found None. Full input shape received: {input_shape}"
            )
        last = int(input_shape[-1])
        self.kernel = self.add_weight(
            "kernel", (last, self.units), initializer=self.kernel_initializer
        )
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.units,), initializer=self.bias_initializer)
        self.built = True

    def call(self, inputs: Any) -> Any:
        """``activation(inputs @ kernel + bias)``, with a clear error for inputs of rank 1."""
        x = inputs if isinstance(inputs, Tensor) else convert_to_tensor(inputs)
        if x.ndim < 2:
            raise ValueError(
                f'Input 0 of layer "{self.name}" is incompatible with the layer: expected '
                f"min_ndim=2, found ndim={x.ndim}. Full shape received: {tuple(x.shape)}. "
                "Pass a batch, e.g. x[None, :] or tv.reshape(x, (1, -1))."
            )
        assert self.kernel is not None
        if x.shape[-1] != self.kernel.shape[0]:
            raise ValueError(
                f'Input 0 of layer "{self.name}" is incompatible with the layer: expected '
                f"axis -1 of input shape to have value {self.kernel.shape[0]}, but received "
                f"input with shape {tuple(x.shape)}"
            )
        if x.ndim == 2:
            out = _linalg.matmul(x, self.kernel)
        else:
            lead = tuple(x.shape)[:-1]
            flat = _shape_ops.reshape(x, (-1, x.shape[-1]))
            out = _shape_ops.reshape(_linalg.matmul(flat, self.kernel), (*lead, self.units))
        if self.bias is not None:
            out = _math.add(out, self.bias)
        return self.activation(out)

    def compute_output_shape(self, input_shape: Any) -> Any:
        """``input_shape`` with the last axis replaced by ``units``."""
        return (*tuple(input_shape)[:-1], self.units)

    def get_config(self) -> dict[str, Any]:
        """The base arguments plus units, activation, use_bias and the initializers."""
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": {
                    "class_name": type(self.kernel_initializer).__name__,
                    "config": self.kernel_initializer.get_config(),
                },
                "bias_initializer": {
                    "class_name": type(self.bias_initializer).__name__,
                    "config": self.bias_initializer.get_config(),
                },
            }
        )
        return config


class Activation(Layer):
    """Applies an activation function: ``Activation("relu")``."""

    def __init__(self, activation: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs: Any) -> Any:
        """The activation applied elementwise."""
        return self.activation(inputs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The input shape (an activation keeps it)."""
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        """The base arguments plus the activation's name."""
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config


class Flatten(Layer):
    """Reshapes each sample to one dimension: ``(batch, d1, d2) -> (batch, d1 * d2)``."""

    def call(self, inputs: Any) -> Any:
        """Each example reshaped to one axis (a vector input becomes a column)."""
        x = inputs if isinstance(inputs, Tensor) else convert_to_tensor(inputs)
        if x.ndim == 1:
            return _shape_ops.expand_dims(x, 1)
        return _shape_ops.reshape(x, (x.shape[0], -1))

    def compute_output_shape(self, input_shape: Any) -> Any:
        """``(batch, product of the other axes)``."""
        rest = tuple(input_shape)[1:]
        size = int(np.prod(rest)) if all(s is not None for s in rest) else None
        return (input_shape[0], size)


class Dropout(Layer):
    """Randomly zeroes a fraction ``rate`` of the inputs while training (``training=True``),
    scaling the rest by ``1 / (1 - rate)``; the identity otherwise."""

    def __init__(
        self, rate: float, noise_shape: Any = None, seed: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if not 0 <= rate <= 1:
            raise ValueError(
                f"Invalid value received for argument `rate`. Expected a float value between "
                f"0 and 1. Received: rate={rate}"
            )
        self.rate = float(rate)
        self.seed = seed

    def call(self, inputs: Any, training: Any = None) -> Any:
        """In training, zero each entry with probability ``rate`` and scale the rest."""
        if not training or self.rate == 0:
            return inputs
        x = inputs if isinstance(inputs, Tensor) else convert_to_tensor(inputs)
        keep = _random.generator(self.seed).random(tuple(x.shape)) >= self.rate
        scale = np.float32(1.0 / (1.0 - self.rate)) if self.rate < 1 else np.float32(0)
        mask = Tensor._wrap((keep * scale).astype(x._value.dtype))
        return _math.multiply(x, mask)

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The input shape (dropout keeps it)."""
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        """The base arguments plus ``rate`` and ``seed``."""
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config


class Lambda(Layer):
    """A layer that applies a function: ``Lambda(lambda x: x ** 2)``, as Keras 2.

    The function's own variables are not tracked (as in Keras: create them in a Layer)."""

    function: Any
    arguments: dict[str, Any]
    _lambda_output_shape: Any

    def __init__(
        self, function: Any, output_shape: Any = None, arguments: Any = None, **kwargs: Any
    ) -> None:
        if not callable(function):
            raise TypeError(f"Lambda: function must be callable, got {type(function).__name__}")
        super().__init__(**kwargs)
        self.__dict__["function"] = function
        self.__dict__["arguments"] = dict(arguments or {})
        self.__dict__["_lambda_output_shape"] = output_shape

    def call(self, inputs: Any) -> Any:
        """The wrapped function applied to the inputs with the layer's ``arguments``."""
        return self.function(inputs, **self.arguments)

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The ``output_shape`` given to the constructor (None if none was given)."""
        return self._lambda_output_shape

    def get_config(self) -> dict[str, Any]:
        """The base arguments plus the function and its keyword arguments."""
        return {**super().get_config(), "function": self.function, "arguments": self.arguments}


class BatchNormalization(Layer):
    """Normalise each feature over the batch, as Keras 2's ``BatchNormalization``.

    Training (``training=True``): the batch mean and variance normalise the inputs and the
    moving averages move towards them, ``moving = moving − (moving − batch) · (1 − momentum)``.
    Inference (the default): the moving averages normalise.  Then ``· gamma + beta``.

    >>> import tapeviz as tv
    >>> bn = tv.keras.layers.BatchNormalization()
    >>> y = bn(tv.constant([[1.0, 2.0], [3.0, 6.0]]), training=True)
    >>> [w.name.split("/")[-1] for w in bn.weights]
    ['gamma:0', 'beta:0', 'moving_mean:0', 'moving_variance:0']
    """

    axis: int
    momentum: float
    epsilon: float
    center: bool
    scale: bool
    _inits: tuple[Any, ...]
    gamma: Any
    beta: Any
    moving_mean: Variable
    moving_variance: Variable

    def __init__(
        self,
        axis: int = -1,
        momentum: float = 0.99,
        epsilon: float = 0.001,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        moving_mean_initializer: Any = "zeros",
        moving_variance_initializer: Any = "ones",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        d = self.__dict__
        d["axis"] = axis
        d["momentum"] = float(momentum)
        d["epsilon"] = float(epsilon)
        d["center"] = bool(center)
        d["scale"] = bool(scale)
        d["_inits"] = (
            beta_initializer,
            gamma_initializer,
            moving_mean_initializer,
            moving_variance_initializer,
        )

    def build(self, input_shape: Any) -> None:
        """Create beta, gamma and the moving mean and variance for the feature axis."""
        if input_shape is None or len(input_shape) == 0:
            raise ValueError("BatchNormalization needs inputs of rank >= 1 (features on an axis)")
        ax = self.axis % len(input_shape)
        n = int(input_shape[ax])
        beta_i, gamma_i, mean_i, var_i = self._inits
        d = self.__dict__
        d["gamma"] = self.add_weight("gamma", (n,), initializer=gamma_i) if self.scale else None
        d["beta"] = self.add_weight("beta", (n,), initializer=beta_i) if self.center else None
        d["moving_mean"] = self.add_weight("moving_mean", (n,), initializer=mean_i, trainable=False)
        d["moving_variance"] = self.add_weight(
            "moving_variance", (n,), initializer=var_i, trainable=False
        )

    def call(self, inputs: Any, training: Any = None) -> Any:
        """Normalise by the batch's moments in training (updating the moving ones), else by them."""
        from ..ops.nn import batch_normalization, moments
        from ..ops.shape import reshape

        x = inputs
        ax = self.axis % x.ndim
        shape = [1] * x.ndim
        shape[ax] = int(x.shape[ax])

        def bc(v: Any) -> Any:  # a per-feature vector shaped to broadcast against x
            return (
                None if v is None else (reshape(v, shape) if x.ndim > 1 and ax != x.ndim - 1 else v)
            )

        if training and self.trainable:
            axes = [i for i in range(x.ndim) if i != ax]
            mean, variance = moments(x, axes)
            decay = 1.0 - self.momentum
            for moving, value in ((self.moving_mean, mean), (self.moving_variance, variance)):
                moving.assign_sub((moving - value) * decay)
        else:
            mean, variance = self.moving_mean, self.moving_variance
        return batch_normalization(
            x, bc(mean), bc(variance), bc(self.beta), bc(self.gamma), self.epsilon
        )

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The input shape (normalisation keeps it)."""
        return input_shape

    def get_config(self) -> dict[str, Any]:
        """The base arguments plus axis, momentum, epsilon, center, scale and initializers."""
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
        }


# a TensorFlow name tapeviz lacks: an error that says so (see tapeviz/_surface.py)
__getattr__ = _module_getattr("tf.keras.layers")
