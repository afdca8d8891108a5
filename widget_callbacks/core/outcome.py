"""How a run ended: the one stop-reason vocabulary and the one description of it.

Every place that says how a run ended (the stop mark on the plot, the progress line,
the controls' status line, a saved history) reads it from here. Epochs are 1-based,
as Keras prints them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from .protocol import (
    STATUS_FAILED,
    STATUS_FINISHED,
    STATUS_STOPPED,
    STATUS_TRAINING,
    STATUS_WAITING,
)

if TYPE_CHECKING:
    from .records import StoppingSnapshot

#: Why training ended (``StoppingSnapshot.stop_reason``); ``None`` while it runs.
STOP_PATIENCE: Final = "patience exhausted"
STOP_BY_HAND: Final = "stopped by hand"
STOP_INTERRUPTED: Final = "interrupted"
STOP_NON_FINITE: Final = "NaN/inf"
STOP_COMPLETED: Final = "finished all epochs"
STOP_OTHER_CALLBACK: Final = "stopped by another callback"
STOP_FAILED: Final = "failed"
# The stop guards' (``core/guards.py``; a NaN/inf they catch is ``STOP_NON_FINITE``,
# the one word for it whoever stops, TerminateOnNaN or ``check_finite``).
STOP_THRESHOLD: Final = "stopping threshold reached"
STOP_DIVERGED: Final = "divergence threshold exceeded"
STOP_TIME_LIMIT: Final = "time limit reached"
STOP_REASONS: Final = (
    STOP_PATIENCE,
    STOP_BY_HAND,
    STOP_INTERRUPTED,
    STOP_NON_FINITE,
    STOP_COMPLETED,
    STOP_OTHER_CALLBACK,
    STOP_FAILED,
    STOP_THRESHOLD,
    STOP_DIVERGED,
    STOP_TIME_LIMIT,
)

# The controls' status line starts with the reason; a few read better reworded.
_REASON_WORDS: Final = {STOP_NON_FINITE: "stopped: NaN/inf"}
# Reasons a guard may give within an epoch: the stop mark says the batch too.
_BATCH_REASONS: Final = (STOP_NON_FINITE, STOP_TIME_LIMIT)


def describe_exception(error: BaseException) -> str:
    """``"ValueError: bad shape"`` (or the type alone when the message is empty): what
    ``fit`` raised, as ``StoppingSnapshot.failure`` and the status lines say it."""
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def end_epoch(snapshot: StoppingSnapshot) -> int | None:
    """The 1-based epoch training ended at: where it was stopped, else the last seen."""
    return snapshot.stopped_epoch if snapshot.stopped_epoch is not None else snapshot.last_epoch


def monitor_note(snapshot: StoppingSnapshot) -> str | None:
    """What to say when the monitored value is missing from the logs, or ``None``.

    Keras only warns (on stderr) and never stops by patience when the monitored
    metric is not logged, e.g. ``monitor="val_acc"`` where Keras logs
    ``"val_accuracy"``.

    >>> from widget_callbacks.core.records import StoppingSnapshot
    >>> monitor_note(StoppingSnapshot("val_acc", "max", 2, last_epoch=1,
    ...              last_value_missing=True, available=("loss", "val_accuracy")))
    'val_acc is not in the logs (logged: loss, val_accuracy)'
    """
    if not snapshot.last_value_missing or not snapshot.last_epoch:
        return None
    if snapshot.monitor_missing:
        names = ", ".join(snapshot.available) or "nothing"
        return f"{snapshot.monitor} is not in the logs (logged: {names})"
    if snapshot.stop_reason is None:
        return f"{snapshot.monitor} missing at epoch {snapshot.last_epoch}: not counted"
    return None


def describe_outcome(snapshot: StoppingSnapshot) -> tuple[str, ...]:
    """How the run ended, as plain-text lines (empty while it runs).

    The first line places the stop on the plot (``"stopped at epoch 4: patience
    exhausted"``, ``"stopped by hand at epoch 4, batch 12"``, ``"finished all epochs
    (epoch 20)"``, ``"failed: ValueError: ..."``); a second one says which
    weights were restored.

    Args:
        snapshot: a `StoppingSnapshot` with ``stop_reason`` set.

    Returns:
        One or two lines; ``()`` when ``stop_reason`` is ``None``.

    Example:

    >>> from widget_callbacks.core.records import StoppingSnapshot
    >>> describe_outcome(StoppingSnapshot("val_loss", "min", 2, stopped_epoch=4,
    ...                  stop_reason=STOP_PATIENCE, restored_epoch=2))
    ('stopped at epoch 4: patience exhausted', 'weights restored from epoch 2')
    """
    reason = snapshot.stop_reason
    if reason is None:
        return ()
    epoch = end_epoch(snapshot)
    at = f"epoch {epoch}" if epoch is not None else "the start"
    if reason == STOP_BY_HAND and snapshot.stopped_batch is not None:
        first = f"{reason} at {at}, batch {snapshot.stopped_batch}"
    elif snapshot.stopped_batch is not None and reason in _BATCH_REASONS:  # a guard, within an epoch
        first = f"stopped at {at}, batch {snapshot.stopped_batch}: {reason}"
    elif reason == STOP_COMPLETED:
        first = f"{reason} ({at})" if epoch is not None else reason
    elif reason == STOP_FAILED:
        first = f"failed: {snapshot.failure}" if snapshot.failure else f"failed at {at}"
    else:
        first = f"stopped at {at}: {reason}"
    if snapshot.restored_epoch is not None:
        return first, f"weights restored from epoch {snapshot.restored_epoch}"
    return (first,)


def status_text(
    snapshot: StoppingSnapshot | None, running: bool, failure: str | None = None
) -> tuple[str, str]:
    """The run's status (one of ``protocol.STATUSES``) and the controls' status line.

    Args:
        snapshot: the controller's latest snapshot, or ``None`` before any run.
        running: whether ``fit`` is running.
        failure: what ``fit`` raised, if it failed. Defaults to ``snapshot.failure``.

    Returns:
        ``(status, text)``, e.g. ``("stopped", "stopped by hand at epoch 3, batch 7")``.

    Example:

    >>> status_text(None, running=False)
    ('waiting', 'waiting')
    """
    if snapshot is None:
        return (STATUS_TRAINING, "training epoch 1") if running else (STATUS_WAITING, "waiting")
    reason = snapshot.stop_reason
    if reason == STOP_FAILED:
        failure = failure or snapshot.failure
        return STATUS_FAILED, f"failed: {failure}" if failure else "failed"
    if reason is None or reason == STOP_COMPLETED:
        note = monitor_note(snapshot)
        note = f"; {note}" if note else ""
        if running:
            epoch = (snapshot.last_epoch or 0) + 1
            paused = ", auto-stop paused" if snapshot.paused else ""
            return STATUS_TRAINING, f"training epoch {epoch}{paused}{note}"
        if snapshot.last_epoch is None and reason is None:
            return STATUS_WAITING, "waiting"
        text = "finished" + (note if snapshot.monitor_missing else "")
    else:
        text = _REASON_WORDS.get(reason, reason)
        if snapshot.stopped_epoch is not None:
            text += f" at epoch {snapshot.stopped_epoch}"
            if snapshot.stopped_batch is not None:
                text += f", batch {snapshot.stopped_batch}"
        if running:
            return STATUS_STOPPED, text + " (finishing)"
    if snapshot.restored_epoch is not None:
        text += f"; weights of epoch {snapshot.restored_epoch} restored"
    return (STATUS_FINISHED if text.startswith("finished") else STATUS_STOPPED), text


def final_status(snapshot: StoppingSnapshot | None, model_stopped: bool) -> str:
    """The plot's status once ``fit`` returned: stopped, finished or failed.

    Args:
        snapshot: the attached controller's last snapshot, if any.
        model_stopped: ``model.stop_training`` was set (by any callback).
    """
    reason = snapshot.stop_reason if snapshot is not None else None
    if reason == STOP_FAILED:
        return STATUS_FAILED
    if reason is not None and reason != STOP_COMPLETED:
        return STATUS_STOPPED
    return STATUS_STOPPED if model_stopped and reason is None else STATUS_FINISHED
