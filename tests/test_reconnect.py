"""A page reloaded while a plain ``fit`` blocks the cell gets its widgets back.

A real ipykernel 7 kernel, driven over ZMQ. The cell holds the main shell (a blocking
loop, or a real ``model.fit`` held by a gate callback) with the reconnect service on;
a second client with its own session, as a reloaded JupyterLab page is, sends what the
page sends on reconnect, WITHOUT a subshell id: ``kernel_info_request``,
``comm_info_request``, ``comm_open`` of a ``jupyter.widget.control`` comm and its
``request_states``, a widget's ``request_state``. Replies must come within
``DEADLINE`` while the cell is still busy, and carry the history so far.
"""

from __future__ import annotations

import json
import queue
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

jupyter_client = pytest.importorskip("jupyter_client")
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager
from jupyter_client.session import Session
from kernel_session import KernelSession, started_kernel

DEADLINE = 1.0  # seconds from a request to its answer while the main shell is busy

PRELUDE = r"""
import json, logging, os, threading, time
from widget_callbacks.widgets.live_plot import LivePlot
from widget_callbacks.kernel.reconnect import reconnect_service, reconnect_support, serve_reconnects_during_fit
import ipywidgets

TMP = os.environ["WC_TMP"]
_handler = logging.FileHandler(os.path.join(TMP, "reconnect.log"))
_handler.setLevel(logging.WARNING)
logging.getLogger("widget_callbacks.reconnect").addHandler(_handler)

def log(ev, **kw):
    with open(os.path.join(TMP, "events.jsonl"), "a") as f:
        f.write(json.dumps({"ev": ev, "t": time.time(), "thread": threading.current_thread().name, **kw}) + "\n")

def hold(name):
    log("held", name=name)
    flag = os.path.join(TMP, name + ".release")
    deadline = time.time() + 300
    while not os.path.exists(flag) and time.time() < deadline:
        time.sleep(0.01)
    log("released", name=name)

def feed(plot, epochs):
    plot.begin_fit(100, 4)
    for e in range(1, epochs + 1):
        plot.begin_epoch(e)
        plot.end_batch(2, {"loss": 1.0 / e})
        plot.end_epoch(e, {"loss": 1.0 / e, "val_loss": 2.0 / e})

def hooked():
    k = get_ipython().kernel
    return k.shell_stream._recv_callback != k.shell_channel_thread_main

plain_clicks = []
plain = ipywidgets.Button(description="plain")
plain.on_click(lambda b: plain_clicks.append(threading.current_thread().name))
"""


class Kernel(KernelSession):
    """The shared kernel session (its client is the page that started fit) plus
    the hold/release files of the prelude's loops."""

    def released(self, name: str) -> bool:
        return any(r["ev"] == "released" and r.get("name") == name for r in self.rows())

    def release(self, name: str) -> None:
        (self.tmp / f"{name}.release").write_text("")

    def errors(self) -> str:
        path = self.tmp / "reconnect.log"
        return path.read_text() if path.exists() else ""


