"""The static copy of a plot that a saved notebook keeps where widgets cannot be shown.

(Over 300 lines: one request/answer exchange with the page, its timer and kaleido's
fallback share the pending request's lock; the rest is Keras-style docstrings.)

`LivePlot` displays itself with ``display(bundle, raw=True, display_id=...)``; when a
fit ends, ``update_display`` adds ``image/png`` and ``text/html`` to that output: with
``"html"``, the figure with plotly.js inlined (`export.files.figure_html`), else the PNG
as an ``<img>``; either way with the summary table under it (`export.files.summary_html`).
The figure is the one export writes: the plot's view settings applied, light theme. Front ends
that render widgets prefer the widget-view mimetype; nbconvert skips it when the
notebook has no widget state and takes the next one in its priority list.

The PNG is made by the browser that shows the plot, not by a second browser in the
kernel's machine: when the cell that ran the fit ends, the kernel sends the plot's
views a ``static_png_request`` (``core/protocol.py``) with the figure it has; a view
answers with ``Plotly.toImage`` of it (``js/src/static_png.js``), the first answer is
kept, and ``update_display`` adds it. The main shell is busy until the cell ends, so
the answer is handled after it; ``update_display`` then still updates the original
output (JupyterLab keeps a cell's request open for that). Nothing runs during a fit.

kaleido (``export/images.py``) makes the PNG only when no view can answer:

- right away, at the end of the cell, when the cell did not come from a front end that
  takes input (``allow_stdin``: nbclient and papermill send False; JupyterLab, Notebook
  and VS Code send True) and no view has answered in this process: batch runs have no
  views, and their outputs must be complete when the cell ends;
- once, `ANSWER_TIMEOUT` seconds after a cell ended without an answer (a front end
  that draws no widgets, a closed page). The timer is stopped while a cell runs and
  started again when it ends, so it never wakes during a fit.
"""

from __future__ import annotations

import base64
import binascii
import copy
import threading
import uuid
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..core.protocol import DEFAULT_HEIGHT, IMAGE_WIDTH, MSG_STATIC_PNG, MSG_STATIC_PNG_REQUEST
from ..export.figure import figure_of, plot_state
from ..export.files import figure_html, summary_html
from ..export.images import images
from ..kernel.cells import CellEndHook, cell_watcher, current_shell

if TYPE_CHECKING:
    import plotly.graph_objects as go

FALLBACK_FORMATS: tuple[str, ...] = ("html", "png")
WIDGET_VIEW_MIMETYPE = "application/vnd.jupyter.widget-view+json"
#: The fallback PNG: drawn at twice its displayed size, shown `IMAGE_WIDTH` px wide.
FALLBACK_WIDTH = IMAGE_WIDTH
FALLBACK_SCALE = 2
#: After the cell ended, a view's PNG is awaited this long before kaleido makes one (s).
ANSWER_TIMEOUT = 10.0
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class _Warnings:
    """A missing PNG is reported once per session."""

    png_given = False


class _Views:
    """Whether a view has answered a PNG request in this process (a front end that
    draws widgets is there)."""

    answered = False


def views_may_answer() -> bool:
    """Whether a view may answer a PNG request: one has before, or the running request
    came from a front end that takes input (``allow_stdin``; nbclient and papermill
    send False). Read through ipykernel's public ``Kernel.get_parent``."""
    if _Views.answered:
        return True
    try:
        kernel = getattr(current_shell(), "kernel", None)
        parent = kernel.get_parent("shell") if kernel is not None else None
    except Exception:  # not ipykernel, or an older one
        return False
    content = parent.get("content") if isinstance(parent, dict) else None
    return isinstance(content, dict) and content.get("allow_stdin") is True


class _Request:
    """A PNG request sent to the views: the figure it shows, and its timer."""

    def __init__(self, id: int, source: Any, described: dict[str, Any]) -> None:
        self.id, self.source, self.described = id, source, described
        self.timer: threading.Timer | None = None


Snapshot = tuple[dict[str, Any], int, int, dict[str, Any]]


def _snapshot(source: Any) -> Snapshot:
    """Read together under the state's lock: the static copy's description (the figure
    as export draws it, the view applied, plus its ``"summary"`` table), the run, the
    number of traces, and a deep copy of the figure as the live view has it (its
    ``data`` is the traces, then the overlays), for the views' PNG request."""
    state = plot_state(source)
    with state.lock:
        described = {**state.shown_figure("light"), "summary": state.summary()}
        return described, state.run, len(state.traces), copy.deepcopy(state.figure())


