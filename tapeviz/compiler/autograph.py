"""Autograph-lite: Python ``if``/``while``/``for`` in a ``tv.function`` become control flow.

``tv.function(autograph=True)`` (the default, as in TensorFlow) rewrites the function's
source before tracing it.  Each ``if``, ``while`` and ``for`` statement becomes a call
into this module with the statement's blocks as small functions:

.. code-block:: python

    if x > 0:                    def if_true():  nonlocal y; y = x * 2
        y = x * 2          ──>   def if_false(): nonlocal y; y = -x
    else:                        def get_state(): return (y,)
        y = -x                   def set_state(s): nonlocal y; (y,) = s
                                 _tv_ag.if_stmt(x > 0, if_true, if_false,
                                                get_state, set_state, ('y',))

The call decides *when the function runs*, exactly as TensorFlow's autograph does: a
Python condition (``True``, ``n > 3`` on Python ints) runs the statement as Python; a
condition that is a tensor of the trace becomes :func:`tapeviz.cond` /
:func:`tapeviz.while_loop`, with the Python variables the statement assigns (found by
reading the source) as the values that leave the branches or are carried from one
iteration to the next.  ``for i in tv.range(n)`` becomes a compiled loop; ``for x in
range(3)`` and ``for x in a_list`` stay Python loops (unrolled while tracing).

Also converted: ``and``/``or``/``not`` (lazy, on tensors ``logical_and`` ...), ``a if c
else b``, ``break`` and ``continue`` (as flags), ``return`` inside ``if`` (as a result
variable).  Not converted (left as Python, with a note in the error if it matters):
``return`` inside a loop, ``for``/``while`` with an ``else:`` clause, ``break`` or
``continue`` inside ``with``/``try``, ``yield``, functions whose source is unavailable
(lambdas, code typed into a REPL), and functions called from the converted one (decorate
them with ``tv.function`` too: a ``tv.function`` called while tracing is converted).

The rewritten code is compiled with the user's file name and line numbers, so a
traceback points at the user's lines.
"""

from __future__ import annotations

import ast
import functools
import inspect
import sys
import textwrap
import threading
import types
from collections.abc import Callable, Sequence
from typing import Any

from .. import _state
from ..control_flow import (
    Undefined,
    is_symbolic,
    symbolic_cond,
    symbolic_while,
)
from ..tensor import Tensor, convert_to_tensor

__all__ = [
    "convert",
    "to_code",
    "if_stmt",
    "while_stmt",
    "for_stmt",
    "and_",
    "or_",
    "not_",
    "if_exp",
    "Undefined",
    "do_not_convert",
]

_PREFIX = "_tv_ag"
_RT = "_tv_ag"  # the name of this module inside converted code


# --- operators the converted code calls ----------------------------------------------------
def _symbolic_test(x: Any) -> bool:
    """Whether a condition decides at run time of the compiled function (a tensor of the
    trace), rather than now in Python."""
    return _state.local.tracer is not None and isinstance(x, Tensor)


def if_stmt(
    test: Any,
    body: Callable[[], None],
    orelse: Callable[[], None],
    get_state: Callable[[], tuple[Any, ...]],
    set_state: Callable[[tuple[Any, ...]], None],
    names: tuple[str, ...],
) -> None:
    """``if test: body() else: orelse()``; a symbolic ``test`` makes a :func:`tv.cond`."""
    if not is_symbolic(test):
        if test:
            body()
        else:
            orelse()
        return
    init = get_state()
    out, _ = symbolic_cond(
        test,
        _pure(body, init, get_state, set_state),
        _pure(orelse, init, get_state, set_state),
        names=names,
        allow_undefined=True,
    )
    set_state(tuple(out))


def _pure(
    block: Callable[..., None],
    init: tuple[Any, ...],
    get_state: Callable[[], tuple[Any, ...]],
    set_state: Callable[[tuple[Any, ...]], None],
) -> Callable[..., list[Any]]:
    """A block as a function of the state: run from ``init``, return the new state and
    leave the Python variables as they were (a branch may be traced again, for its
    gradient)."""

    def run(*args: Any) -> list[Any]:
        saved = get_state()
        set_state(init)
        try:
            block(*args)
            return list(get_state())
        finally:
            set_state(saved)

    return run


