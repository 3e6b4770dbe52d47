"""The read-only attributes written with ``tapeviz._readonly.ReadOnly``.

They must behave as the ``@property`` they replaced: the private value when read, an
``AttributeError`` when assigned, their own docstring (not ``ReadOnly``'s) for ``help``.
"""

from __future__ import annotations

import inspect
import pydoc
from typing import Any

import pytest

import tapeviz as tv
from tapeviz._readonly import ReadOnly


def _owners() -> list[tuple[Any, str, str]]:
    """(object, public name, private attribute it reads) for every ReadOnly in the engine."""
    v = tv.Variable([1.0, 2.0], name="w", trainable=False)
    t = tv.constant(1.0)
    t._name = "t"
    ta = tv.TensorArray(tv.float32, size=0, dynamic_size=True, element_shape=(2,))
    layer = tv.keras.layers.Dense(3, name="d", dtype="float64")
    opt = tv.keras.optimizers.SGD(0.1, name="sgd")
    module = tv.Module(name="m")
    return [
        (v, "name", "_vname"),
        (v, "trainable", "_trainable"),
        (t, "name", "_name"),
        (ta, "dtype", "_dtype"),
        (ta, "dynamic_size", "_dynamic"),
        (ta, "element_shape", "_element_shape"),
        (layer, "name", "_name"),
        (layer, "dtype", "_dtype"),
        (opt, "name", "_name"),
        (module, "name", "_name"),
    ]


@pytest.mark.parametrize("case", range(len(_owners())))
def test_reads_the_private_value_and_refuses_assignment(case: int) -> None:
    obj, public, private = _owners()[case]
    descriptor = inspect.getattr_static(type(obj), public)
    assert isinstance(descriptor, ReadOnly)
    assert getattr(obj, public) is getattr(obj, private)
    with pytest.raises(AttributeError, match=f"'{public}'"):
        setattr(obj, public, getattr(obj, private))
    assert getattr(obj, public) is getattr(obj, private)


def test_values_as_before() -> None:
    v = tv.Variable([1.0, 2.0], name="w", trainable=False)
    assert (v.name, v.trainable) == ("w:0", False)
    ta = tv.TensorArray(tv.float32, size=0, dynamic_size=True, element_shape=(2,))
    assert (ta.dtype, ta.dynamic_size, ta.element_shape) == (tv.float32, True, (2,))
    layer = tv.keras.layers.Dense(3, name="d", dtype="float64")
    assert (layer.name, layer.dtype) == ("d", "float64")
    assert tv.keras.optimizers.SGD(0.1).name == "SGD"


def test_each_has_its_own_docstring() -> None:
    """CPython 3.11 leaves a property subclass's class docstring on the instance unless it
    is set again: every attribute must show its own text."""
    assert inspect.getdoc(tv.Variable.name) == (
        'The name with its scope and output index (``"dense/w:0"``), as in TensorFlow 2.'
    )
    assert tv.TensorArray.dynamic_size.__doc__ == "Whether writing past the end grows the array."
    docs = {
        inspect.getdoc(inspect.getattr_static(type(obj), public)) for obj, public, _ in _owners()
    }
    assert inspect.getdoc(ReadOnly) not in docs
    assert len(docs) == len(_owners())  # ten different texts
    page = pydoc.plain(pydoc.render_doc(tv.TensorArray))
    assert "dynamic_size\n |      Whether writing past the end grows the array." in page
