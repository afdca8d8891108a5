"""Two JAX processes (``keras.distribution.DataParallel`` over ``jax.distributed``, gloo
on 127.0.0.1) steered from process 0: every process stops, changes patience, pauses,
scales the learning rate and restores the best weights at the same step.

Each test launches this file twice as a worker (``python tests/test_multiprocess.py
--worker ...``): process 0 runs its ``fit`` in a cell of a real IPython shell (graceful
Interrupt, a failed fit reported at the cell's end, as in a notebook) with a
`TrainingDashboard` displayed; process 1 builds the same dashboard, which shows nothing
and opens no comm. Both write what they saw (per-epoch snapshots, weights, the
agreement's log) to JSON; the test compares them. Every wait is bounded and the
processes are killed when a test fails, so nothing is left running.

``python tests/test_multiprocess.py --cost`` prints the agreement's cost per step.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

slow = pytest.mark.slow  # about 15-20 s a case: two processes import Keras and JAX

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]
HEARTBEAT = 5  # jax.distributed heartbeat_timeout_seconds in the workers
SHUTDOWN = 10  # jax.distributed shutdown_timeout_seconds
RUN_TIMEOUT = 180  # a whole case, start to exit


# --------------------------------------------------------------------------- launching


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Workers:
    """Two worker processes of one case, killed if still running at the end."""

    def __init__(self, scenario: str, out: Path, **options: Any) -> None:
        self.out = out
        port = _free_port()
        env = {
            **os.environ,
            "KERAS_BACKEND": "jax",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "TF_ENABLE_ONEDNN_OPTS": "0",
            "JAX_PLATFORMS": "cpu",
            "PYTHONUNBUFFERED": "1",
            "IPYTHONDIR": str(out / "ipython"),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        config = json.dumps({"scenario": scenario, "port": port, "out": str(out), **options})
        self.procs: list[subprocess.Popen[bytes]] = []
        for i in range(2):
            with open(out / f"stdout{i}.txt", "wb") as log:  # the child keeps its own copy
                self.procs.append(
                    subprocess.Popen(
                        [sys.executable, str(HERE), "--worker", str(i), config],
                        env=env,
                        cwd=out,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        self.started = time.monotonic()

    def progress(self, i: int) -> dict[str, Any]:
        try:
            return dict(json.loads((self.out / f"progress{i}.json").read_text()))
        except (OSError, ValueError):
            return {}

    def wait_for_epoch(self, i: int, epoch: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.progress(i).get("epoch", -1) < epoch:
            if any(p.poll() is not None for p in self.procs):
                pytest.fail(f"a worker ended before epoch {epoch}:\n{self.logs()}")
            if time.monotonic() > deadline:
                pytest.fail(f"no epoch {epoch} on process {i} within {timeout} s:\n{self.logs()}")
            time.sleep(0.05)

    def wait(self, timeout: float = RUN_TIMEOUT) -> list[int]:
        deadline = self.started + timeout
        for p in self.procs:
            try:
                p.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                self.kill()
                pytest.fail(f"a worker still ran after {timeout} s (killed):\n{self.logs()}")
        return [p.returncode for p in self.procs]

    def result(self, i: int) -> dict[str, Any]:
        path = self.out / f"result{i}.json"
        if not path.exists():
            pytest.fail(f"process {i} wrote no result:\n{self.logs()}")
        return dict(json.loads(path.read_text()))

    def logs(self) -> str:
        return "\n".join(
            f"--- process {i} ---\n" + _tail(self.out / f"stdout{i}.txt") for i in range(len(self.procs))
        )

    def kill(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    keep = [line for line in text if not line.startswith(("W0000", "I0000", "WARNING: All log"))]
    return "\n".join(keep[-lines:])


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Any]:
    started: list[Workers] = []

    def start(scenario: str, **options: Any) -> Workers:
        workers = Workers(scenario, tmp_path, **options)
        started.append(workers)
        return workers

    yield start
    for workers in started:
        workers.kill()


def _both(workers: Workers) -> tuple[dict[str, Any], dict[str, Any]]:
    codes = workers.wait()
    assert codes == [0, 0], f"exit codes {codes}:\n{workers.logs()}"
    return workers.result(0), workers.result(1)


def _same_run(r0: dict[str, Any], r1: dict[str, Any]) -> None:
    """What both processes decided and did is the same, epoch by epoch."""
    assert r0["epochs"] == r1["epochs"]  # per epoch: the snapshot, the weights, the rate
    assert r0["agreement_log"] == r1["agreement_log"]
    assert r0["agreements"] == r1["agreements"] and r0["agreements"] > 0
    assert r0["last_batch"] == r1["last_batch"]
    assert r0["final_weights"] == r1["final_weights"]
    for key in ("stopped_epoch", "stopped_batch", "restored_epoch", "best_epoch", "stop_reason"):
        assert r0["snapshot"][key] == r1["snapshot"][key], key


def _plot_shows_it(r0: dict[str, Any], r1: dict[str, Any]) -> None:
    """Process 0's plot drew every epoch and its marks come from the final snapshot;
    process 1's was never fed."""
    assert r0["plot_epochs"] == len(r0["epochs"]) and r0["plot_stopping"] == r0["snapshot"]
    assert r1["plot_epochs"] == 0 and r1["plot_stopping"] is None