def while_stmt(
    test: Callable[[], Any],
    body: Callable[[], None],
    get_state: Callable[[], tuple[Any, ...]],
    set_state: Callable[[tuple[Any, ...]], None],
    names: tuple[str, ...],
    used_after: tuple[str, ...] = (),
) -> None:
    """``while test(): body()``; a ``test()`` that is a tensor of the trace makes a
    compiled ``while`` loop (TensorFlow's rule: decided by the first test)."""
    t = test()
    if _symbolic_test(t):
        _symbolic_loop(names, get_state, set_state, lambda: test(), body, None, used_after)
        return
    while t:
        body()
        t = test()
        if _symbolic_test(t):
            raise NotImplementedError(
                "tv.function: the condition of this `while` loop started as a Python value "
                "and became a tensor after an iteration (a variable changed from a Python "
                "number to a tensor, or a `break` depends on a tensor). TensorFlow refuses "
                "this too. Make the condition a tensor from the start, e.g. "
                "`n = tv.constant(0)` instead of `n = 0`, or `while n < limit:` with a "
                "tensor `n` instead of `while True:`."
            )


def for_stmt(
    iterable: Any,
    extra_test: Callable[[], Any] | None,
    body: Callable[[Any], None],
    get_state: Callable[[], tuple[Any, ...]],
    set_state: Callable[[tuple[Any, ...]], None],
    names: tuple[str, ...],
    used_after: tuple[str, ...] = (),
) -> None:
    """``for item in iterable: body(item)`` (``extra_test`` is a ``break`` flag's test).

    ``tv.range`` inside a trace makes a compiled loop; any other iterable (a Python
    range, a list, a tensor whose length is known while tracing) is looped in Python."""
    tracer = _state.local.tracer
    loop = getattr(iterable, "_loop", None)
    if tracer is not None and loop is not None and loop[0] is tracer:
        _, atoms, dtype = loop
        if extra_test is None:
            _symbolic_loop(names, get_state, set_state, None, body, (atoms, dtype), used_after)
            return
        _range_with_break(tracer, atoms, extra_test, body, get_state, set_state, names, used_after)
        return
    for item in iterable:
        if extra_test is not None:
            t = extra_test()
            if _symbolic_test(t):
                raise NotImplementedError(
                    "tv.function: a `break` that depends on a tensor inside a `for` loop over "
                    f"a Python iterable ({type(iterable).__name__}): the loop runs in Python "
                    "while tracing and cannot stop at run time. Loop over tv.range(n) "
                    "instead (a compiled loop), or use a `while` loop on a tensor condition."
                )
            if not t:
                return
        body(item)


def _range_with_break(
    tracer: Any,
    atoms: list[Any],
    extra_test: Callable[[], Any],
    body: Callable[[Any], None],
    get_state: Callable[[], tuple[Any, ...]],
    set_state: Callable[[tuple[Any, ...]], None],
    names: tuple[str, ...],
    used_after: tuple[str, ...],
) -> None:
    """``for i in tv.range(a, b, d)`` with ``break``: a while loop over a counter."""
    from ..ops.math import greater, less, logical_and, where

    start, limit, delta = (tracer.symbolic(a) for a in atoms)
    counter = "_tv_ag_index"

    def test() -> Any:
        i = state[counter]
        inside = where(greater(delta, 0), less(i, limit), greater(i, limit))
        more = extra_test()
        return (
            logical_and(inside, more)
            if isinstance(more, Tensor)
            else (inside if more else convert_to_tensor(False))
        )

    state: dict[str, Any] = {counter: start}

    def get() -> tuple[Any, ...]:
        return (*get_state(), state[counter])

    def put(values: tuple[Any, ...]) -> None:
        set_state(tuple(values[:-1]))
        state[counter] = values[-1]

    def step() -> None:
        i = state[counter]
        body(i)
        state[counter] = i + delta

    _symbolic_loop((*names, counter), get, put, test, step, None, used_after)


