"""The one message protocol between the Python widgets and the front end.

The JavaScript side mirrors these names in ``js/src/protocol.js``;
``tests/test_protocol.py`` checks that both files agree.

State a fresh view needs is kept in synced traits of ``LivePlot``:

- ``traces`` (list of plotly trace dicts, each with ``x``/``y`` arrays): every
  point of the current run. Python appends to these lists *in place* (which
  does not sync) and sends an ``extend`` message instead, so the per-epoch
  message size does not grow with the history. A view created later, or a page
  reloaded mid-run, asks the kernel for the widget state and gets every point.
  The list is reassigned (and so resent whole) only when its structure changes:
  a new run, or a metric seen for the first time.
- ``plot_layout`` (plotly layout dict; not ``layout``, which is ipywidgets'
  own DOMWidget trait): panels, axes and the early-stopping marks
  (best epoch, patience band, warm-up, stop). Bounded in size; reassigned.
- ``overlays`` (list of small plotly trace dicts): the best-epoch and stop
  markers. Bounded in size; reassigned.
- ``progress`` (dict, see ``PROGRESS_KEYS``): the progress line.
- ``run`` (int): counts runs; ``extend`` messages for another run are ignored.

Messages from the kernel to the front end (``msg:custom`` in anywidget):

- ``{"type": "extend", "run": int, "points": [{"trace": int, "offset": int,
  "x": [...], "y": [...], ...}]}``: append the arrays to ``traces[trace]``.
  ``offset`` is the trace's length before the append; a view that already has
  those points (it got them from a newer state) skips them. Keys other than
  ``trace`` and ``offset`` are arrays to extend (``x``, ``y``, ``text``,
  ``customdata``). A throttled batch update adds ``"progress": {...}`` (the
  whole ``progress`` dict): the trait is then updated in place (no sync,
  one message instead of two) and the front end sets its ``progress`` from
  the message, locally. A state request still gets the current progress.

Numbers in traces are finite floats or ``None`` (a gap). Non-finite metric
values are drawn as gaps plus a marker trace; see ``_core/figure.py``.
"""

from __future__ import annotations

from typing import Final

MSG_EXTEND: Final = "extend"

STATUS_WAITING: Final = "waiting"
STATUS_TRAINING: Final = "training"
STATUS_FINISHED: Final = "finished"
STATUS_STOPPED: Final = "stopped"
STATUS_FAILED: Final = "failed"
STATUSES: Final = (
    STATUS_WAITING,
    STATUS_TRAINING,
    STATUS_FINISHED,
    STATUS_STOPPED,
    STATUS_FAILED,
)

#: Keys of the ``progress`` trait. ``elapsed``/``eta`` are seconds (``eta`` may be
#: ``None``); ``logs`` holds the latest batch metrics, already JSON-safe;
#: ``message`` is free text shown after the status (a stop reason, an error).
PROGRESS_KEYS: Final = (
    "status",
    "epoch",
    "epochs",
    "batch",
    "batches",
    "elapsed",
    "eta",
    "logs",
    "message",
)