def _restored_best(result: dict[str, Any]) -> None:
    best = result["snapshot"]["best_epoch"]
    assert result["snapshot"]["restored_epoch"] == best
    assert result["final_weights"] == result["epochs"][best - 1]["weights"]


# --------------------------------------------------------------------------- the cases


@slow
def test_automatic_early_stopping_agrees(launch: Any) -> None:
    """Patience exhausted on both at the same epoch, the same best epoch and restored
    weights; the decisions equal stock EarlyStopping's on the same (reduced) values."""
    r0, r1 = _both(launch("auto", patience=2, min_delta=0.01, epochs=40))
    _same_run(r0, r1)
    # What the agreements cost, as the agreement estimates it: their number times the
    # least one took (the rest of an agreement's time is waiting for queued steps).
    share = r0["agreements"] * r0["agreement_seconds"] / r0["fit_seconds"]
    assert share < 0.05, r0  # ~1 % aimed at; the epoch ends' agreements add to it here
    _plot_shows_it(r0, r1)
    assert r0["snapshot"]["stop_reason"] == "patience exhausted"
    _restored_best(r0)
    _restored_best(r1)

    import keras

    stock = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, min_delta=0.01, mode="min")
    stock.set_model(_StubModel())
    stock.on_train_begin()
    val_loss = r0["history"]["val_loss"]
    for epoch, value in enumerate(val_loss):
        stock.on_epoch_end(epoch, {"val_loss": value})
        if stock.model.stop_training:
            break
    assert len(val_loss) == epoch + 1 == r0["snapshot"]["stopped_epoch"]
    assert stock.stopped_epoch + 1 == r0["snapshot"]["stopped_epoch"]
    assert stock.best_epoch + 1 == r0["snapshot"]["best_epoch"]


class _StubModel:
    stop_training = False


@slow
def test_stop_by_hand_on_process_0_stops_both_after_the_same_batch(launch: Any) -> None:
    r0, r1 = _both(
        launch("stop", patience=1000, epochs=100, restore_best_weights=True, samples=8192, steer_epoch=1)
    )
    _same_run(r0, r1)
    _plot_shows_it(r0, r1)
    assert r0["snapshot"]["stop_reason"] == r1["snapshot"]["stop_reason"] == "stopped by hand"
    _restored_best(r0)
    _restored_best(r1)
    # Latency: the last batch was computed within one agreement interval plus one batch
    # of the stop, well within the 0.5 s stated (0.5 s of slack for the 2 shared cores).
    latency = r0["last_batch_done"] - r0["stop_called"]
    epoch, batch, what, _ = r0["agreement_log"][0]
    assert what == "stop"
    if batch is not None:  # acted on after the batch whose agreement saw it
        assert r0["last_batch"] == [epoch, batch]
    # ... at the first agreement after stop() (the one running then, or the next), and
    # within that agreement interval plus one batch.
    called = r0["stop_called"]
    before = max(done for _, _, done in r0["agreed_at"] if done < called)
    running = [(done, n) for n, started, done in r0["agreed_at"] if started <= called < done]
    following = min((done, n) for n, started, done in r0["agreed_at"] if started > called)
    begun = epoch * r0["steps"] + (batch if batch is not None else r0["steps"])
    assert begun in [n for _, n in [*running, following]], (begun, running, following)
    acted = min(done for done, n in [*running, following] if n == begun)
    interval = acted - before
    assert 0 < latency <= interval + r0["batch_seconds"] + 0.5, (latency, interval, r0["batch_seconds"])
    print(f"stop latency {latency:.3f} s: interval {interval:.3f} s (aimed at {r0['interval']:.3f} s)")


