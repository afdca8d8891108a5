"""A real ipykernel kernel for tests, driven over ZMQ as a front end would.

Used by the kernel-level tests (``test_kernel_steering.py``, ``test_reconnect.py``):
one kernel per test module, a prelude run once, and a JSON-lines log the kernel
writes (``$WC_LOG``, in the kernel's private folder ``$WC_TMP``) and the test polls.
All tests of a module share the kernel and its log: `KernelSession.start_test`
hides the rows earlier tests wrote, so a wait for "epoch 12" is never answered by a
previous test's fit.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

ROOT = Path(__file__).resolve().parents[1]

Session = TypeVar("Session", bound="KernelSession")


class KernelSession:
    """A started kernel, its client (the page that runs the cells) and its log."""

    def __init__(self, km: KernelManager, kc: BlockingKernelClient, tmp: Path) -> None:
        self.km, self.kc, self.tmp = km, kc, tmp
        self.log = tmp / "events.jsonl"
        self.first_row = 0  # rows before this one belong to earlier tests

    def start_test(self) -> None:
        """Hide the rows that earlier tests made the kernel write."""
        self.first_row = len(self._all_rows())

    def execute(self, code: str, timeout: float = 180) -> dict[str, Any]:
        """Run a cell to its end; returns the reply content plus ``stdout``/``stderr``/``msgs``."""
        return self.finish(self.kc.execute(code, allow_stdin=False), timeout)

    def finish(self, msg_id: str, timeout: float = 180) -> dict[str, Any]:
        """Wait for the reply to ``msg_id`` and drain its IOPub messages up to idle."""
        deadline = time.monotonic() + timeout
        while True:
            reply = self.kc.get_shell_msg(timeout=max(deadline - time.monotonic(), 0.1))
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        out: dict[str, Any] = {**reply["content"], "stdout": "", "stderr": "", "msgs": []}
        while True:
            msg = self.kc.get_iopub_msg(timeout=max(deadline - time.monotonic(), 0.1))
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            out["msgs"].append(msg)
            if msg["msg_type"] == "stream":
                out[msg["content"]["name"]] += msg["content"]["text"]
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return out

    def value(self, expr: str) -> Any:
        """The JSON value of ``expr`` in the kernel."""
        out = self.execute(f"print(json.dumps({expr}))")
        assert out["status"] == "ok", out
        return json.loads(out["stdout"])

    def _all_rows(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def rows(self) -> list[dict[str, Any]]:
        """The rows the kernel logged since the current test started."""
        return self._all_rows()[self.first_row :]

    def wait_for(self, ev: str, timeout: float = 120, **match: Any) -> dict[str, Any]:
        """The first row of this test with ``ev`` and the given fields; polls."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for row in self.rows():
                if row["ev"] == ev and all(row.get(k) == v for k, v in match.items()):
                    return row
            time.sleep(0.01)
        raise AssertionError(f"kernel never logged {ev} {match}; last rows: {self.rows()[-10:]}")


@contextmanager
def started_kernel(
    cls: type[Session], prelude: str, prefix: str, python: Path | None = None
) -> Iterator[Session]:
    """A kernel in a new private folder with ``prelude`` run; shut down on exit.

    ``python``: the interpreter of another environment (e.g. a venv pinned to Colab's
    versions) to run the kernel with, through a kernelspec written in that folder.
    Defaults to None: this environment's ``python3`` kernel."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    env = {
        **os.environ,
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "TF_ENABLE_ONEDNN_OPTS": "0",
        "KERAS_BACKEND": "tensorflow",
        "KERAS_HOME": str(tmp / "keras"),
        "IPYTHONDIR": str(tmp / "ipython"),
        "MPLBACKEND": "agg",
        "WC_TMP": str(tmp),
        "WC_LOG": str(tmp / "events.jsonl"),
    }
    if python is None:
        km = KernelManager(kernel_name="python3")
    else:
        spec = tmp / "kernels" / "other"
        spec.mkdir(parents=True)
        argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        (spec / "kernel.json").write_text(
            json.dumps({"argv": argv, "display_name": str(python), "language": "python"})
        )
        km = KernelManager(
            kernel_name="other", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(tmp / "kernels")])
        )
    with open(tmp / "kernel.stderr", "w") as stderr:
        km.start_kernel(env=env, cwd=str(tmp), stderr=stderr)
    kc = km.blocking_client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        session = cls(km, kc, tmp)
        reply = session.execute(prelude, timeout=180)
        assert reply["status"] == "ok", reply
        yield session
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