def _symbolic_loop(
    names: tuple[str, ...],
    get_state: Callable[[], tuple[Any, ...]],
    set_state: Callable[[tuple[Any, ...]], None],
    test: Callable[[], Any] | None,
    body: Callable[..., None],
    loop_range: tuple[list[Any], Any] | None,
    used_after: tuple[str, ...],
) -> None:
    """A loop traced once: the variables that have a value before it are carried; the
    others are the body's own: those the code reads after the loop (``used_after``) keep
    the last iteration's value (zeros if the loop did not run), tensors through hidden
    storage; the rest have no value after it."""
    init = get_state()
    carried = [k for k, v in enumerate(init) if not isinstance(v, Undefined)]
    local = [k for k in range(len(init)) if k not in carried]

    def full(values: Any) -> tuple[Any, ...]:
        state = list(init)
        for k, v in zip(carried, values, strict=True):
            state[k] = v
        return tuple(state)

    def cond_fn(*values: Any) -> Any:
        set_state(full(values))
        assert test is not None
        return test()

    def body_fn(*args: Any) -> list[Any]:
        values = args[1:] if loop_range is not None else args
        set_state(full(values))
        if loop_range is not None:
            body(args[0])
        else:
            body()
        state = get_state()
        return [state[k] for k in carried]

    escapes = [k for k in local if names[k] in used_after]

    def escaping() -> list[tuple[str, Any]]:
        state = get_state()
        return [(names[k], state[k]) for k in escapes]

    out, after = symbolic_while(
        cond_fn,
        body_fn,
        [init[k] for k in carried],
        names=[names[k] for k in carried],
        loop_range=loop_range,
        escaping=escaping,
    )
    final = list(full(out))
    for k in local:
        final[k] = Undefined(names[k], "it is assigned inside a loop on tensors only")
    for k, v in zip(escapes, after, strict=True):
        final[k] = v
    set_state(tuple(final))


def returned(value: Any) -> Any:
    """What a converted function returns: an error if it holds a variable that has no
    value (set in one branch of an ``if`` on a tensor only)."""
    from ..control_flow import _flatten

    for leaf in _flatten(value)[0]:
        if isinstance(leaf, Undefined):
            leaf._fail()
    return value


def and_(*operands: Callable[[], Any]) -> Any:
    """``a and b and ...``: Python's lazy ``and``; on symbolic tensors ``logical_and``."""
    from ..ops.math import logical_and

    return _lazy(operands, logical_and, stop_on=False)


def or_(*operands: Callable[[], Any]) -> Any:
    """``a or b or ...``: Python's lazy ``or``; on symbolic tensors ``logical_or``."""
    from ..ops.math import logical_or

    return _lazy(operands, logical_or, stop_on=True)


def _lazy(
    operands: tuple[Callable[[], Any], ...], logical: Callable[[Any, Any], Any], stop_on: bool
) -> Any:
    """Python's lazy ``and`` (``stop_on=False``) / ``or`` (``stop_on=True``): the operands
    are evaluated left to right until one's truth is ``stop_on``; a symbolic tensor cannot
    decide, so it is combined with the next operand by ``logical``."""
    value = operands[0]()
    for next_operand in operands[1:]:
        if is_symbolic(value):
            value = logical(value, next_operand())
        elif bool(value) is stop_on:
            return value
        else:
            value = next_operand()
    return value


def not_(x: Any) -> Any:
    """``not x``; on a symbolic tensor ``logical_not``."""
    if is_symbolic(x):
        from ..ops.math import logical_not

        return logical_not(x)
    return not x


def if_exp(test: Any, if_true: Callable[[], Any], if_false: Callable[[], Any]) -> Any:
    """``a if test else b``; a symbolic ``test`` makes a :func:`tv.cond`."""
    if not is_symbolic(test):
        return if_true() if test else if_false()
    out, _ = symbolic_cond(test, if_true, if_false)
    return out


# --- the source rewrite ------------------------------------------------------------------------
class _NotConverted(Exception):
    pass


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _walk_scope(nodes: Sequence[ast.AST], into_loops: bool = True) -> Any:
    """The nodes of ``nodes`` in this function's scope (not in nested functions,
    classes or comprehensions; not in nested loops unless ``into_loops``)."""
    stack = list(reversed(nodes))
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, _SCOPES):
            continue
        if not into_loops and isinstance(n, ast.For | ast.While):
            continue
        stack.extend(reversed(list(ast.iter_child_nodes(n))))


def _load_counts(node: ast.AST) -> dict[str, int]:
    counts: dict[str, int] = {}
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
            counts[n.id] = counts.get(n.id, 0) + 1
    return counts


def _assigned(nodes: Sequence[ast.AST]) -> list[str]:
    """Names the statements bind (in order of first binding)."""
    names: dict[str, None] = {}
    for n in _walk_scope(nodes):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store | ast.Del):
            names[n.id] = None
        elif isinstance(n, _SCOPES) and not isinstance(n, ast.Lambda):
            names[n.name] = None
        elif isinstance(n, ast.alias):
            names[(n.asname or n.name).split(".")[0]] = None
        elif isinstance(n, ast.ExceptHandler) and n.name:
            names[n.name] = None
        elif isinstance(n, _COMPREHENSIONS):
            pass
    return [n for n in names if n != "_"] + (["_"] if "_" in names else [])