class Page:
    """A second client with its own session id, as a reloaded page is. Every request
    is sent as JupyterLab sends it before it knows about subshells: no subshell id."""

    def __init__(self, km: KernelManager) -> None:
        self.kc = BlockingKernelClient(connection_file=km.connection_file)
        self.kc.load_connection_file()
        self.kc.start_channels()
        self.iopub: list[dict[str, Any]] = []
        self.shell: list[dict[str, Any]] = []
        self.sent: set[str] = set()  # messages with another parent (the cell's) are dropped

    def close(self) -> None:
        self.kc.stop_channels()

    def send(
        self, msg_type: str, content: dict[str, Any], metadata: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        msg = self.kc.session.msg(msg_type, content, metadata=metadata)
        assert "subshell_id" not in msg["header"]
        self.sent.add(msg["header"]["msg_id"])
        self.kc.shell_channel.send(msg)
        msg["sent"] = time.monotonic()
        return msg

    def _wait(
        self,
        box: list[dict[str, Any]],
        get: Callable[..., dict[str, Any]],
        pred: Callable[[dict[str, Any]], bool],
        timeout: float,
    ) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while True:
            for m in box:
                if pred(m):
                    box.remove(m)
                    return m
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                m = get(timeout=min(left, 0.05))
            except queue.Empty:
                continue
            m["received"] = time.monotonic()
            if m["parent_header"].get("msg_id") in self.sent:
                box.append(m)

    def reply(self, request: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        rid = request["header"]["msg_id"]
        return self._wait(
            self.shell, self.kc.get_shell_msg, lambda m: m["parent_header"].get("msg_id") == rid, timeout
        )

    def iopub_for(
        self, request: dict[str, Any], timeout: float, pred: Callable[[dict[str, Any]], bool] = lambda m: True
    ) -> dict[str, Any] | None:
        rid = request["header"]["msg_id"]
        return self._wait(
            self.iopub,
            self.kc.get_iopub_msg,
            lambda m: m["parent_header"].get("msg_id") == rid and pred(m),
            timeout,
        )

    def idle_for(self, request: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        return self.iopub_for(
            request,
            timeout,
            lambda m: m["msg_type"] == "status" and m["content"]["execution_state"] == "idle",
        )

    def comm_reply(self, request: dict[str, Any], method: str, timeout: float) -> dict[str, Any] | None:
        return self.iopub_for(
            request,
            timeout,
            lambda m: m["msg_type"] == "comm_msg" and m["content"]["data"].get("method") == method,
        )


def _same_header(parent: dict[str, Any], request: dict[str, Any]) -> bool:
    """The reply's parent header is the request's header, nothing added (dates aside)."""
    keys = {k for k in request["header"] if k != "date"}
    return {k: parent.get(k) for k in keys} == {k: request["header"][k] for k in keys} and (
        set(parent) == set(request["header"])
    )


@pytest.fixture(scope="module")
def shared_kernel() -> Iterator[Kernel]:
    with started_kernel(Kernel, PRELUDE, "wc-reconnect-") as session:
        support = session.value("reconnect_support()")
        if support is not None:
            pytest.skip(f"reconnect service unsupported here: {support}")
        yield session


@pytest.fixture
def kernel(shared_kernel: Kernel) -> Kernel:
    shared_kernel.start_test()
    return shared_kernel


@pytest.fixture
def page(kernel: Kernel) -> Iterator[Page]:
    p = Page(kernel.km)
    try:
        yield p
    finally:
        p.close()


def _restore(page: Page, plot_id: str) -> dict[str, Any]:
    """What the reloaded page does, measured; returns what it got."""
    got: dict[str, Any] = {}
    info = page.send("kernel_info_request", {})
    r = page.reply(info, DEADLINE)
    assert r is not None, f"no kernel_info_reply within {DEADLINE} s"
    got["kernel_info_s"] = r["received"] - info["sent"]
    got["kernel_info"] = r
    assert _same_header(r["parent_header"], info), (r["parent_header"], info["header"])
    assert page.idle_for(info, DEADLINE) is not None

    ci = page.send("comm_info_request", {"target_name": "jupyter.widget"})
    r = page.reply(ci, DEADLINE)
    assert r is not None, f"no comm_info_reply within {DEADLINE} s"
    got["comm_info_s"] = r["received"] - ci["sent"]
    assert r["content"]["status"] == "ok" and plot_id in r["content"]["comms"], r["content"]

    control = uuid.uuid4().hex
    opened = page.send(
        "comm_open",
        {"comm_id": control, "target_name": "jupyter.widget.control", "data": {}},
        metadata={"version": "1.0.0"},
    )
    states = page.send("comm_msg", {"comm_id": control, "data": {"method": "request_states"}})
    r = page.comm_reply(states, "update_states", DEADLINE)
    assert r is not None, f"no update_states within {DEADLINE} s of request_states"
    got["request_states_s"] = r["received"] - opened["sent"]
    assert r["content"]["comm_id"] == control
    assert _same_header(r["parent_header"], states)
    got["states"] = r["content"]["data"]["states"]
    assert page.idle_for(opened, DEADLINE) is not None and page.idle_for(states, DEADLINE) is not None
    closed = page.send("comm_close", {"comm_id": control, "data": {}})
    assert page.idle_for(closed, DEADLINE) is not None

    one = page.send("comm_msg", {"comm_id": plot_id, "data": {"method": "request_state"}})
    r = page.comm_reply(one, "update", DEADLINE)
    assert r is not None, f"no update within {DEADLINE} s of the plot's request_state"
    got["request_state_s"] = r["received"] - one["sent"]
    got["state"] = r["content"]["data"]["state"]
    return got


def _metric(state: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next(
        (
            t
            for t in state["traces"]
            if t.get("name") == name and (t.get("meta") or {}).get("role") == "metric"
        ),
        None,
    )


# --------------------------------------------------------------------------- in-process, fast


def test_off_outside_a_kernel() -> None:
    from widget_callbacks.kernel.reconnect import (
        reconnect_service,
        reconnect_support,
        serve_reconnects_during_fit,
    )

    assert reconnect_support() == "not in an ipykernel kernel"
    with serve_reconnects_during_fit() as on:
        assert on is False
    assert reconnect_service().begin(object()) is False and not reconnect_service().installed


def test_off_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from widget_callbacks.kernel.reconnect import reconnect_support

    monkeypatch.setenv("WIDGET_CALLBACKS_RECONNECT", "0")
    assert reconnect_support(object()) == "turned off by WIDGET_CALLBACKS_RECONNECT=0"


def test_off_on_ipykernel_6_and_without_subshells(monkeypatch: pytest.MonkeyPatch) -> None:
    ipykernel = pytest.importorskip("ipykernel")
    from widget_callbacks.kernel.reconnect import reconnect_support

    class Fake:
        _supports_kernel_subshells = False

    monkeypatch.setattr(ipykernel, "version_info", (6, 29, 5), raising=False)
    assert "< 7" in reconnect_support(Fake())
    monkeypatch.setattr(ipykernel, "version_info", (7, 4, 0), raising=False)
    assert "without subshells" in reconnect_support(Fake())
    Fake._supports_kernel_subshells = True
    assert reconnect_support(Fake()) == "no shell channel thread loop"


def test_live_plot_state_is_a_snapshot() -> None:
    from widget_callbacks.widgets.live_plot import LivePlot

    plot = LivePlot(static_fallback=False)
    plot.begin_fit(10, 2)
    plot.begin_epoch(1)
    plot.end_epoch(1, {"loss": 0.5})
    state = plot.get_state()
    loss = next(t for t in state["traces"] if t.get("name") == "loss")
    plot.begin_epoch(2)
    plot.end_epoch(2, {"loss": 0.4})
    assert loss["x"] == [1] and loss["y"] == [0.5]  # not grown by the later epoch
    assert next(t for t in plot.get_state()["traces"] if t.get("name") == "loss")["x"] == [1, 2]


# --------------------------------------------------------------------------- a real kernel


@pytest.mark.slow
def test_reloaded_page_is_served_while_a_blocking_loop_holds_the_main_shell(
    kernel: Kernel, page: Page
) -> None:
    plot_id = kernel.value("(plot := LivePlot(static_fallback=False)).model_id")
    plain_id = kernel.value("plain.model_id")
    cell = kernel.kc.execute(
        "with serve_reconnects_during_fit() as on:\n"
        "    feed(plot, 3)\n"
        "    during = hooked()\n"
        "    hold('loop')\n"
        "print(json.dumps({'on': on, 'during': during, 'after': hooked(),\n"
        "                  'installed': reconnect_service().installed, 'served': reconnect_service().served()}))"
    )
    try:
        kernel.wait_for("held", name="loop")
        # A badly signed request is left to ipykernel (which drops it); the rest still works.
        forged = Session(key=b"not the kernel's key").send(
            page.kc.shell_channel.socket, "kernel_info_request", {}
        )
        got = _restore(page, plot_id)
        assert not kernel.released("loop"), "the cell ended before the page was served"
        assert page.reply(forged, 0.2) is None
    except BaseException:
        kernel.release("loop")
        raise

    info = got["kernel_info"]["content"]
    assert info["status"] == "ok" and "kernel subshells" in info["supported_features"]
    state = got["states"][plot_id]["state"]
    assert _metric(state, "loss")["x"] == [1, 2, 3]
    assert _metric(state, "val_loss")["y"] == [2.0, 1.0, pytest.approx(2 / 3)]
    assert state["progress"]["epoch"] == 3 and state["progress"]["status"] == "training"
    assert _metric(got["state"], "loss")["x"] == [1, 2, 3]
    print({k: round(v, 4) for k, v in got.items() if k.endswith("_s")})

    # Not routed: a completion request and an unpatched widget's click wait for the cell.
    complete = page.send("complete_request", {"code": "pri", "cursor_pos": 3})
    click = page.send(
        "comm_msg", {"comm_id": plain_id, "data": {"method": "custom", "content": {"event": "click"}}}
    )
    assert page.reply(complete, 0.5) is None

    kernel.release("loop")
    out = kernel.finish(cell)
    assert out["status"] == "ok", out
    result = json.loads(out["stdout"])
    assert result["on"] is True and result["during"] is True
    assert result["after"] is False and result["installed"] is False
    for msg_type in ("kernel_info_request", "comm_info_request", "comm_open", "comm_msg", "comm_close"):
        assert result["served"].get(msg_type, 0) >= 1, result["served"]
    assert page.reply(complete, 30) is not None  # answered by the main shell, after the cell
    assert page.idle_for(click, 30) is not None
    assert kernel.value("plain_clicks") == ["MainThread"]
    assert kernel.errors() == ""


@pytest.mark.slow
def test_off_when_no_fit_runs(kernel: Kernel, page: Page) -> None:
    assert kernel.value("[hooked(), reconnect_service().installed]") == [False, False]
    cell = kernel.kc.execute("hold('plain')")
    try:
        kernel.wait_for("held", name="plain")
        info = page.send("kernel_info_request", {})
        assert page.reply(info, DEADLINE) is None  # stock ipykernel: queued behind the cell
    finally:
        kernel.release("plain")
    assert kernel.finish(cell)["status"] == "ok"
    assert page.reply(info, 30) is not None


@pytest.mark.slow
def test_snapshots_are_consistent_while_the_main_thread_appends(kernel: Kernel, page: Page) -> None:
    plot_id = kernel.value("(busy := LivePlot(static_fallback=False)).model_id")
    cell = kernel.kc.execute(
        "with serve_reconnects_during_fit():\n"
        "    busy.begin_fit(None, 4)\n"
        "    log('held', name='appends')\n"
        "    e = 0\n"
        "    while not os.path.exists(os.path.join(TMP, 'appends.release')):\n"
        "        e += 1\n"
        "        busy.begin_epoch(e)\n"
        "        for b in range(1, 5):\n"
        "            busy.end_batch(b, {'loss': 1.0 / (e + b)})\n"
        "            time.sleep(0.002)  # the batch's compute, outside the plot's lock\n"
        "        busy.end_epoch(e, {'loss': 1.0 / e, 'val_loss': 2.0 / e})\n"
        "print(e)"
    )
    try:
        kernel.wait_for("held", name="appends")
        control = uuid.uuid4().hex
        page.send(
            "comm_open",
            {"comm_id": control, "target_name": "jupyter.widget.control", "data": {}},
            metadata={"version": "1.0.0"},
        )
        lengths = []
        for _ in range(25):
            req = page.send("comm_msg", {"comm_id": control, "data": {"method": "request_states"}})
            r = page.comm_reply(req, "update_states", 5 * DEADLINE)
            assert r is not None
            state = r["content"]["data"]["states"][plot_id]["state"]
            for trace in state["traces"]:
                xs, ys = trace["x"], trace["y"]
                assert len(xs) == len(ys), trace.get("name")
                assert xs == sorted(xs), trace.get("name")
            loss = _metric(state, "loss") or {"x": []}  # none before the first epoch ends
            assert loss["x"] == list(range(1, len(loss["x"]) + 1))
            assert (state["progress"]["epoch"] or 0) >= len(loss["x"])
            lengths.append(len(loss["x"]))
    finally:
        kernel.release("appends")
    out = kernel.finish(cell)
    assert out["status"] == "ok", out
    assert lengths == sorted(lengths) and lengths[-1] > lengths[0], lengths  # the fit kept going
    assert kernel.errors() == ""


KERAS_CELL = r"""
import keras, numpy as np
keras.utils.set_random_seed(0)
x = np.random.default_rng(0).normal(size=(64, 8)).astype("float32"); y = x.sum(axis=1, keepdims=True)
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")

class Gate(keras.callbacks.Callback):
    def __init__(self, hold_at, name):
        super().__init__()
        self.hold_at, self.name = hold_at, name
    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.hold_at:
            hold(self.name)

class Boom(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise ValueError("boom")

fit_plot = LivePlot(static_fallback=False)
print(json.dumps(fit_plot.model_id))
"""


@pytest.mark.slow
def test_real_fit_with_the_plot_callback(kernel: Kernel, page: Page) -> None:
    out = kernel.execute(KERAS_CELL)
    assert out["status"] == "ok", out
    plot_id = json.loads(out["stdout"])
    cell = kernel.kc.execute(
        "history = model.fit(x, y, epochs=50, batch_size=16, validation_split=0.25, verbose=0,\n"
        "                    callbacks=[fit_plot.callback, Gate(3, 'fit')])\n"
        "print(json.dumps([len(history.epoch), hooked(), reconnect_service().installed]))"
    )
    try:
        kernel.wait_for("held", name="fit")
        got = _restore(page, plot_id)
        assert not kernel.released("fit")
    except BaseException:
        kernel.release("fit")
        raise
    state = got["states"][plot_id]["state"]
    assert _metric(state, "loss")["x"] == [1, 2, 3] and _metric(state, "val_loss")["x"] == [1, 2, 3]
    assert state["progress"]["epoch"] == 3 and state["progress"]["epochs"] == 50
    print({k: round(v, 4) for k, v in got.items() if k.endswith("_s")})
    kernel.release("fit")
    done = kernel.finish(cell)
    assert done["status"] == "ok", done
    assert json.loads(done["stdout"]) == [50, False, False]

    # fit raises: on_train_end never runs, the cell's end uninstalls.
    failed = kernel.execute("model.fit(x, y, epochs=5, verbose=0, callbacks=[fit_plot.callback, Boom()])")
    assert failed["status"] == "error" and failed["evalue"] == "boom"
    assert kernel.value("[hooked(), reconnect_service().installed]") == [False, False]
    assert kernel.errors() == ""