@slow
def test_patience_pause_and_learning_rate_from_process_0_act_on_both(launch: Any) -> None:
    """Process 0 halves the learning rate, pauses and sets patience 1 mid-epoch, later
    releases the pause: both processes use each at the same step."""
    r0, r1 = _both(launch("steer", patience=1000, min_delta=0.05, epochs=40, samples=2048))
    _same_run(r0, r1)
    epochs = r0["epochs"]
    assert {e["snapshot"]["patience"] for e in epochs[2:]} == {1}
    assert any(e["snapshot"]["paused"] for e in epochs)
    assert r0["snapshot"]["stop_reason"] == "patience exhausted"
    assert epochs[-1]["snapshot"]["paused"] is False
    whats = [entry[2] for entry in r1["agreement_log"]]
    assert {"patience", "paused", "learning_rate_multiplier"} <= set(whats)
    assert epochs[-1]["learning_rate"] == pytest.approx(epochs[0]["learning_rate"] * 0.5)


@slow
def test_interrupt_on_process_0_stops_both_at_the_same_step(launch: Any) -> None:
    workers = launch("sigint", patience=1000, epochs=100, restore_best_weights=True, samples=2048)
    workers.wait_for_epoch(0, 2)
    time.sleep(0.1)  # within the epoch
    workers.procs[0].send_signal(signal.SIGINT)
    r0, r1 = _both(workers)
    _same_run(r0, r1)
    assert r0["snapshot"]["stop_reason"] == r1["snapshot"]["stop_reason"] == "interrupted"
    _restored_best(r0)


@slow
def test_a_worker_killed_mid_run_ends_process_0_with_the_error(launch: Any) -> None:
    workers = launch("kill", patience=1000, epochs=100)
    workers.wait_for_epoch(1, 2)
    killed, killed_wall = time.monotonic(), time.time()
    workers.procs[1].kill()
    codes = workers.wait(timeout=time.monotonic() - workers.started + HEARTBEAT + 60)
    ended = time.monotonic() - killed
    r0 = workers.result(0)
    assert r0["fit_error"], workers.logs()
    assert "Gloo" in r0["fit_error"] or "Connection" in r0["fit_error"], r0["fit_error"]
    assert r0["plot_status"] == "failed"
    assert r0["snapshot"]["stop_reason"] == "failed"
    assert "Gloo" in r0["plot_message"] or "Connection" in r0["plot_message"], r0["plot_message"]
    assert r0["fit_end_wall"] - killed_wall < 30  # the next collective raised (gloo), not a timeout
    # JAX's runtime ends process 0 once the dead worker's heartbeat is missed (5 s here,
    # 100 s by default), or at exit after the shutdown barrier fails.
    assert codes[0] is not None and ended < HEARTBEAT + SHUTDOWN + 30, (codes, ended)
    raised = r0["fit_end_wall"] - killed_wall
    print(f"fit raised {raised:.2f} s after the kill; process 0 ended after {ended:.1f} s, code {codes[0]}")


# --------------------------------------------------------------------------- the agreement alone


def _lone_agreement(**kwargs: Any) -> Any:
    """A controller in a run with a `StepAgreement` whose "other process" sends what this
    one does (a fake gather: no JAX), and a fake clock."""
    import types

    import numpy as np

    from widget_callbacks.adapters.distributed import StepAgreement
    from widget_callbacks.adapters.early_stopping import EarlyStoppingController

    controller = EarlyStoppingController(patience=3)
    controller.set_model(types.SimpleNamespace(stop_training=False))
    controller.set_params({"steps": 1000, "epochs": 1})
    controller._running, controller._epoch = True, 0
    now = [0.0]
    gather = kwargs.pop("gather", lambda v: np.stack([v, v]))
    agreement = StepAgreement(controller, 0, 2, gather=gather, clock=lambda: now[0], **kwargs)
    return controller, agreement, now


