"""The comms of our control widgets: their messages may be handled off the main shell.

The controls' handlers only touch thread-safe state (an Event, an int under a lock),
so their ``comm_msg``s can run on a kernel subshell's thread or, where the front end
sends no subshell id (VS Code, JupyterLab < 4.4), on the reconnect service's worker
thread while a plain ``fit`` blocks the main shell (``reconnect.py``). No other comm's
messages are taken off the main shell.
"""

from __future__ import annotations

import threading


class SteeringComms:
    """A thread-safe set of comm ids.

    Example:

    >>> comms = SteeringComms()
    >>> comms.add("abc"); "abc" in comms
    True
    >>> comms.discard("abc"); "abc" in comms
    False
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: set[str] = set()

    def add(self, comm_id: str) -> None:
        with self._lock:
            self._ids.add(comm_id)

    def discard(self, comm_id: str) -> None:
        with self._lock:
            self._ids.discard(comm_id)

    def __contains__(self, comm_id: object) -> bool:
        with self._lock:
            return comm_id in self._ids


#: The process's control comms (``events.register_steering_widget`` adds them).
steering_comms = SteeringComms()
