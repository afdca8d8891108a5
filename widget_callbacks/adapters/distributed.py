"""Several processes steered as one: Keras 3's ``keras.distribution`` over ``jax.distributed``.

(Over 300 lines: the agreement's protocol, its timing and its docstrings are one
mechanism; split, each part would need the others.)

In a multi-process JAX run every process runs the same ``fit`` and every train step is a
collective across them. A stop, a patience or pause change, or a learning-rate multiplier
taken by process 0 alone (the one a notebook shows) desynchronises them: process 0 leaves
the loop, process 1 waits in its next collective, and process 0 hangs at exit. So with
several processes an `EarlyStoppingController` does not act on its steering at once: every
process's controller runs a `StepAgreement`, and what any of them asked for takes effect
on all of them at the same step.

How the agreement works: each process contributes a small int32 vector, gathered from
all of them with ``jax.experimental.multihost_utils.process_allgather`` (a collective
every process calls in the same order, on the main thread):

====  ==============================================================================
 0    stop asked for here and not yet acted on (an index into ``STOP_REASONS``, 0: none)
 1    patience
 2    paused (0/1)
 3    learning-rate multiplier, in millionths
 4    the number of batches to the next agreement (process 0's is used)
 5    a stop already decided at this epoch end (outcome agreement only)
 6    the agreement's kind, 7 the number of batches begun in this fit (both must match)
====  ==============================================================================

Patience, pause and the multiplier are process 0's; a stop asked for on any process (a
click, Interrupt, a guard such as ``max_time`` whose clock differs per process) stops
all, with the first asking process's reason. Agreements run:

- at ``on_train_begin``;
- at ``on_train_batch_begin`` of every K-th batch (Keras always calls that hook on the
  main thread, in step order, never on its thread pool); a stop agreed there is acted on
  after that batch on every process;
- at each epoch end twice: the inputs of the epoch-end decision (under the rule's lock,
  so a patience set meanwhile on process 0 waits for the next decision rather than being
  used by process 0 alone), and the outcome (a stop any process decided, e.g. ``max_time``
  at the epoch end, stops all).

K: process 0 chooses it and sends it with each agreement. The interval aimed at is the
agreement's own cost c (the least of its last 16 runs) / 1 %, clamped to 0.05-0.25 s; K is
that interval over the slowest of the last three batch times measured, at most twice the
last K, and 1 while the first batches compile. Batch times are measured between the ends
of two agreements: JAX dispatches steps ahead of their computation, and an agreement's
collective runs after the steps queued before it, so that time is the batches' own
(epoch ends give it with validation included: shorter intervals). So the agreement costs
about 1 % of the step time, and a stop asked for is acted on at the first agreement after
it, within one interval (<= 0.25 s at a steady pace; a pace that drops within an interval
stretches that one) plus one batch.

Faults: a process that dies makes the others' next collective (a train step's or an
agreement's) raise in ``fit`` (gloo: "Connection closed by peer"), so process 0's cell
ends with that error and its plot says failed. ``jax.distributed``'s own bounded waits
then apply: after ``heartbeat_timeout_seconds`` (default 100 s) without the dead
process's heartbeat the runtime terminates the surviving processes, and at exit each
waits at most ``shutdown_timeout_seconds`` (default 300 s) for the others.

Every process must run the same callbacks over the same batches (an agreement checks it
and raises otherwise). On multi-process JAX a ``set_weights`` or a variable's ``assign``
is a collective too (``device_put`` checks that every process passes the same value), so
best weights are restored, and the multiplier applied, on every process at the same point.

In one process (any backend other than JAX, or ``jax.distributed`` not initialised, or
one process) nothing here runs and JAX is never imported.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import keras

from .._compat import keras as compat
from ..core.outcome import STOP_BY_HAND, STOP_PATIENCE, STOP_REASONS
from .learning_rate import LearningRateMultiplier

if TYPE_CHECKING:
    from ..core.stopping import EpochDecision
    from .early_stopping import EarlyStoppingController

__all__ = ["StepAgreement", "is_secondary_process", "process_layout", "step_agreement"]

#: What share of the step time the agreement may cost, and the bounds of its interval
#: (the upper one bounds the latency of a stop: one interval plus one batch).
COST_SHARE = 0.01
MIN_INTERVAL = 0.05
MAX_INTERVAL = 0.25
_MAX_K = 1 << 20
_WARM_UP_BATCHES = 2  # the first batches compile: agree at each of them

# The agreement's kinds (column 6).
BEGIN, BATCH, EPOCH_INPUTS, EPOCH_OUTCOME = 1, 2, 3, 4
_WIDTH = 8
_OTHER_REASON = len(STOP_REASONS) + 1  # a reason of the caller's own (stop("..."))


def process_layout() -> tuple[int, int]:
    """This process's index and the number of processes of a multi-process JAX run.

    ``(0, 1)`` unless the Keras backend is JAX and ``jax.distributed`` is initialised:
    JAX is not imported, and its backend not initialised, to find out.

    Returns:
        ``(jax.process_index(), jax.process_count())``, or ``(0, 1)``.
    """
    jax = sys.modules.get("jax")
    if jax is None or keras.backend.backend() != "jax":
        return 0, 1
    try:
        if not jax.distributed.is_initialized():
            return 0, 1
        return int(jax.process_index()), int(jax.process_count())
    except Exception:  # a JAX without these functions: one process as far as we can tell
        return 0, 1


def is_secondary_process() -> bool:
    """Whether this is a process other than 0 of a multi-process JAX run: it shows
    nothing and sends nothing to a front end (process 0's notebook shows the run).

    Call ``jax.distributed.initialize`` before building widgets (JAX requires it before
    any computation anyway).
    """
    return process_layout()[0] != 0


def step_agreement(controller: EarlyStoppingController) -> StepAgreement | None:
    """A `StepAgreement` for ``controller`` when several JAX processes train, else
    ``None`` (one process: nothing to agree on)."""
    index, count = process_layout()
    return StepAgreement(controller, index, count) if count > 1 else None


def reason_code(reason: str | None) -> int:
    """A stop reason as the agreement sends it (0: none).

    >>> reason_code(None), reason_code(STOP_BY_HAND) == STOP_REASONS.index(STOP_BY_HAND) + 1
    (0, True)
    """
    if reason is None:
        return 0
    return STOP_REASONS.index(reason) + 1 if reason in STOP_REASONS else _OTHER_REASON


def code_reason(code: int) -> str:
    """The reason for a code of `reason_code`; a caller's own reason reads as a stop by hand.

    >>> code_reason(reason_code("interrupted")), code_reason(99)
    ('interrupted', 'stopped by hand')
    """
    return STOP_REASONS[code - 1] if 1 <= code <= len(STOP_REASONS) else STOP_BY_HAND


class StepAgreement:
    """Makes the steering of any process act on every process at the same step.

    Run by each process's `EarlyStoppingController` from its hooks, on the main
    thread (see the module docstring for the protocol and its timing): `begin` at
    ``on_train_begin``, `batch_begin` at each ``on_train_batch_begin``, `update` in
    place of ``StoppingRule.update`` at the epoch end, and `epoch_end` after the epoch
    end's guards. While it runs, the controller acts on a stop asked for (by hand,
    Interrupt, a guard) and applies the learning-rate multiplier only through it.

    Args:
        controller: this process's controller.
        index: this process's index (``jax.process_index()``).
        count: the number of processes (``jax.process_count()``).
        gather: the collective, given an int32 vector, returning one row per process
            in process order. Defaults to ``multihost_utils.process_allgather``.
        clock: seconds, monotonic. Defaults to ``time.perf_counter``.

    Raises:
        RuntimeError: from an agreement, when the processes are not at the same step
            (their callbacks or their number of batches differ).

    Example (with two processes, the same code in each):

    ```python
    jax.distributed.initialize("127.0.0.1:1234", num_processes=2, process_id=i)
    controller = EarlyStoppingController(patience=5)  # agreement made at train begin
    model.fit(x_shard, y_shard, epochs=50, callbacks=[controller])
    controller.stop()  # from process 0's notebook: every process stops after one batch
    ```
    """

    def __init__(
        self,
        controller: EarlyStoppingController,
        index: int,
        count: int,
        *,
        gather: Callable[[Any], Any] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.controller = controller
        self.index = index
        self.count = count
        self._gather = gather
        self._clock = clock
        # The multiplier in force, the same on every process (the controller's own holds
        # what process 0's controls ask for; it is not applied while this runs).
        self._in_force = LearningRateMultiplier()
        self._costs: deque[float] = deque(maxlen=16)
        self._steps = 0  # batches begun in this fit
        self._next = 0  # the batch count at which the next batch agreement runs
        self._mark: tuple[float, int] | None = None  # time and batch count of the last one
        self._agreed: tuple[int, bool] | None = None  # patience and pause, as last agreed
        self._paces: deque[float] = deque(maxlen=3)  # seconds a batch took, last measured
        self._epoch_mark: tuple[float, int] | None = None  # the last epoch end's time, batches
        self.interval = MAX_INTERVAL  # the interval aimed at (seconds)
        self.batches = 1  # K: batches between two agreements, as last agreed
        self.agreements = 0  # agreements in this fit
        self.log: list[tuple[int, int | None, str, Any]] = []  # (epoch, batch, what, value)

    @property
    def batch_seconds(self) -> float | None:
        """The slowest of the last three batch times measured (seconds), or ``None``."""
        return max(self._paces) if self._paces else None

    # -- hooks (main thread, every process in the same order) ---------------

    def begin(self) -> None:
        """``on_train_begin``: the first agreement (patience, pause, multiplier)."""
        self._steps, self._next, self._mark, self._agreed = 0, 0, None, None
        self._paces.clear()
        self.agreements, self.batches = 0, 1
        self.log = []
        rows = self._agree(BEGIN)
        self._adopt(rows, epoch=0, batch=0)  # a stop asked for already: after the first batch

    def batch_begin(self, batch: int) -> None:
        """``on_train_batch_begin``: an agreement every K-th batch; a stop agreed here is
        acted on after this batch.

        Args:
            batch: the 0-based batch about to run.
        """
        if self._steps >= self._next:
            rows = self._agree(BATCH)
            self._adopt(rows, epoch=self._epoch(), batch=batch)
        self._steps += 1

    def update(self, epoch: int, value: float | None) -> EpochDecision:
        """The epoch-end decision, with the inputs every process agreed on.

        Holds the rule's lock from the agreement to the decision: a patience or pause
        set meanwhile (process 0's controls) is used by the next decision, on every
        process. A stop agreed here is acted on at this epoch end.

        Args:
            epoch: the 0-based epoch.
            value: the monitored value, or ``None``.

        Returns:
            The `EpochDecision` of ``StoppingRule.update``.
        """
        rule = self.controller.rule
        with rule._lock:  # re-entrant: the setters below run under it too
            rows = self._agree(EPOCH_INPUTS)
            self._adopt_settings(rows[0], epoch, None)
            decision = rule.update(epoch, value)
        self._adopt(rows, epoch=epoch, batch=None, settings=False, rate_epoch=epoch + 1)
        return decision

    def epoch_end(self, epoch: int) -> None:
        """After the epoch end's decisions: a stop any process decided stops all."""
        rows = self._agree(EPOCH_OUTCOME)
        if not self._stopping() and any(row[5] for row in rows):
            code = next(int(row[5]) for row in rows if row[5])
            reason = code_reason(code)
            compat.unsynced_model(self.controller).stop_training = True
            if reason != STOP_PATIENCE:
                self.controller._hand_stop = (reason, epoch, None)
            else:  # decided elsewhere by patience: the same decision here
                self.controller.rule.stopped_epoch = epoch
            self.log.append((epoch, None, "stop", reason))
        self._adopt(rows, epoch=epoch, batch=None, settings=False, rate_epoch=epoch + 1)

    # -- the agreement ------------------------------------------------------

    def _epoch(self) -> int:
        epoch = self.controller._epoch
        return 0 if epoch is None else epoch

    def _stopping(self) -> bool:
        return bool(getattr(compat.unsynced_model(self.controller), "stop_training", False))

    def _vector(self, kind: int, steps: int) -> list[int]:
        controller = self.controller
        rule = controller.rule
        decided = 0
        if kind == EPOCH_OUTCOME and self._stopping():
            hand = controller._hand_stop
            decided = reason_code(hand[0]) if hand is not None else reason_code(STOP_PATIENCE)
        return [
            reason_code(controller._stop_request),
            rule.patience,
            int(rule.paused),
            round(controller.learning_rate_multiplier * 1_000_000),
            self._next_batches(kind) if self.index == 0 else 0,
            decided,
            kind,
            steps,
        ]

    def _agree(self, kind: int) -> list[list[int]]:
        steps = self._steps
        vector = self._vector(kind, steps)
        started = self._clock()
        rows = self._collect(vector)
        done = self._clock()
        self._costs.append(done - started)
        self._timed(kind, done)
        self.agreements += 1
        if any(row[6] != kind or row[7] != steps for row in rows):
            raise RuntimeError(
                "The processes are not at the same step of fit: every process must run the "
                "same callbacks over the same number of batches. Received (kind, batches) "
                f"per process: {[(row[6], row[7]) for row in rows]}"
            )
        return rows

    def _collect(self, vector: list[int]) -> list[list[int]]:
        import numpy as np

        gather = self._gather
        if gather is None:
            from jax.experimental import multihost_utils

            gather = multihost_utils.process_allgather
        rows = np.asarray(gather(np.asarray(vector, dtype=np.int32))).reshape(self.count, _WIDTH)
        return [[int(v) for v in row] for row in rows]

    def _next_batches(self, kind: int) -> int:
        """K, on process 0: the batches that fill the interval aimed at, at the batch time
        last measured (`_timed`); unchanged across an epoch end; 1 while the first
        batches compile."""
        if self._costs:  # the least an agreement took: its own cost, without waiting for steps
            self.interval = min(MAX_INTERVAL, max(MIN_INTERVAL, min(self._costs) / COST_SHARE))
        if self._steps <= _WARM_UP_BATCHES:
            return 1
        if kind != BATCH or not self._paces:
            return self.batches
        # The slowest recent pace, and at most twice the last K: a pace that drops
        # between two agreements stretches one interval, a faster one shortens it.
        fits = int(self.interval / max(self._paces))
        return max(1, min(_MAX_K, 2 * self.batches, fits))

    def _timed(self, kind: int, done: float) -> None:
        """The batch time, measured when agreements are done: an agreement's collective
        runs after the steps dispatched before it (JAX queues steps ahead of their
        computation), so the time between two is the time the batches between took, not
        the time Python took to queue them. Two batch agreements of one epoch give it
        without validation; an epoch end gives it with validation (an over-estimate, so a
        shorter interval), every epoch after the first (which compiles), so that K follows
        the pace when it changes or when K exceeds the batches of an epoch."""
        steps = self._steps
        if kind == BATCH:
            mark, self._mark = self._mark, (done, steps)
        elif kind == EPOCH_INPUTS:
            mark, self._mark = self._epoch_mark, None  # validation is not a batch
        else:  # the fit begins (its first epoch compiles), or an epoch ends
            mark, self._mark = None, None
            self._epoch_mark = (done, steps) if kind == EPOCH_OUTCOME else None
        if mark is not None and steps > mark[1]:
            self._paces.append((done - mark[0]) / (steps - mark[1]))

    def _adopt(
        self,
        rows: list[list[int]],
        *,
        epoch: int,
        batch: int | None,
        settings: bool = True,
        rate_epoch: int | None = None,
    ) -> None:
        """Acts on an agreement: process 0's settings and multiplier, the first asking
        process's stop, and when the next batch agreement runs.

        Args:
            rows: the gathered vectors, in process order.
            epoch: the 0-based epoch running.
            batch: the 0-based batch about to run, or ``None`` at a fit's begin or an
                epoch end.
            settings: adopt patience and pause (`update` did already).
            rate_epoch: the epoch a multiplier applies from (an epoch end: the next).
        """
        first = rows[0]
        self.batches = max(1, first[4])
        self._next = self._steps + self.batches
        if settings:
            self._adopt_settings(first, epoch, batch)
        self._adopt_multiplier(first[3], epoch if rate_epoch is None else rate_epoch, batch)
        asked = [row[0] for row in rows if row[0]]
        if asked:
            self._stop(code_reason(asked[0]), asked[0], epoch, batch)

    def _adopt_settings(self, row: list[int], epoch: int, batch: int | None) -> None:
        """Process 0's patience and pause, set on the other processes' controllers (process
        0's are the source: one set there during the agreement is sent at the next one);
        a change since the last agreement is logged on every process."""
        controller = self.controller
        patience, paused = row[1], bool(row[2])
        if self.index != 0 and controller.rule.patience != patience:
            controller.patience = patience
        if self.index != 0 and controller.rule.paused != paused:
            controller.paused = paused
        last, self._agreed = self._agreed, (patience, paused)
        if last is not None and last[0] != patience:
            self.log.append((epoch, batch, "patience", patience))
        if last is not None and last[1] != paused:
            self.log.append((epoch, batch, "paused", paused))

    def _adopt_multiplier(self, millionths: int, epoch: int, batch: int | None) -> None:
        value = millionths / 1_000_000
        if value == self._in_force.value:
            return
        self._in_force.set(value)
        steps = (self.controller.params or {}).get("steps")
        # ``controller.model`` (synced on JAX): the next step reads the new rate.
        self._in_force.apply(self.controller.model, epoch, batch or None, steps)
        self.log.append((epoch, batch, "learning_rate_multiplier", value))

    def _stop(self, reason: str, code: int, epoch: int, batch: int | None) -> None:
        controller = self.controller
        own = controller._stop_request
        if own is None or reason_code(own) != code:
            own = reason  # asked elsewhere, or another reason asked here
        done = None if batch is None else batch + 1  # 1-based: stops after this batch
        if done is None:
            done = (controller.params or {}).get("steps")
        with controller._batch_lock:  # as the controller's batch hooks act on a stop
            controller._stop_request = own
            controller._apply_stop(done)
        self.log.append((epoch, batch, "stop", own))