def _has(nodes: Sequence[ast.AST], kinds: Any, into_loops: bool = True) -> bool:
    return any(isinstance(n, kinds) for n in _walk_scope(nodes, into_loops))


def _ends_with_return(stmts: list[ast.stmt]) -> bool:
    if not stmts:
        return False
    last = stmts[-1]
    if isinstance(last, ast.Return):
        return True
    return (
        isinstance(last, ast.If) and _ends_with_return(last.body) and _ends_with_return(last.orelse)
    )


def _normalize_returns(stmts: list[ast.stmt]) -> list[ast.stmt]:
    """Move the statements after ``if c: return a`` into its ``else`` so that every
    ``return`` in an ``if`` is the last statement of its branch."""
    for i, s in enumerate(stmts):
        if isinstance(s, ast.If) and _has(s.body + s.orelse, ast.Return, into_loops=False):
            s.body = _normalize_returns(s.body)
            s.orelse = _normalize_returns(s.orelse)
            rest = stmts[i + 1 :]
            if rest and _ends_with_return(s.body) and not _ends_with_return(s.orelse):
                s.orelse = _normalize_returns(s.orelse + rest)
                rest = []
            elif rest and _ends_with_return(s.orelse) and not _ends_with_return(s.body):
                s.body = _normalize_returns(s.body + rest)
                rest = []
            return [*stmts[:i], s, *_normalize_returns(rest)]
    return stmts


def _returns_to_assignments(stmts: list[ast.stmt], var: str) -> None:
    last = stmts[-1]
    if isinstance(last, ast.Return):
        value = last.value or ast.Constant(None)
        stmts[-1] = ast.copy_location(
            ast.Assign(targets=[ast.Name(var, ast.Store())], value=value), last
        )
    else:
        assert isinstance(last, ast.If)
        _returns_to_assignments(last.body, var)
        _returns_to_assignments(last.orelse, var)


def _lower_jumps(stmts: list[ast.stmt], kind: type, flag: str) -> tuple[list[ast.stmt], bool]:
    """Replace ``break`` (or ``continue``) of this loop by ``flag = True`` and guard the
    statements after it with ``if not flag:``."""
    out: list[ast.stmt] = []
    for i, s in enumerate(stmts):
        if isinstance(s, kind):
            out.append(
                ast.copy_location(
                    ast.Assign(targets=[ast.Name(flag, ast.Store())], value=ast.Constant(True)), s
                )
            )
            return out, True
        if not _has([s], kind, into_loops=False):
            out.append(s)
            continue
        if not isinstance(s, ast.If):
            what = "break" if kind is ast.Break else "continue"
            raise _NotConverted(f"`{what}` inside `{type(s).__name__.lower()}` at line {s.lineno}")
        s.body, _ = _lower_jumps(s.body, kind, flag)
        s.orelse, _ = _lower_jumps(s.orelse, kind, flag)
        out.append(s)
        rest, _ = _lower_jumps(stmts[i + 1 :], kind, flag)
        if rest:
            guard = ast.If(
                test=ast.UnaryOp(ast.Not(), ast.Name(flag, ast.Load())), body=rest, orelse=[]
            )
            out.append(ast.copy_location(guard, rest[0]))
        return out, True
    return out, False


def _rt(attr: str) -> ast.expr:
    return ast.Attribute(ast.Name(_RT, ast.Load()), attr, ast.Load())


def _lambda(body: ast.expr) -> ast.expr:
    args = ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[])
    return ast.Lambda(args=args, body=body)


def _fn(name: str, params: list[str], body: list[ast.stmt]) -> ast.FunctionDef:
    args = ast.arguments(
        posonlyargs=[],
        args=[ast.arg(p) for p in params],
        kwonlyargs=[],
        kw_defaults=[],
        defaults=[],
    )
    return ast.FunctionDef(
        name=name, args=args, body=body or [ast.Pass()], decorator_list=[], returns=None
    )


