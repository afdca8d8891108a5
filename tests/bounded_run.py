"""A child process with a time limit, killed with everything it started (shared by tests).

The backend and device tests run pytest or a script in a child process (Keras's backend,
TensorFlow's logical devices and XLA's host device count are fixed per process). A child
that outlives its limit is killed with its process group (a kernel it started included),
and the test fails with what it printed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Finished:
    returncode: int | None  # None: killed at the time limit
    output: str  # stdout and stderr, interleaved
    seconds: float

    def tail(self, chars: int = 6000) -> str:
        return self.output[-chars:]


def run_bounded(argv: Sequence[str], env: Mapping[str, str], timeout: float, cwd: Path = ROOT) -> Finished:
    """Runs ``argv`` in a new session; after ``timeout`` seconds kills its whole group."""
    return run_together([(argv, env)], timeout, cwd)[0]


def run_together(
    commands: Sequence[tuple[Sequence[str], Mapping[str, str]]], timeout: float, cwd: Path = ROOT
) -> list[Finished]:
    """Runs the ``(argv, env)`` commands at once, each in a new session; ``timeout`` seconds
    after the start, whatever still runs is killed with its whole group."""
    started = time.monotonic()
    processes = [
        subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        for argv, env in commands
    ]
    finished = []
    for process in processes:
        left = max(timeout - (time.monotonic() - started), 0.1)
        try:
            output, _ = process.communicate(timeout=left)
            returncode: int | None = process.returncode
        except subprocess.TimeoutExpired:
            _kill_group(process.pid)
            output, _ = process.communicate()
            output += f"\n[killed after {timeout:.0f} s]"
            returncode = None
        finished.append(Finished(returncode, output, time.monotonic() - started))
    for process in processes:  # whatever a child left behind in its group (a kernel, a worker)
        _kill_group(process.pid)
    return finished


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
