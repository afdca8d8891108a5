"""A thread-safe list of listeners that never lets one of them break training."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Listeners(Generic[T]):
    """Callables notified with a value; one that raises is reported once and skipped.

    Copies (``copy.deepcopy``, pickling) start with no listeners: those belong to
    the original's displays.

    Args:
        owner: the name used in the warning, e.g. ``"EarlyStoppingController"``.

    Example:

    >>> seen = []
    >>> listeners = Listeners("Example")
    >>> unsubscribe = listeners.add(seen.append)
    >>> listeners.notify(1); unsubscribe(); listeners.notify(2)
    >>> seen
    [1]
    """

    def __init__(self, owner: str) -> None:
        self._owner = owner
        self._lock = threading.Lock()
        self._fns: list[Callable[[T], None]] = []
        self._warned: set[int] = set()

    def add(self, fn: Callable[[T], None]) -> Callable[[], None]:
        """Adds ``fn``; returns a function that removes it."""
        if not callable(fn):
            raise TypeError(f"fn must be callable. Received: {fn!r} of type {type(fn).__name__}")
        with self._lock:
            self._fns.append(fn)

        def unsubscribe() -> None:
            with self._lock:
                if fn in self._fns:
                    self._fns.remove(fn)

        return unsubscribe

    def notify(self, value: T) -> None:
        """Calls every listener with ``value`` in the calling thread."""
        with self._lock:
            fns = list(self._fns)
        for fn in fns:
            try:
                fn(value)
            except Exception as exc:  # a listener must not break training
                if id(fn) not in self._warned:
                    self._warned.add(id(fn))
                    warnings.warn(
                        f"{self._owner} listener {fn!r} raised {exc!r}; training goes on "
                        "and further errors of this listener are not reported.",
                        RuntimeWarning,
                        stacklevel=3,
                    )

    def __len__(self) -> int:
        return len(self._fns)

    def __getstate__(self) -> dict[str, Any]:
        return {"_owner": self._owner}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["_owner"])  # type: ignore[misc]
