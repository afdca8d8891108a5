"""Knowing when the cell that runs ``fit`` ends, also when ``fit`` raised."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any


class CellEndHook:
    """Registers ``fn`` on IPython's ``post_run_cell`` event until unregistered.

    ``on_train_end`` is skipped when ``fit`` raises or is interrupted: the end of the
    cell is where state kept for the run is given back. Outside IPython it does nothing.

    Args:
        fn: called with IPython's ``ExecutionResult`` when a cell ends.

    Example:

    >>> hook = CellEndHook(lambda result: None)
    >>> hook.register(); hook.unregister()  # no IPython here: both do nothing
    """

    def __init__(self, fn: Callable[[Any], None]) -> None:
        self._fn = fn
        self._shell: Any = None

    def register(self, shell: Any = None) -> None:
        """Registers on ``shell``'s events (defaults to the running IPython shell),
        unless already registered."""
        if shell is None:
            try:
                from IPython import get_ipython
            except ImportError:
                return
            shell = get_ipython()
        if shell is None or self._shell is not None:
            return
        shell.events.register("post_run_cell", self._fn)
        self._shell = shell

    def unregister(self) -> None:
        shell, self._shell = self._shell, None
        if shell is not None:
            with contextlib.suppress(ValueError):
                shell.events.unregister("post_run_cell", self._fn)
