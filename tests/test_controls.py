"""ControlPanel without a kernel: the state machine, handlers, and two threads at once."""

from __future__ import annotations

import logging
import threading
from typing import Any

import keras
import pytest

from widget_callbacks.adapters.early_stopping import EarlyStoppingController
from widget_callbacks.core.outcome import STOP_BY_HAND, STOP_COMPLETED, STOP_FAILED, STOP_INTERRUPTED
from widget_callbacks.core.protocol import STATUS_FAILED, STATUS_FINISHED, STATUS_STOPPED, STATUS_TRAINING
from widget_callbacks.core.records import StoppingSnapshot
from widget_callbacks.widgets.controls import ControlPanel, status_text


def _controller(patience: int = 5, **kwargs: Any) -> EarlyStoppingController:
    """A real controller on a tiny model, its Keras hooks driven by hand below."""
    controller = EarlyStoppingController(monitor="val_loss", patience=patience, **kwargs)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    controller.set_model(model)
    controller.set_params({"epochs": 100, "steps": 8, "verbose": 0})
    return controller


def _begin(c: EarlyStoppingController) -> None:
    c.model.stop_training = False
    c.on_train_begin()


def _epoch(c: EarlyStoppingController, epoch: int, val_loss: float, batches: int = 0) -> None:
    c.on_epoch_begin(epoch)
    for batch in range(batches):
        c.on_train_batch_end(batch)
    c.on_epoch_end(epoch, {"loss": val_loss, "val_loss": val_loss})


def _click(widget: Any) -> None:
    """What ipykernel does with a front end's click on an ipywidgets Button."""
    widget._handle_msg(
        {"content": {"data": {"method": "custom", "content": {"event": "click"}}}, "buffers": []}
    )


def _send_state(widget: Any, **state: Any) -> None:
    """What ipykernel does with a front end's state update."""
    widget._handle_msg(
        {"content": {"data": {"method": "update", "state": state, "buffer_paths": []}}, "buffers": []}
    )


def _enabled(panel: ControlPanel) -> tuple[bool, bool, bool]:
    return (
        not panel.stop_button.disabled,
        not panel.patience_slider.disabled,
        not panel.pause_toggle.disabled,
    )


def test_panel_state_machine_and_statuses() -> None:
    controller = _controller(patience=5, restore_best_weights=True)
    panel = ControlPanel(controller, steering=False)
    assert _enabled(panel) == (False, False, False)
    assert panel.state == "waiting" and panel.status_line == "waiting"
    assert "Not in a Jupyter kernel" in panel.status.value
    assert panel.patience_slider.value == 5 and panel.patience_slider.max == 50

    _begin(controller)
    assert _enabled(panel) == (True, True, True)
    assert (panel.state, panel.status_line) == (STATUS_TRAINING, "training epoch 1")
    _epoch(controller, 0, 1.0)
    _epoch(controller, 1, 0.9)
    assert panel.status_line == "training epoch 3"

    _click(panel.stop_button)
    controller.on_epoch_begin(2)
    for batch in range(7):
        controller.on_train_batch_end(batch)
    assert _enabled(panel) == (False, True, True)  # stopping: no second Stop
    assert panel.status_line == "stopped by hand at epoch 3, batch 1 (finishing)"
    controller.on_epoch_end(2, {"loss": 0.95, "val_loss": 0.95})
    controller.on_train_end()
    assert _enabled(panel) == (False, False, False)
    assert panel.state == STATUS_STOPPED
    assert panel.status_line == "stopped by hand at epoch 3, batch 1; weights of epoch 2 restored"
    assert "after this cell" not in panel.status.value and "Not in a Jupyter" not in panel.status.value

    controller.set_patience(1)
    _begin(controller)
    assert panel.status_line == "training epoch 1" and _enabled(panel) == (True, True, True)
    assert panel.patience_slider.value == 1
    for epoch, value in enumerate([1.0, 1.1]):
        _epoch(controller, epoch, value)
    assert panel.status_line == "patience exhausted at epoch 2 (finishing)"
    controller.on_train_end()
    assert panel.status_line == "patience exhausted at epoch 2; weights of epoch 1 restored"

    _begin(controller)
    controller.mark_failed("ValueError: <script>alert(1)</script>")
    assert panel.state == STATUS_FAILED and _enabled(panel) == (False, False, False)
    assert panel.status_line == "failed: ValueError: <script>alert(1)</script>"
    assert "<script>" not in panel.status.value and "&lt;script&gt;" in panel.status.value

    controller.restore_best_weights = False
    _begin(controller)
    _epoch(controller, 0, 1.0)
    controller.on_train_end()
    assert (panel.state, panel.status_line) == (STATUS_FINISHED, "finished")
    panel.close()
    _begin(controller)  # unsubscribed: no error, no update
    assert panel.status_line == "finished"


