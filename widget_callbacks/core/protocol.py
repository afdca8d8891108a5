"""The one message protocol between the Python widgets and the front end, as data.

The names, statuses, progress keys, plot config, sizes and palette are defined once,
in ``protocol.json`` beside this module; the front end imports the same file
(``js/src/protocol.js``, bundled by esbuild). This module only exposes it to Python.

State a fresh view needs is kept in synced traits of ``LivePlot``:

- ``traces`` (list of plotly trace dicts, each with ``x``/``y`` arrays): every
  point of the current run, after the earlier runs' traces kept beside it
  (``core/runs.py``: faint epoch curves, or a label's mean and band). Each trace
  has ``meta.run`` (its run's number; an aggregate's: the list of them) and a
  ``uid``; a run is a dimension of the traces, not a message of its own. Python appends to these lists *in place* (which
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
- ``view`` (dict, ``view_defaults`` in protocol.json; ``core/views.py``): the
  toolbar's smoothing, ``log_y`` panels, ``x_axis``, ``robust_y`` and ``theme``.
  The front end writes it when the toolbar moves; Python validates it; export
  applies it.
- ``summary_table`` (dict, ``core/summary.py``; ``LivePlot.summary()`` gives it as data): ``{"rows": [{"metric", "last", "best",
  "best_epoch", "direction"}], "epoch_seconds", "steps_per_second",
  "samples_per_second"}``, set once per epoch (bounded by the number of metrics).

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

The static copy (``widgets/static_copy.py``), once per ended fit, after the cell:

- kernel to front end: ``{"type": "static_png_request", "id": int, "run": int,
  "lengths": [int, ...], "layout": {...}, "overlays": [...], "width": int,
  "height": int, "scale": int}``: make a PNG of the figure the kernel has: the first
  ``lengths[i]`` points of ``traces[i]`` of run ``run`` (a view waits until its traits
  have them), then ``overlays``, drawn with ``layout``, ``width`` x ``height`` layout
  pixels at ``scale``.
- front end to kernel: ``{"type": "static_png", "id": int, "png": str}``: that PNG,
  base64. The first answer to the latest request is kept; others are ignored.

Numbers in traces are finite floats or ``None`` (a gap). Non-finite metric
values are drawn as gaps plus a marker trace; see ``figure.py``. The ``metric``
and ``batch`` traces carry ``customdata``: seconds since the run started, per
point (``None``: unknown), and ``meta.metric``, the full metric name (trace
names longer than ``sizes.max_name_chars`` are shortened).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, Final

PROTOCOL: Final[dict[str, Any]] = json.loads(
    resources.files(__package__).joinpath("protocol.json").read_text(encoding="utf-8")
)

TRAITS: Final[dict[str, str]] = PROTOCOL["traits"]
MSG_EXTEND: Final[str] = PROTOCOL["messages"]["extend"]
MSG_STATIC_PNG_REQUEST: Final[str] = PROTOCOL["messages"]["static_png_request"]
MSG_STATIC_PNG: Final[str] = PROTOCOL["messages"]["static_png"]

STATUSES: Final[tuple[str, ...]] = tuple(PROTOCOL["statuses"])
STATUS_WAITING, STATUS_TRAINING, STATUS_FINISHED, STATUS_STOPPED, STATUS_FAILED = STATUSES

#: Keys of the ``progress`` trait. ``elapsed``/``eta`` are seconds (``eta`` may be
#: ``None``); ``logs`` holds the latest batch metrics, already JSON-safe;
#: ``message`` is free text shown after the status (a stop reason, an error).
PROGRESS_KEYS: Final[tuple[str, ...]] = tuple(PROTOCOL["progress_keys"])

#: plotly config of exported HTML (the live view also removes ``LIVE_MODE_BAR_REMOVED``:
#: it has download buttons of its own).
PLOT_CONFIG: Final[dict[str, Any]] = PROTOCOL["plot_config"]
SIZES: Final[dict[str, int]] = PROTOCOL["sizes"]
#: Height of a figure whose layout gives none (pixels).
DEFAULT_HEIGHT: Final[int] = SIZES["default_height"]
#: Width of images when neither the call nor the layout gives one (pixels).
IMAGE_WIDTH: Final[int] = SIZES["image_width"]
PALETTE: Final[dict[str, str]] = PROTOCOL["palette"]
