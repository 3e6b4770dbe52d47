"""The compiler behind :func:`tapeviz.function`.

A traced Python function becomes a small *program* (:mod:`.ir`): inputs, a list of
equations in execution order — registry ops, reads and writes of Variables, ``tv.range``
loops with a body of equations, prints — and outputs.  Since the reverse sweep of a
``GradientTape`` inside the function runs on the tracer's symbolic tensors, the gradient
ops are equations of the same program, and so are the optimizer's updates.

``tf_function.py`` is the decorator itself (``tv.function``: signatures, the cache of
traces, retracing, ``tv.print``).  Pipeline::

    tracer.py   Python function ──(symbolic tensors)──> Program
    passes.py   Program ──> Program   (fold constants, drop dead code, merge duplicates)
    interp.py   Program + values ──> values   (pure numpy: the registry's forwards)
    codegen.py  Program ──> Python source    (numpy + kernels.py, for numba)
    jit.py      source file in the cache dir ──> numba.njit(cache=True) function
    record.py   Program ──> tapeviz.graph.Record   (what the graphviz emitter draws)

Nothing here imports numba until something is compiled.
"""