@pytest.mark.parametrize(
    ("snapshot", "running", "expected"),
    [
        (None, False, ("waiting", "waiting")),
        (None, True, ("training", "training epoch 1")),
        ({"last_epoch": 3, "paused": True}, True, ("training", "training epoch 4, auto-stop paused")),
        ({"stop_reason": STOP_INTERRUPTED, "stopped_epoch": 4, "stopped_batch": 2, "restored_epoch": 1},
         False, ("stopped", "interrupted at epoch 4, batch 2; weights of epoch 1 restored")),
        ({"stop_reason": STOP_FAILED}, False, ("failed", "failed")),
        ({"stop_reason": STOP_COMPLETED, "last_epoch": 5, "restored_epoch": 3}, False,
         ("finished", "finished; weights of epoch 3 restored")),
    ],
)  # fmt: skip
def test_status_text(snapshot: dict[str, Any] | None, running: bool, expected: tuple[str, str]) -> None:
    snap = None if snapshot is None else StoppingSnapshot(monitor="loss", mode="min", patience=3, **snapshot)
    assert status_text(snap, running) == expected


def test_slider_and_pause_only_call_the_controller_api() -> None:
    controller = _controller(patience=30)
    panel = ControlPanel(controller, steering=False)
    assert panel.patience_slider.max == 60
    _begin(controller)
    _send_state(panel.patience_slider, value=2)
    assert controller.patience == 2
    _send_state(panel.pause_toggle, value=True)
    assert controller.paused is True
    controller.set_patience(80)  # from code: the next snapshot syncs the slider, growing it
    _epoch(controller, 0, 1.0)
    assert panel.patience_slider.value == 80 and panel.patience_slider.max == 160
    assert "auto-stop paused" in panel.status_line
    bundle = panel._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == panel.widget.model_id


def test_rejected_patience_reverts_the_slider(caplog: pytest.LogCaptureFixture) -> None:
    class Picky(EarlyStoppingController):
        def set_patience(self, n: int) -> None:
            if n > 10:
                raise ValueError(f"patience must be <= 10. Received: patience={n}")
            super().set_patience(n)

    controller = Picky(patience=4)
    panel = ControlPanel(controller, steering=False)
    _send_state(panel.patience_slider, value=20)
    assert controller.patience == 4 and panel.patience_slider.value == 4
    assert "patience must be <= 10" in panel.status_line
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_bad_controller_is_rejected() -> None:
    with pytest.raises(TypeError, match="EarlyStoppingController"):
        ControlPanel(object())  # type: ignore[arg-type]


def test_front_end_and_fit_thread_at_once(caplog: pytest.LogCaptureFixture) -> None:
    """A 'subshell' thread sends clicks, slider and toggle messages and calls the
    controller's API while the 'fit' thread drives the Keras hooks by hand and the
    listener rewrites the same widgets."""
    controller = _controller(patience=5, restore_best_weights=True)
    panel = ControlPanel(controller, steering=False)
    errors: list[BaseException] = []
    old_hook = threading.excepthook
    threading.excepthook = lambda args: errors.append(args.exc_value)  # type: ignore[assignment]
    done = threading.Event()
    reasons: list[str | None] = []
    sent = [0]

    def front_end() -> None:
        i = 0
        while not done.is_set():
            i = sent[0] = i + 1
            _send_state(panel.patience_slider, value=i % 40)
            _send_state(panel.pause_toggle, value=bool(i % 2))
            if i % 7 == 0:
                _click(panel.stop_button)
            controller.set_patience(i % 13)
            controller.paused = bool(i % 3)

    def fit() -> None:
        try:
            for _run in range(15):
                _begin(controller)
                for epoch in range(25):
                    _epoch(controller, epoch, 1.0 + (epoch % 5) * 0.1, batches=4)
                controller.on_train_end()
                reasons.append(controller.snapshot().stop_reason)
        finally:
            done.set()

    with caplog.at_level(logging.WARNING):
        threads = [threading.Thread(target=front_end), threading.Thread(target=fit)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
    threading.excepthook = old_hook
    assert not errors
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(reasons) == 15 and STOP_BY_HAND in reasons and sent[0] > 50
    assert panel.status_line == status_text(controller.snapshot(), False, None)[1]
    assert _enabled(panel) == (False, False, False)
    _begin(controller)  # quiet now: a snapshot syncs the widgets with the controller
    assert panel.patience_slider.value == controller.patience
    assert panel.pause_toggle.value == controller.paused
    assert panel.patience_slider.max >= panel.patience_slider.value


def test_panel_made_during_and_after_a_run_shows_it() -> None:
    controller = _controller(patience=3)
    _begin(controller)
    _epoch(controller, 0, 1.0)
    during = ControlPanel(controller, steering=False)
    assert during.status_line == "training epoch 2" and _enabled(during) == (True, True, True)
    controller.on_train_end()
    after = ControlPanel(controller, steering=False)
    assert after.state == STATUS_FINISHED and _enabled(after) == (False, False, False)
