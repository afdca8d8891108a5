"""A real IPython kernel driven like a front end would: shell requests, IOPub drained.

`Kernel` starts ``python3`` (ipykernel) with ``jupyter_client``'s ``KernelManager``
in a private temporary folder. Requests go over the shell channel; a thread reads
IOPub from its own raw ZMQ SUB socket and keeps, for every message, its wire size:
every frame (identities, delimiter, HMAC signature, header, parent header,
metadata, content, binary buffers) as it arrived, and separately the content frame
plus buffers. Messages are grouped by the request that caused them (the parent
``msg_id``), so the cost of one cell is the sum over the messages whose parent is
that cell's execute request.

A front end would do the same work: every widget message is serialized, signed and
sent by the kernel and received and parsed here.
"""

from __future__ import annotations

import json
import os
import queue
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]

#: IOPub message types that a widget sends (ipywidgets comms).
COMM_TYPES = frozenset({"comm_open", "comm_msg", "comm_close"})


class KernelError(RuntimeError):
    """A cell raised in the kernel; the message holds the traceback."""


@dataclass
class IOPubMessage:
    msg_type: str
    wire_bytes: int  # every frame, as received
    content_bytes: int  # content frame + binary buffers
    received: float  # time.perf_counter() at receipt
    method: str | None = None  # comm_msg: data.method ("update", "custom", ...)
    text: str | None = None  # stream: the text
    # comm_msg: what it carries: an update's trait names ("summary_table"), a custom
    # message's type ("extend"; "+customdata" when its points carry timestamps)
    detail: str | None = None


def _comm_detail(data: dict[str, Any]) -> str | None:
    """``"plot_layout,overlays"`` for an update, ``"extend+customdata"`` for a custom
    message whose points carry timestamps."""
    if data.get("method") == "update" and isinstance(data.get("state"), dict):
        return ",".join(sorted(data["state"]))
    custom = data.get("content")
    if data.get("method") == "custom" and isinstance(custom, dict):
        points = custom.get("points") if isinstance(custom.get("points"), list) else []
        stamped = bool(points) and all(isinstance(p, dict) and "customdata" in p for p in points)
        return f"{custom.get('type')}{'+customdata' if stamped else ''}"
    return None


@dataclass
class Execution:
    """What one execute request caused."""

    code: str
    msg_id: str
    sent: float
    idle: float = 0.0
    reply: dict[str, Any] = field(default_factory=dict)
    messages: list[IOPubMessage] = field(default_factory=list)

    @property
    def wall(self) -> float:
        """Seconds from sending the request to receiving its ``idle`` status."""
        return self.idle - self.sent

    @property
    def stdout(self) -> str:
        return "".join(m.text or "" for m in self.messages if m.msg_type == "stream")

    def comm(self) -> list[IOPubMessage]:
        return [m for m in self.messages if m.msg_type in COMM_TYPES]

    def totals(self, comm_only: bool = True) -> dict[str, int]:
        msgs = self.comm() if comm_only else self.messages
        return {
            "messages": len(msgs),
            "wire_bytes": sum(m.wire_bytes for m in msgs),
            "content_bytes": sum(m.content_bytes for m in msgs),
        }