def test_the_batches_between_agreements_follow_the_pace() -> None:
    """1 while compiling, then doubling up to the interval's worth of batches; a stop
    asked for is acted on at the next agreement, after that batch."""
    controller, agreement, now = _lone_agreement()
    agreement.begin()
    agreed = []
    for batch in range(200):
        count = agreement.agreements
        now[0] += 0.0005  # an agreement's own cost: interval 0.05 s
        agreement.batch_begin(batch)
        if agreement.agreements > count:
            agreed.append(batch)
        now[0] += 0.005  # a batch: 5 ms
        if batch == 100:
            controller.stop()
    # The fit's begin covers batch 0; K is 1 while compiling, then doubles up to 9:
    # the 0.05 s aimed at (0.5 ms / 1 %) over 5.5 ms a batch (the agreement's included).
    assert agreed[:8] == [1, 2, 3, 5, 9, 17, 26, 35]
    assert agreement.interval == pytest.approx(0.05) and agreement.batches == 9
    stop = [entry for entry in agreement.log if entry[2] == "stop"]
    first_after = min(b for b in agreed if b > 100)
    assert stop == [(0, first_after, "stop", "stopped by hand")]
    assert controller.snapshot().stopped_batch == first_after + 1
    assert controller._model.stop_training


def test_a_setting_changed_during_an_agreement_waits_for_the_next_one() -> None:
    """Process 0's controls may act while its agreement's collective runs: what they set
    is kept there, and sent at the next agreement (never overwritten by the last one)."""
    import numpy as np

    changes: list[Any] = []

    def gather(vector: Any) -> Any:
        if changes:
            changes.pop()()  # the control acts while the collective runs
        return np.stack([vector, vector])

    controller, agreement, _ = _lone_agreement(gather=gather)
    controller.paused = True
    agreement.begin()
    agreement.batch_begin(0)  # the fit's begin covered it
    changes.append(lambda: setattr(controller, "paused", False))
    agreement.batch_begin(1)  # sent paused=True; the release came meanwhile
    assert controller.paused is False and not changes
    agreement.batch_begin(2)  # the next agreement sends it
    assert ("paused", False) in [(what, value) for _, _, what, value in agreement.log]


def test_processes_out_of_step_raise() -> None:
    import numpy as np

    def gather(vector: Any) -> Any:
        other = np.array(vector)
        other[7] += 1  # the other process has begun one batch more
        return np.stack([vector, other])

    _, agreement, _ = _lone_agreement(gather=gather)
    with pytest.raises(RuntimeError, match="not at the same step"):
        agreement.begin()


# --------------------------------------------------------------------------- the worker


