"""Nested structures of arguments and results (lists, tuples, namedtuples, dicts) as flat
lists of leaves and a spec to rebuild them: ``tv.function``'s signatures and the values
``tv.cond`` / ``tv.while_loop`` carry.

>>> leaves, spec = flatten({"b": [1, 2], "a": (3,)})
>>> leaves
[3, 1, 2]
>>> unflatten(spec, [30, 10, 20])
{'a': (30,), 'b': [10, 20]}
"""

from __future__ import annotations

import inspect
from typing import Any

from .tensor import Tensor

__all__ = ["flatten", "positional_names", "unflatten"]


def positional_names(fn: Any) -> list[str]:
    """The names of ``fn``'s positional parameters, in order (``[]`` when Python cannot
    tell, as for some builtins): what the arguments of a call are named after."""
    try:
        return [
            p.name
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        return []


def flatten(obj: Any) -> tuple[list[Any], Any]:
    """Leaves of nested lists/tuples/dicts (dict keys sorted) and a spec to rebuild them."""
    leaves: list[Any] = []
    # iterative: a stack of (object, where to put its spec)
    root: list[Any] = [None]
    stack: list[tuple[Any, list[Any], int]] = [(obj, root, 0)]
    while stack:
        x, parent, pos = stack.pop()
        if isinstance(x, list | tuple) and not isinstance(x, Tensor):
            children: list[Any] = [None] * len(x)
            kind = "list" if isinstance(x, list) else type(x)
            parent[pos] = (kind, children)
            for i in range(len(x) - 1, -1, -1):
                stack.append((x[i], children, i))
        elif isinstance(x, dict):
            keys = sorted(x, key=repr)
            children = [None] * len(keys)
            parent[pos] = ("dict", tuple(keys), children)
            for i in range(len(keys) - 1, -1, -1):
                stack.append((x[keys[i]], children, i))
        else:
            parent[pos] = len(leaves)
            leaves.append(x)
    return leaves, root[0]


def unflatten(spec: Any, leaves: list[Any]) -> Any:
    """The structure ``spec`` (from :func:`flatten`) with ``leaves`` in it."""
    if isinstance(spec, int):
        return leaves[spec]
    if spec[0] == "dict":
        return {k: unflatten(s, leaves) for k, s in zip(spec[1], spec[2], strict=True)}
    kind, children = spec
    items = [unflatten(s, leaves) for s in children]
    if kind == "list":
        return items
    if kind is tuple:
        return tuple(items)
    return kind(*items)  # namedtuple