class _Converter(ast.NodeTransformer):
    def __init__(self, global_names: set[str], loads: dict[str, int]) -> None:
        self.loads = loads  # how often the function reads each name
        self.count = 0
        self.global_names = global_names
        self.modified: dict[str, None] = {}
        self.notes: list[str] = []

    # nested functions and classes keep their own code
    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        return node

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> Any:
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> Any:
        return node

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        return node

    def visit_Return(self, node: ast.Return) -> Any:
        self.generic_visit(node)
        if node.value is None:
            return node
        checked = ast.Call(_rt("returned"), [node.value], [])
        return ast.copy_location(ast.Return(ast.copy_location(checked, node.value)), node)

    # -- expressions --------------------------------------------------------------------
    def visit_BoolOp(self, node: ast.BoolOp) -> Any:
        self.generic_visit(node)
        fn = "and_" if isinstance(node.op, ast.And) else "or_"
        call = ast.Call(_rt(fn), [_lambda(v) for v in node.values], [])
        return ast.copy_location(call, node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            return ast.copy_location(ast.Call(_rt("not_"), [node.operand], []), node)
        return node

    def visit_IfExp(self, node: ast.IfExp) -> Any:
        self.generic_visit(node)
        call = ast.Call(_rt("if_exp"), [node.test, _lambda(node.body), _lambda(node.orelse)], [])
        return ast.copy_location(call, node)

    # -- statements ---------------------------------------------------------------------
    def _state_functions(self, n: int, names: list[str]) -> list[ast.stmt]:
        get = _fn(
            f"{_PREFIX}_get_state_{n}",
            [],
            [ast.Return(ast.Tuple([ast.Name(x, ast.Load()) for x in names], ast.Load()))],
        )
        body: list[ast.stmt] = [*self._declare(names)]
        if names:
            target = ast.Tuple([ast.Name(x, ast.Store()) for x in names], ast.Store())
            body.append(
                ast.Assign(targets=[target], value=ast.Name(f"{_PREFIX}_state", ast.Load()))
            )
        setter = _fn(f"{_PREFIX}_set_state_{n}", [f"{_PREFIX}_state"], body)
        return [get, setter]

    def _declare(self, names: list[str]) -> list[ast.stmt]:
        nonlocal_names = [x for x in names if x not in self.global_names]
        global_names = [x for x in names if x in self.global_names]
        out: list[ast.stmt] = []
        if nonlocal_names:
            out.append(ast.Nonlocal(nonlocal_names))
        if global_names:
            out.append(ast.Global(global_names))
        return out

    def _used_after(self, node: ast.AST, names: list[str]) -> ast.expr:
        """The names of ``names`` that the function reads outside the loop ``node``."""
        inside = _load_counts(node)
        used = [x for x in names if self.loads.get(x, 0) > inside.get(x, 0)]
        return self._names_tuple(used)

    def _names_tuple(self, names: list[str]) -> ast.expr:
        """The variables' names for messages and drawings (``retval`` for the generated
        ``_tv_ag_retval``)."""
        shown = [x.removeprefix(f"{_PREFIX}_") for x in names]
        return ast.Tuple([ast.Constant(x) for x in shown], ast.Load())

    def _placed(self, stmts: list[ast.stmt], node: ast.AST) -> list[ast.stmt]:
        for s in stmts:
            ast.copy_location(s, node)
            for sub in ast.walk(s):
                if not hasattr(sub, "lineno") and "lineno" in sub._attributes:
                    ast.copy_location(sub, node)
        return stmts

    def _blocked(self, node: ast.stmt, why: str) -> Any:
        self.notes.append(f"line {node.lineno}: {why}")
        return node

    def visit_If(self, node: ast.If) -> Any:
        jumps = (ast.Return, ast.Break, ast.Continue, ast.Yield, ast.YieldFrom, ast.Await)
        if _has(node.body + node.orelse, jumps, into_loops=False):
            what = next(
                n for n in _walk_scope(node.body + node.orelse, False) if isinstance(n, jumps)
            )
            word = type(what).__name__.lower()
            return self._blocked(
                node, f"`if` not converted: it contains `{word}` (line {what.lineno})"
            )
        names = _assigned(node.body + node.orelse)
        self.modified.update(dict.fromkeys(names))
        self.generic_visit(node)
        n = self.count = self.count + 1
        decl = self._declare(names)
        true_fn = _fn(f"{_PREFIX}_if_true_{n}", [], [*decl, *node.body])
        false_fn = _fn(f"{_PREFIX}_if_false_{n}", [], [*decl, *node.orelse])
        call = ast.Expr(
            ast.Call(
                _rt("if_stmt"),
                [
                    node.test,
                    ast.Name(true_fn.name, ast.Load()),
                    ast.Name(false_fn.name, ast.Load()),
                    ast.Name(f"{_PREFIX}_get_state_{n}", ast.Load()),
                    ast.Name(f"{_PREFIX}_set_state_{n}", ast.Load()),
                    self._names_tuple(names),
                ],
                [],
            )
        )
        return self._placed([true_fn, false_fn, *self._state_functions(n, names), call], node)

    def _loop_prelude(self, node: ast.For | ast.While) -> tuple[list[ast.stmt], str | None]:
        """Lower break/continue in the loop's body; return statements to run before the
        loop and the break flag (or None)."""
        if node.orelse:
            raise _NotConverted(f"`{type(node).__name__.lower()} ... else:`")
        if _has(node.body, (ast.Return, ast.Yield, ast.YieldFrom, ast.Await), into_loops=True):
            raise _NotConverted("a `return` (or `yield`) inside the loop")
        self.count += 1
        before: list[ast.stmt] = []
        brk: str | None = None
        if _has(node.body, ast.Break, into_loops=False):
            brk = f"{_PREFIX}_break_{self.count}"
            node.body, _ = _lower_jumps(node.body, ast.Break, brk)
            before.append(
                ast.Assign(targets=[ast.Name(brk, ast.Store())], value=ast.Constant(False))
            )
        if _has(node.body, ast.Continue, into_loops=False):
            cont = f"{_PREFIX}_continue_{self.count}"
            node.body, _ = _lower_jumps(node.body, ast.Continue, cont)
            reset = ast.Assign(targets=[ast.Name(cont, ast.Store())], value=ast.Constant(False))
            node.body = [reset, *node.body]
        return before, brk

    def visit_While(self, node: ast.While) -> Any:
        return self._loop(node, self._while)

    def visit_For(self, node: ast.For) -> Any:
        return self._loop(node, self._for)

    def _loop(self, node: Any, convert: Callable[[Any, list[ast.stmt], str | None], Any]) -> Any:
        """``convert(node, before, brk)`` after :meth:`_loop_prelude`; a loop that cannot
        be converted stays Python (:meth:`_blocked` says why)."""
        try:
            before, brk = self._loop_prelude(node)
        except _NotConverted as e:
            return self._blocked(node, f"`{type(node).__name__.lower()}` not converted: {e}")
        return convert(node, before, brk)

    def _while(self, node: ast.While, before: list[ast.stmt], brk: str | None) -> Any:
        n = self.count
        names = _assigned(node.body)
        if brk is not None:
            names = [brk, *[x for x in names if x != brk]]
        self.modified.update(dict.fromkeys(names))
        used_after = self._used_after(node, names)
        self.generic_visit(node)
        test: ast.expr = node.test
        if brk is not None:
            not_brk = ast.Call(_rt("not_"), [ast.Name(brk, ast.Load())], [])
            test = ast.Call(_rt("and_"), [_lambda(not_brk), _lambda(test)], [])
        test_fn = _fn(f"{_PREFIX}_test_{n}", [], [ast.Return(test)])
        body_fn = _fn(f"{_PREFIX}_body_{n}", [], [*self._declare(names), *node.body])
        call = ast.Expr(
            ast.Call(
                _rt("while_stmt"),
                [
                    ast.Name(test_fn.name, ast.Load()),
                    ast.Name(body_fn.name, ast.Load()),
                    ast.Name(f"{_PREFIX}_get_state_{n}", ast.Load()),
                    ast.Name(f"{_PREFIX}_set_state_{n}", ast.Load()),
                    self._names_tuple(names),
                    used_after,
                ],
                [],
            )
        )
        stmts = [*before, test_fn, body_fn, *self._state_functions(n, names), call]
        return self._placed(stmts, node)

    def _for(self, node: ast.For, before: list[ast.stmt], brk: str | None) -> Any:
        n = self.count
        item = f"{_PREFIX}_item_{n}"
        bind = ast.Assign(targets=[node.target], value=ast.Name(item, ast.Load()))
        ast.copy_location(bind, node)
        names = _assigned([bind, *node.body])
        if brk is not None:
            names = [brk, *[x for x in names if x != brk]]
        self.modified.update(dict.fromkeys(names))
        used_after = self._used_after(node, names)
        self.generic_visit(node)
        body_fn = _fn(f"{_PREFIX}_body_{n}", [item], [*self._declare(names), bind, *node.body])
        extra: ast.expr = ast.Constant(None)
        if brk is not None:
            extra = _lambda(ast.Call(_rt("not_"), [ast.Name(brk, ast.Load())], []))
        call = ast.Expr(
            ast.Call(
                _rt("for_stmt"),
                [
                    node.iter,
                    extra,
                    ast.Name(body_fn.name, ast.Load()),
                    ast.Name(f"{_PREFIX}_get_state_{n}", ast.Load()),
                    ast.Name(f"{_PREFIX}_set_state_{n}", ast.Load()),
                    self._names_tuple(names),
                    used_after,
                ],
                [],
            )
        )
        stmts = [*before, body_fn, *self._state_functions(n, names), call]
        return self._placed(stmts, node)


class Conversion:
    """The result of converting one function: the new function (or the original), the
    generated source, and notes on what stayed Python."""

    def __init__(
        self, fn: Callable[..., Any], source: str | None, notes: list[str], reason: str | None
    ) -> None:
        self.fn = fn
        self.source = source
        self.notes = notes
        self.reason = reason  # why nothing was converted (None: converted, or nothing to do)


_cache: dict[Any, tuple[Any, str | None, list[str], str | None]] = {}
_cache_lock = threading.Lock()


def do_not_convert(func: Callable[..., Any]) -> Callable[..., Any]:
    """Mark ``func`` so that autograph leaves it as it is (``tf.autograph.experimental.
    do_not_convert``)."""
    func.__tv_do_not_convert__ = True  # type: ignore[attr-defined]
    return func


def convert(fn: Callable[..., Any]) -> Conversion:
    """Rewrite ``fn``'s ``if``/``while``/``for`` statements (see the module docstring)."""
    if isinstance(fn, types.MethodType):
        inner = convert(fn.__func__)
        bound = types.MethodType(inner.fn, fn.__self__)
        return Conversion(bound, inner.source, inner.notes, inner.reason)
    if getattr(fn, "__tv_do_not_convert__", False) or not isinstance(fn, types.FunctionType):
        return Conversion(fn, None, [], None)
    code = fn.__code__
    with _cache_lock:
        hit = _cache.get(code)
    if hit is None:
        hit = _compile(fn)
        with _cache_lock:
            _cache[code] = hit
    factory, source, notes, reason = hit
    if factory is None:
        return Conversion(_explained(fn, fn, [reason] if reason else []), source, notes, reason)
    cells = []
    for cell in fn.__closure__ or ():
        try:
            cells.append(cell.cell_contents)
        except ValueError:  # an empty cell (a name bound later)
            cells.append(Undefined("(closure)"))
    new = factory(sys.modules[__name__], *cells)
    new.__defaults__ = fn.__defaults__
    new.__kwdefaults__ = fn.__kwdefaults__
    functools.update_wrapper(new, fn)
    new.__wrapped__ = fn
    return Conversion(_explained(new, fn, notes), source, notes, None)


def _explained(run: Callable[..., Any], fn: Callable[..., Any], notes: list[str]) -> Any:
    """``run``, adding to a "Python bool of a tensor" error what autograph left alone."""
    if not notes:
        return run
    from .tracer import OperatorNotAllowedInGraphError

    @functools.wraps(fn)
    def explained(*args: Any, **kwargs: Any) -> Any:
        try:
            return run(*args, **kwargs)
        except OperatorNotAllowedInGraphError as e:
            note = (
                f"autograph did not convert everything in {fn.__qualname__}: "
                + "; ".join(notes)
                + ". Rewrite that part (see the tv.function docstring), or use tv.cond / "
                "tv.while_loop directly."
            )
            raise OperatorNotAllowedInGraphError(f"{e}\n{note}").with_traceback(
                e.__traceback__
            ) from None

    return explained


def _convertible(nodes: list[ast.stmt]) -> bool:
    return any(
        isinstance(n, ast.If | ast.While | ast.For | ast.BoolOp | ast.IfExp)
        or (isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.Not))
        for n in _walk_scope(list(nodes))
    )


