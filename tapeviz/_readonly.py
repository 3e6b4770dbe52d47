"""``ReadOnly``: a read-only property that returns a private attribute, in one line.

In a class body, ``dynamic_size = ReadOnly[bool]("_dynamic", "Whether ...")`` is the
property

.. code-block:: python

    @property
    def dynamic_size(self) -> bool:
        \"\"\"Whether ...\"\"\"
        return self._dynamic

It *is* a :class:`property` (reading it is as fast; ``help`` and ``?`` in Jupyter show the
docstring; assigning it raises ``AttributeError``), and for mypy reading it gives a
``bool`` and assigning it is an error.  The engine's plain read-only attributes are
written this way (``Tensor.name``, ``Variable.trainable``, ``TensorArray.dynamic_size``,
``Layer.dtype``...); a property that computes something stays a ``@property``.

>>> class Box:
...     size = ReadOnly[int]("_size", "How many things fit in.")
...     def __init__(self) -> None:
...         self._size = 3
>>> Box().size
3
>>> Box.size.__doc__
'How many things fit in.'
>>> Box().size = 4
Traceback (most recent call last):
AttributeError: property 'size' of 'Box' object has no setter
"""

from __future__ import annotations

from operator import attrgetter
from typing import TYPE_CHECKING, Any, Generic, NoReturn, TypeVar, overload

__all__ = ["ReadOnly"]

# covariant: a subclass may narrow the type (Variable.name is a str, Tensor.name str | None)
T_co = TypeVar("T_co", covariant=True)


class ReadOnly(property, Generic[T_co]):
    """A read-only property returning the attribute named ``attribute``."""

    def __init__(self, attribute: str, doc: str) -> None:
        super().__init__(attrgetter(attribute))
        # (CPython 3.11's property.__init__ leaves this class's docstring on the instance)
        self.__doc__ = doc

    if TYPE_CHECKING:  # what mypy sees; at run time property's own methods run

        @overload
        def __get__(self, obj: None, owner: type | None = None, /) -> ReadOnly[T_co]: ...
        @overload
        def __get__(self, obj: object, owner: type | None = None, /) -> T_co: ...
        def __get__(self, obj: object, owner: type | None = None, /) -> Any: ...

        # nothing can be assigned: mypy reports an assignment (as type "Never")
        def __set__(self, obj: object, value: NoReturn, /) -> NoReturn: ...