class Kernel:
    """One ipykernel, a shell client and an IOPub reader thread.

    Args:
        env: extra environment variables for the kernel.
        startup_timeout: seconds to wait for the first ``kernel_info`` reply.
    """

    def __init__(self, env: dict[str, str] | None = None, startup_timeout: float = 120.0) -> None:
        from jupyter_client import KernelManager

        self._tmp = tempfile.TemporaryDirectory(prefix="wc-bench-kernel-")
        self.cwd = Path(self._tmp.name)
        home = self.cwd / "_home"
        home.mkdir()
        kernel_env = dict(os.environ)
        kernel_env.update(
            PYTHONPATH=os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p),
            IPYTHONDIR=str(home / "ipython"),
            KERAS_HOME=str(home / "keras"),
            MPLCONFIGDIR=str(home / "matplotlib"),
            TF_CPP_MIN_LOG_LEVEL="2",
            TF_ENABLE_ONEDNN_OPTS="0",
            KERAS_BACKEND="tensorflow",
            PYDEVD_DISABLE_FILE_VALIDATION="1",
        )
        kernel_env.update(env or {})
        self.km = KernelManager(kernel_name="python3")
        # The kernel's own stderr (warnings, TensorFlow's C++ log) goes to a file, not
        # to the table's console; tracebacks of cells come back over IOPub anyway.
        self.log_path = home / "kernel.log"
        self._log = open(self.log_path, "wb")
        self.km.start_kernel(env=kernel_env, cwd=str(self.cwd), stdout=self._log, stderr=self._log)
        self.kc = self.km.client()
        self.kc.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=False)
        self._session = self.kc.session
        self._sock = self._connect_iopub()
        self._lock = threading.Lock()
        self._by_parent: dict[str, Execution] = {}
        self._idle = threading.Condition(self._lock)
        self._any_iopub = threading.Event()
        self._stopping = threading.Event()
        self._reader = threading.Thread(target=self._read, name="bench-iopub", daemon=True)
        self._reader.start()
        self._wait_ready(startup_timeout)

    def _connect_iopub(self):
        """A SUB socket with no high-water mark: ZMQ PUB silently drops messages once
        1,000 are queued for a subscriber (its default), and a burst of widget updates
        must be counted whole (a dropped ``idle`` would also hang `run`)."""
        import zmq

        sock = self.km.context.socket(zmq.SUB)
        sock.setsockopt(zmq.RCVHWM, 0)
        sock.linger = 0
        sock.connect(self.km._make_url("iopub"))
        sock.setsockopt(zmq.SUBSCRIBE, b"")
        return sock

    # -- lifecycle ----------------------------------------------------------------

    def _wait_ready(self, timeout: float) -> None:
        """kernel_info until answered and IOPub is seen (the SUB socket has joined)."""
        deadline = time.monotonic() + timeout
        while True:
            self.kc.kernel_info()
            try:
                self.kc.get_shell_msg(timeout=1.0)
            except queue.Empty:
                if not self.km.is_alive():
                    raise RuntimeError("the kernel died while starting") from None
            else:
                # kernel_info makes the kernel publish busy/idle: proof IOPub reaches us.
                if self._any_iopub.wait(0.5):
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"kernel not ready after {timeout:.0f} s")

    def close(self) -> None:
        self._stopping.set()
        try:
            self.kc.stop_channels()
        finally:
            try:
                self.km.shutdown_kernel(now=False)
            except Exception:
                self.km.shutdown_kernel(now=True)
            self._reader.join(timeout=5)
            self._sock.close(linger=0)
            self._log.close()
            self._tmp.cleanup()

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- IOPub ----------------------------------------------------------------------

    def _read(self) -> None:
        import zmq

        poller = zmq.Poller()
        poller.register(self._sock, zmq.POLLIN)
        while not self._stopping.is_set():
            try:
                if not poller.poll(100):
                    continue
                frames = self._sock.recv_multipart(copy=True)
            except zmq.ZMQError:
                if self._stopping.is_set():
                    return
                raise
            received = time.perf_counter()
            self._any_iopub.set()
            _idents, parts = self._session.feed_identities(frames, copy=True)
            # parts: [hmac, header, parent_header, metadata, content, *buffers]
            header = json.loads(parts[1])
            parent = json.loads(parts[2]) if parts[2] else {}
            msg_type = header.get("msg_type", "")
            msg = IOPubMessage(
                msg_type=msg_type,
                wire_bytes=sum(len(f) for f in frames),
                content_bytes=len(parts[4]) + sum(len(b) for b in parts[5:]),
                received=received,
            )
            content: dict[str, Any] | None = None
            if msg_type in ("comm_msg", "stream", "status", "error"):
                content = json.loads(parts[4])
            if msg_type == "comm_msg" and content is not None:
                data = content.get("data") or {}
                msg.method = data.get("method")
                msg.detail = _comm_detail(data)
            elif msg_type == "stream" and content is not None:
                msg.text = content.get("text")
            with self._lock:
                execution = self._by_parent.get(parent.get("msg_id", ""))
                if execution is None:
                    continue
                execution.messages.append(msg)
                if msg_type == "status" and content and content.get("execution_state") == "idle":
                    execution.idle = received
                    self._idle.notify_all()

    # -- running code -------------------------------------------------------------

    def run(self, code: str, timeout: float = 600.0, allow_stdin: bool = False) -> Execution:
        """Execute ``code``; return once its reply and its IOPub ``idle`` arrived.

        ``allow_stdin``: what the request says (JupyterLab, Notebook and VS Code send
        True, nbclient and papermill False); nothing here answers an input request.

        Raises:
            KernelError: the cell raised.
        """
        with self._lock:
            sent = time.perf_counter()
            msg_id = self.kc.execute(code, store_history=False, allow_stdin=allow_stdin)
            execution = Execution(code=code, msg_id=msg_id, sent=sent)
            self._by_parent[msg_id] = execution
        deadline = time.monotonic() + timeout
        while True:
            try:
                reply = self.kc.get_shell_msg(timeout=1.0)
            except queue.Empty:
                if not self.km.is_alive():
                    raise KernelError(f"the kernel died; its log ends with:\n{self.log_tail()}") from None
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no reply after {timeout:.0f} s to:\n{code}") from None
                continue
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        # The reply comes before the idle status (the kernel sends both at the end);
        # a missing idle means IOPub messages were lost, and the counts are wrong.
        deadline = min(deadline, time.monotonic() + 120.0)
        with self._lock:
            while not execution.idle:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"no IOPub idle status 120 s after the reply (messages lost?) for:\n{code}"
                    )
                self._idle.wait(min(left, 1.0))
            del self._by_parent[msg_id]
        execution.reply = reply["content"]
        if execution.reply.get("status") != "ok":
            tb = "\n".join(execution.reply.get("traceback", []))
            raise KernelError(
                f"{execution.reply.get('ename')}: {execution.reply.get('evalue')}\n{tb}\n"
                f"--- cell ---\n{code}\n--- stdout ---\n{execution.stdout[-2000:]}"
            )
        return execution

    def log_tail(self, n: int = 3000) -> str:
        self._log.flush()
        return self.log_path.read_bytes()[-n:].decode("utf-8", "replace")

    def value(self, expression: str) -> Any:
        """Evaluate ``expression`` in the kernel and return it through JSON."""
        execution = self.run(
            f"import json as _bench_json\nprint('__BENCH__' + _bench_json.dumps({expression}))"
        )
        for line in execution.stdout.splitlines():
            if line.startswith("__BENCH__"):
                return json.loads(line[len("__BENCH__") :])
        raise KernelError(f"no value printed for {expression!r}: {execution.stdout[-2000:]}")