def _worker(index: int, config: dict[str, Any]) -> None:  # pragma: no cover - subprocess
    import threading

    import jax

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    port = config["port"]
    jax.distributed.initialize(
        coordinator_address=f"127.0.0.1:{port}",
        num_processes=2,
        process_id=index,
        coordinator_bind_address=f"127.0.0.1:{port}",
        initialization_timeout=60,
        heartbeat_timeout_seconds=HEARTBEAT,
        shutdown_timeout_seconds=SHUTDOWN,
    )

    import hashlib

    import comm
    import keras
    import numpy as np
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    from widget_callbacks import LivePlot, TrainingDashboard
    from widget_callbacks.core.records import StoppingSnapshot

    out = Path(config["out"])
    scenario = config["scenario"]
    shell_config = Config()
    shell_config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=shell_config)
    published: list[Any] = []
    publish = shell.display_pub.publish
    shell.display_pub.publish = lambda data, *a, **k: (published.append(sorted(data)), publish(data, *a, **k))
    comms: list[str] = []
    create = comm.create_comm
    comm.create_comm = lambda *a, **k: (comms.append(k.get("target_name", "?")), create(*a, **k))[1]

    if scenario == "off":  # the cost measurement's baseline: controllers without agreement
        import widget_callbacks.adapters.early_stopping as early_stopping

        early_stopping.step_agreement = lambda controller: None  # type: ignore[assignment]

    keras.utils.set_random_seed(0)
    distribution = keras.distribution.DataParallel(devices=jax.devices())
    distribution.auto_shard_dataset = False
    keras.distribution.set_distribution(distribution)
    model = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile(keras.optimizers.SGD(0.05), loss="mse")
    rng = np.random.default_rng(0)
    n = config.get("samples", 512)  # training samples of both processes: n / 32 batches an epoch
    x = rng.normal(size=(n + 256, 8)).astype("float32")
    y = (x @ rng.normal(size=(8, 1)) + rng.normal(scale=1.0, size=(n + 256, 1))).astype("float32")
    shard = slice(index, None, 2)  # each process fits its half
    x_train, y_train, x_val, y_val = x[:n][shard], y[:n][shard], x[n:][shard], y[n:][shard]

    dashboard = TrainingDashboard(
        monitor="val_loss",
        patience=config["patience"],
        min_delta=config.get("min_delta", 0.0),
        restore_best_weights=config.get("restore_best_weights", True),
        plot=LivePlot(static_fallback=False) if index == 0 else None,
    )
    controller = dashboard.controller
    shell.run_cell("from IPython.display import display")
    shell.user_ns["dashboard"] = dashboard
    shell.run_cell("display(dashboard)")

    epochs: list[dict[str, Any]] = []
    epoch_ends: list[float] = []
    batch_begins: list[tuple[int, int, float]] = []
    started = threading.Event()
    record: dict[str, Any] = {}

    def digest(weights: list[Any]) -> str:
        return hashlib.sha256(b"".join(np.asarray(w).tobytes() for w in weights)).hexdigest()[:16]

    class Recorder(keras.callbacks.Callback):
        async_safe = True  # Keras keeps dispatching steps ahead, as without it

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            float(logs["loss"])  # on Keras's thread pool: waits for the step to be computed
            record["last_batch_done"] = time.perf_counter()

        def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
            batch_begins.append((self.epoch, batch, time.perf_counter()))
            if self.epoch == config.get("steer_epoch", 2) and batch == 4:  # mid-epoch
                started.set()

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.epoch = epoch

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            snapshot = controller.snapshot()
            epochs.append(
                {
                    "snapshot": _snapshot_dict(snapshot, StoppingSnapshot),
                    "weights": digest(self.model.get_weights()),
                    "learning_rate": float(np.asarray(self.model.optimizer.learning_rate)),
                }
            )
            epoch_ends.append(time.perf_counter())
            (out / f"progress{index}.json").write_text(json.dumps({"epoch": epoch + 1}))

    def steer() -> None:
        if not started.wait(120):
            return
        if scenario == "stop":
            controller.stop()
            record["stop_called"] = time.perf_counter()
        elif scenario == "steer":
            controller.learning_rate_multiplier = 0.5
            controller.paused = True
            controller.set_patience(1)
            while len(epochs) < 5:
                time.sleep(0.01)
            time.sleep(0.05)
            controller.paused = False

    if index == 0 and scenario in ("stop", "steer"):
        threading.Thread(target=steer, daemon=True).start()

    agreed_at: list[tuple[int, float, float]] = []  # (batches begun, started, done) each agreement

    class Timed(keras.callbacks.Callback):
        def on_train_begin(self, logs: Any = None) -> None:
            agreement = controller._agreement
            if agreement is not None and "_collect" not in vars(agreement):
                collect = agreement._collect

                def timed(vector: list[int]) -> list[list[int]]:
                    started = time.perf_counter()
                    rows = collect(vector)
                    agreed_at.append((vector[7], started, time.perf_counter()))
                    return rows

                agreement._collect = timed  # type: ignore[method-assign]

    shell.user_ns.update(
        model=model,
        data=(x_train, y_train, x_val, y_val),
        fit_args={"epochs": config["epochs"], "batch_size": 16, "verbose": 0},
        callbacks=[
            *dashboard.callbacks,
            Recorder(),
            Timed(),
        ],
    )
    begin = time.perf_counter()
    outcome = shell.run_cell(
        "history = model.fit(data[0], data[1], validation_data=(data[2], data[3]), "
        "callbacks=callbacks, **fit_args)"
    )
    fit_seconds = time.perf_counter() - begin
    error = outcome.error_in_exec
    history = shell.user_ns.get("history")
    agreement = controller._agreement
    per_batch = [b - a for (_, _, a), (_, _, b) in zip(batch_begins, batch_begins[1:])]
    result = {
        "index": index,
        "fit_error": None if error is None else f"{type(error).__name__}: {error}",
        "fit_end_wall": time.time(),
        "fit_seconds": fit_seconds,
        "history": None if history is None else history.history,
        "epochs": epochs,
        "epoch_ends": epoch_ends,
        "snapshot": _snapshot_dict(controller.snapshot(), StoppingSnapshot),
        "final_weights": digest(model.get_weights()) if error is None else None,
        "last_batch": list(batch_begins[-1][:2]) if batch_begins else None,
        "last_batch_begin": batch_begins[-1][2] if batch_begins else None,
        "steps": len(x_train) // 16,
        "agreement_log": [] if agreement is None else [list(e) for e in agreement.log],
        "agreements": 0 if agreement is None else agreement.agreements,
        "agreement_seconds": 0.0 if agreement is None else min(agreement._costs),
        "interval": 0.0 if agreement is None else agreement.interval,
        "batches_between": 0 if agreement is None else agreement.batches,
        "batch_seconds": (agreement.batch_seconds or 0.0) if agreement is not None else 0.0,
        "agreed_at": agreed_at,
        "dispatch_seconds": float(np.median(per_batch)) if per_batch else 0.0,
        "published": published,
        "comms": comms,
        "plot_status": dashboard.plot.status,
        "plot_epochs": len(dashboard.plot.history.get("epoch", [])),
        "plot_stopping": None
        if dashboard.plot.state.stopping is None
        else _snapshot_dict(dashboard.plot.state.stopping, StoppingSnapshot),
        "plot_message": dashboard.plot.progress.get("message", ""),
        **record,
    }
    (out / f"result{index}.json").write_text(json.dumps(result, default=str))
    if index == 1:  # shows nothing, opens no comm
        assert published == [] and comms == [], (published, comms)
    else:
        assert published and comms


