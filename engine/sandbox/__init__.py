"""Out-of-process evaluation of BPMN scripts, conditions and timer expressions.

An in-process trace function cannot stop one long C call (``sum`` over lists, ``bytes * n``,
``int.to_bytes``), so policy-checked code runs in a small pool of worker processes, each under
OS limits (address space, CPU seconds) and a wall-clock kill. ``pool`` is the parent side,
``worker`` the child's loop, ``guards`` the in-interpreter budgets that still run first inside the
worker, ``codec`` the data format between them. This package imports only the standard library,
so a worker starts small; the policy itself is ``engine.workflows.script_policy``.
"""