def _figure(described: dict[str, Any]) -> dict[str, Any]:
    """The plotly figure dict of a `_snapshot` description."""
    return {key: value for key, value in described.items() if key != "summary"}


def fallback_formats(value: Any) -> tuple[str, ...]:
    """Validates ``LivePlot(static_fallback=...)``: True (HTML and PNG), False, or
    ``"html"``, ``"png"`` or a sequence of them. Returns the formats."""
    if isinstance(value, bool):
        return FALLBACK_FORMATS if value else ()
    names = (value,) if isinstance(value, str) else value
    if isinstance(names, Sequence) and names and all(n in FALLBACK_FORMATS for n in names):
        return tuple(f for f in FALLBACK_FORMATS if f in names)
    raise ValueError(
        "static_fallback must be True, False, 'html', 'png' or a list of those. "
        f"Received: static_fallback={value!r}"
    )


class StaticFallback:
    """Displays widgets under display ids and, when a fit ends, adds a static copy of
    one plot's figure to those outputs (see the module docstring).

    A plot owns one; ``display(plot, plot)`` shows the plot itself, and a container
    holding it (a dashboard) is shown with ``display(container, plot)``.

    Args:
        formats: what `fallback_formats` accepts. Defaults to ``"png"``.
    """

    def __init__(self, formats: Any = "png") -> None:
        self.formats = fallback_formats(formats)
        self.final = False
        self._displays: dict[str, Any] = {}  # display id -> the widget shown
        self._source: Any = None  # the plot whose copy is refreshed when the cell ends
        self._cell_end = CellEndHook(self._after_cell)
        self._cache: tuple[Any, dict[str, Any], dict[str, Any]] | None = None
        self.answer_timeout = ANSWER_TIMEOUT
        self._lock = threading.Lock()  # the pending request (answers come from any thread)
        self._publish_lock = threading.RLock()  # one static copy made and published at a time
        self._requests = 0
        self._pending: _Request | None = None
        self._png_of: tuple[dict[str, Any], bytes] | None = None  # the last PNG, its figure
        self._no_png_for: dict[str, Any] | None = None  # the figure kaleido failed to draw
        self._rearm = CellEndHook(self._cell_ended_while_waiting)
        self._stop_watching: Callable[[], None] | None = None  # cell starts stop the timer

    def display(self, widget: Any, source: Any) -> None:
        """``display`` the widget's mimebundle under a display id (the same one each
        time for the same widget); after a fit, with the static copy of ``source``."""
        from IPython.display import display

        cell_watcher().watch()
        display_id = next((i for i, w in self._displays.items() if w is widget), None)
        display_id = display_id or f"widget-callbacks-{uuid.uuid4().hex}"
        self._displays[display_id] = widget
        if not self.final:
            data, metadata = self._bundle(widget, source, None)
            display(data, raw=True, metadata=metadata, display_id=display_id)
            return
        # Shown again after a fit: the copy made for the same figure, else the views'.
        snapshot = _snapshot(source)
        ask = "png" in self.formats and not self._has_png(snapshot[0]) and views_may_answer()
        data, metadata = self._bundle(widget, source, snapshot[0], kaleido=not ask)
        display(data, raw=True, metadata=metadata, display_id=display_id)
        if ask:
            self._ask_views(source, snapshot)

    def fit_started(self) -> None:
        """A fit begins: nothing is started (no image browser competes with training;
        the PNG is asked of the views when the cell ends)."""

    def fit_ended(self, source: Any) -> None:
        """Refreshes the static copy in every output shown; while a cell runs, once it
        has finished, so that marks published after the plot's ``on_train_end``
        (restored weights) are in it."""
        self.final = True
        if not self.formats or not self._displays:
            return
        shell = current_shell()
        if shell is None or not cell_watcher().running:
            self._refresh_quietly(source)
            return
        self._source = source
        self._cell_end.register(shell)  # once, however many fits end in this cell

    def _after_cell(self, result: Any = None) -> None:
        self._cell_end.unregister()
        self._refresh_quietly(self._source)

    def _refresh_quietly(self, source: Any) -> None:
        try:
            self.refresh(source)
        except Exception as err:  # the static copy must never fail a fit
            warnings.warn(
                f"The static copy of the plot was not updated: {err!r}", RuntimeWarning, stacklevel=2
            )

    def refresh(self, source: Any) -> None:
        """``update_display`` of every output shown, static copy included: the PNG from
        a view when one may answer (`views_may_answer`: then the HTML copy, if asked,
        is published now and again with the image), else from kaleido, now."""
        snapshot = _snapshot(source)
        if "png" in self.formats and not self._has_png(snapshot[0]) and views_may_answer():
            if "html" in self.formats:
                self._publish(source, snapshot[0], kaleido=False)
            self._ask_views(source, snapshot)
            return
        self._publish(source, snapshot[0])

    def _publish(
        self, source: Any, described: dict[str, Any], *, png: bytes | None = None, kaleido: bool = True
    ) -> None:
        from IPython.display import update_display

        with self._publish_lock:
            for display_id, widget in list(self._displays.items()):
                data, metadata = self._bundle(widget, source, described, png=png, kaleido=kaleido)
                update_display(data, raw=True, metadata=metadata, display_id=display_id)

    def _bundle(
        self,
        widget: Any,
        source: Any,
        described: dict[str, Any] | None,
        *,
        png: bytes | None = None,
        kaleido: bool = True,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The widget's mimebundle; with the static copy of ``described`` unless None."""
        bundle = widget._repr_mimebundle_()
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
        data, metadata = dict(data or {}), dict(metadata or {})
        if described is not None and self.formats:
            extra_data, extra_metadata = self.render(source, described, png=png, kaleido=kaleido)
            data.update(extra_data)
            metadata.update(extra_metadata)
        return data, metadata

    def render(
        self,
        source: Any,
        described: dict[str, Any] | None = None,
        *,
        png: bytes | None = None,
        kaleido: bool = True,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The static mimetypes for ``source``'s current figure (or ``described``, a
        `figure_dict` of it; cached per figure). The PNG is ``png`` (a view's), else the
        one made before for the same figure, else kaleido's when ``kaleido``."""
        if described is None:
            described = _snapshot(source)[0]
        if png is None and self._png_of is not None and self._png_of[0] == described:
            png = self._png_of[1]
        if png is None and kaleido and "png" in self.formats and self._no_png_for != described:
            png = self._png(figure_of(source, _figure(described)))
            if png is None:
                self._no_png_for = described  # not tried again for the same figure
        key = (described, png)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1], self._cache[2]
        data: dict[str, Any] = {}
        metadata: dict[str, Any] = {}
        summary = described.get("summary")
        if png is not None and "png" in self.formats:
            self._png_of = (described, png)
            height = described.get("layout", {}).get("height") or DEFAULT_HEIGHT
            data["image/png"] = base64.b64encode(png).decode("ascii")
            metadata["image/png"] = {"width": FALLBACK_WIDTH, "height": height}
            if "html" not in self.formats:  # the image and the table (text/html is preferred)
                data["text/html"] = _png_html(data["image/png"], summary)
        if "html" in self.formats:
            figure = figure_of(source, _figure(described))
            data["text/html"] = figure_html(figure, full_html=False, png=png, summary=summary)
        self._cache = (key, data, metadata)
        return data, metadata

    def _has_png(self, described: dict[str, Any]) -> bool:
        return self._png_of is not None and self._png_of[0] == described

    # -- the views' PNG -----------------------------------------------------------

    def _ask_views(self, source: Any, snapshot: Snapshot) -> None:
        """Sends the views a PNG request for ``snapshot`` (`_snapshot`): the live
        figure's layout and overlays (a view applies its view settings itself); the
        latest request replaces one still waiting."""
        described, run, count, live = snapshot
        traces, overlays = live["data"][:count], live["data"][count:]
        with self._lock:
            self._requests += 1
            request = _Request(self._requests, source, described)
            old, self._pending = self._pending, request
        if old is not None and old.timer is not None:
            old.timer.cancel()
        layout = live.get("layout", {})
        source.send(
            {
                "type": MSG_STATIC_PNG_REQUEST,
                "id": request.id,
                "run": run,
                "lengths": [len(t.get("x") or ()) for t in traces],
                "layout": layout,
                "overlays": overlays,
                "width": FALLBACK_WIDTH,
                "height": layout.get("height") or DEFAULT_HEIGHT,
                "scale": FALLBACK_SCALE,
            }
        )
        self._arm(request)

    def answer(self, content: Any) -> bool:
        """A front end's message: a view's PNG for the latest request is published (the
        first answer to it; any thread). Anything else is ignored quietly. Returns
        whether it was used."""
        if not isinstance(content, dict) or content.get("type") != MSG_STATIC_PNG:
            return False
        request_id, encoded = content.get("id"), content.get("png")
        if type(request_id) is not int or not isinstance(encoded, str):
            return False
        try:
            png = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            return False
        if not png.startswith(PNG_MAGIC):
            return False
        request = self._take(request_id)
        if request is None:
            return False  # late, a duplicate, or another plot's
        _Views.answered = True
        self._publish_quietly(request.source, request.described, png=png)
        return True

    def _take(self, request_id: int | None) -> _Request | None:
        """The pending request (with this id, unless None), no longer pending."""
        with self._lock:
            request = self._pending
            if request is None or (request_id is not None and request.id != request_id):
                return None
            self._pending = None
            timer, request.timer = request.timer, None
        if timer is not None:
            timer.cancel()
        self._rearm.unregister()
        self._unwatch_cells()
        return request

    def _arm(self, request: _Request) -> None:
        """Starts the timer of ``request``, or, while a cell runs, when it ends."""
        shell = current_shell()
        if shell is not None and cell_watcher().running:
            self._rearm.register(shell)
            return
        timer = threading.Timer(self.answer_timeout, self._no_answer, args=(request,))
        timer.name, timer.daemon = "widget-callbacks-static-copy", True
        with self._lock:
            if self._pending is not request:
                return
            request.timer = timer
        self._watch_cells(shell)
        timer.start()

    def _watch_cells(self, shell: Any) -> None:
        if shell is None or self._stop_watching is not None:
            return
        self._stop_watching = cell_watcher().on_cell_start(self._cell_started, shell)

    def _unwatch_cells(self) -> None:
        stop, self._stop_watching = self._stop_watching, None
        if stop is not None:
            stop()

    def _cell_started(self, info: Any = None) -> None:
        """A cell starts while a request waits: its timer stops until the cell ends."""
        with self._lock:
            request = self._pending
            timer = request.timer if request is not None else None
            if request is not None:
                request.timer = None
        if timer is not None:
            timer.cancel()
        if request is not None:
            self._rearm.register(current_shell())

    def _cell_ended_while_waiting(self, result: Any = None) -> None:
        self._rearm.unregister()
        with self._lock:
            request = self._pending
        if request is not None:
            self._arm(request)

    def _no_answer(self, request: _Request) -> None:
        """No view answered in time (the timer's thread): kaleido makes the PNG, once."""
        with self._lock:
            if self._pending is not request or request.timer is None:
                return  # answered, replaced, or a cell started meanwhile
        if self._take(request.id) is None:
            return
        self._publish_quietly(request.source, request.described)

    def _publish_quietly(self, source: Any, described: dict[str, Any], *, png: bytes | None = None) -> None:
        try:
            self._publish(source, described, png=png)
        except Exception as err:  # the static copy must never fail anything
            warnings.warn(
                f"The static copy of the plot was not updated: {err!r}", RuntimeWarning, stacklevel=2
            )

    def _png(self, figure: go.Figure) -> bytes | None:
        try:
            return images.render(figure, "png", width=FALLBACK_WIDTH, scale=FALLBACK_SCALE)
        except Exception as err:  # a missing image must not break a fit
            if not _Warnings.png_given:
                _Warnings.png_given = True
                other = (
                    "only HTML"
                    if "html" in self.formats
                    else "none: pass static_fallback='html' for an HTML copy"
                )
                warnings.warn(
                    f"The static copy of the plot kept in the notebook has no PNG ({other}), "
                    f"because the image could not be made: {err}",
                    RuntimeWarning,
                    stacklevel=2,
                )
            return None


def _png_html(encoded: str, summary: dict[str, Any] | None) -> str:
    """The static PNG (base64) as an ``<img>``, with the summary table under it."""
    image = (
        '<img alt="Training curves (static image)" '
        f'width="{FALLBACK_WIDTH}" style="max-width:100%;height:auto" src="data:image/png;base64,{encoded}">'
    )
    return f'<div class="widget-callbacks-static">{image}{summary_html(summary) if summary else ""}</div>'