def _snapshot_dict(snapshot: Any, cls: Any) -> dict[str, Any]:
    import dataclasses

    return {f.name: getattr(snapshot, f.name) for f in dataclasses.fields(cls)}


def _cost(rounds: int = 3) -> None:  # pragma: no cover - a measurement, run by hand
    """Step time of the 2-process run without and with the agreement (the same
    dashboards; "off" makes the controllers skip it), interleaved rounds of 4 epochs
    of 256 batches; printed as a table (median over rounds)."""
    import statistics
    import tempfile

    times: dict[str, list[float]] = {"off": [], "auto": []}
    for round_ in range(rounds):
        for scenario in ("off", "auto"):
            out = Path(tempfile.mkdtemp(prefix="wc-cost-"))
            workers = Workers(scenario, out, patience=1000, min_delta=0.0, epochs=4, samples=16384)
            workers.wait()
            r = workers.result(0)
            # Epochs 2-4 (the first compiles): wall time between epoch ends per batch.
            ends = r["epoch_ends"]
            per_step = (ends[-1] - ends[0]) / (len(ends) - 1) / r["steps"]
            times[scenario].append(per_step)
            share = r["agreements"] * r["agreement_seconds"] / r["fit_seconds"] if r["agreements"] else 0
            print(
                f"round {round_} {scenario:4}: {per_step * 1e3:.3f} ms/step, "
                f"{r['agreements']} agreements, K {r['batches_between']}, "
                f"least agreement {r['agreement_seconds'] * 1e3:.2f} ms, estimated share {share:.2%}",
                flush=True,
            )
    off, on = statistics.median(times["off"]), statistics.median(times["auto"])
    print(
        f"median step: {off * 1e3:.3f} ms without, {on * 1e3:.3f} ms with the agreement: {on / off - 1:+.2%}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", nargs=2, metavar=("INDEX", "CONFIG"))
    parser.add_argument("--cost", action="store_true")
    args = parser.parse_args()
    if args.cost:
        _cost()
    else:
        _worker(int(args.worker[0]), json.loads(args.worker[1]))