def _source_lines(code: types.CodeType) -> str | None:
    """The lines of a function's source, from its decorators to the last line its bytecode
    comes from — what ``inspect.getsource`` returns without tokenizing the file (a few
    milliseconds in a new process: the tokenizer compiles its patterns first).  None if
    that cannot be told (Python 3.10; the source is not in ``linecache``; a line after
    the last one belongs to the function, e.g. code after a ``return``): then inspect's."""
    positions = getattr(code, "co_positions", None)
    if positions is None:
        return None
    import linecache

    lines = linecache.getlines(code.co_filename)
    first = code.co_firstlineno
    last = 0
    codes = [code]
    while codes:
        c = codes.pop()
        for _, end, _, _ in getattr(c, "co_positions")():  # noqa: B009  (3.11+)
            if end is not None and end > last:
                last = end
        codes.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    if not lines or last < first or last > len(lines):
        return None
    head = lines[first - 1]
    indent = len(head) - len(head.lstrip())
    for line in lines[last:]:
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            if len(line) - len(line.lstrip()) > indent:
                return None  # more of the function (or a line continued): inspect's way
            break
    return "".join(lines[first - 1 : last])


def _compile(fn: types.FunctionType) -> tuple[Any, str | None, list[str], str | None]:
    code = fn.__code__
    if fn.__name__ == "<lambda>":
        return None, None, [], "a lambda is not converted"
    try:
        source = textwrap.dedent(_source_lines(code) or inspect.getsource(fn))
    except (OSError, TypeError):
        return (
            None,
            None,
            [],
            f"the source code of {fn.__qualname__} is not available (defined in an "
            "interactive prompt or by exec?), so its Python `if`/`while`/`for` statements "
            "were not converted",
        )
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None, None, [], f"the source code of {fn.__qualname__} could not be parsed"
    node = tree.body[0] if tree.body else None
    if not isinstance(node, ast.FunctionDef) or node.name != code.co_name:
        return None, None, [], f"the source code of {fn.__qualname__} was not found"
    if not _convertible(node.body):
        return None, None, [], None  # nothing to convert
    ast.increment_lineno(tree, code.co_firstlineno - 1)
    node.decorator_list = []
    params = {a.arg for a in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]}
    params |= {a.arg for a in (node.args.vararg, node.args.kwarg) if a is not None}
    global_names: set[str] = set()
    nonlocal_names: set[str] = set()
    for n in _walk_scope(node.body):
        if isinstance(n, ast.Global):
            global_names.update(n.names)
        elif isinstance(n, ast.Nonlocal):
            nonlocal_names.update(n.names)

    body = node.body
    doc: list[ast.stmt] = []
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        doc, body = body[:1], body[1:]
    if not _ends_with_return(body):
        end = ast.Return(value=None)
        ast.copy_location(end, body[-1] if body else node)
        body = [*body, end]
    body = _normalize_returns(body)
    if (
        isinstance(body[-1], ast.If)
        and _ends_with_return(body[-1:])
        and not _has(body[:-1], ast.Return, into_loops=False)
    ):
        retval = f"{_PREFIX}_retval"
        _returns_to_assignments(body, retval)
        last = ast.Return(ast.Name(retval, ast.Load()))
        body.append(ast.copy_location(last, body[-1]))
    conv = _Converter(global_names, _load_counts(node))
    new_body: list[ast.stmt] = []
    for s in body:
        r = conv.visit(s)
        new_body.extend(r if isinstance(r, list) else [r])
    hoisted = [
        x
        for x in conv.modified
        if x not in params and x not in global_names and x not in nonlocal_names
    ]
    init = [
        ast.Assign(
            targets=[ast.Name(x, ast.Store())],
            value=ast.Call(_rt("Undefined"), [ast.Constant(x)], []),
        )
        for x in hoisted
    ]
    first = body[0] if body else node
    node.body = [*doc, *[ast.copy_location(s, first) for s in init], *new_body]
    freevars = list(code.co_freevars)
    factory = _fn(
        f"{_PREFIX}_factory", [_RT, *freevars], [node, ast.Return(ast.Name(node.name, ast.Load()))]
    )
    ast.copy_location(factory, node)
    module = ast.Module(body=[factory], type_ignores=[])
    ast.fix_missing_locations(module)
    try:
        compiled = compile(module, code.co_filename, "exec")
    except SyntaxError as e:
        return None, None, [], f"autograph could not convert {fn.__qualname__}: {e}"
    namespace: dict[str, Any] = {}
    exec(compiled, fn.__globals__, namespace)
    text = ast.unparse(node)
    return namespace[factory.name], text, conv.notes, None


def to_code(fn: Callable[..., Any]) -> str:
    """The source of ``fn`` as autograph converts it (``tf.autograph.to_code``)."""
    target = getattr(fn, "python_function", fn)
    conv = convert(target)
    if conv.source is None:
        if conv.reason:
            raise ValueError(conv.reason)
        return textwrap.dedent(inspect.getsource(target))
    return conv.source
