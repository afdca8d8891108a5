"""Static renderings of a plot: images through kaleido, and the static fallback that
a saved notebook keeps where the widget cannot be shown.

Everything starts from `figure_of`: ``PlotState.figure()`` (the description the live
view draws) as a `plotly.graph_objects.Figure`.

Images: kaleido drives a Chromium-based browser. One browser is kept for the session:
kaleido's sync server is started lazily at the first image and reused. Its thread dies
if the browser cannot start, and a call would then wait forever, so each call is
watched (`_call_server`).

The static fallback: `LivePlot` displays itself with ``display(bundle, raw=True,
display_id=...)``; when a fit ends, ``update_display`` adds ``text/html`` (the figure
with plotly.js inlined, `export.figure_html`) and ``image/png`` to that output. Front
ends that render widgets prefer the widget-view mimetype; nbconvert skips it when the
notebook has no widget state and takes the next one in its priority list, text/html.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import os
import queue
import shutil
import threading
import time
import uuid
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._cell_hook import CellEndHook
from ._core.figure import PlotState

if TYPE_CHECKING:
    import plotly.graph_objects as go

IMAGE_FORMATS: tuple[str, ...] = ("png", "svg", "pdf")
FALLBACK_FORMATS: tuple[str, ...] = ("html", "png")
WIDGET_VIEW_MIMETYPE = "application/vnd.jupyter.widget-view+json"

#: Image size when neither the call nor the layout gives one (layout pixels).
DEFAULT_WIDTH = 900
DEFAULT_HEIGHT = 500
#: The fallback PNG: drawn at twice its displayed size, shown 900 px wide.
FALLBACK_WIDTH = 900
FALLBACK_SCALE = 2
#: A call to kaleido's browser taking longer than this is given up.
EXPORT_TIMEOUT = 120.0

_BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
_server_lock = threading.Lock()
_late_call: threading.Thread | None = None
_png_warning_given = False


class ChromiumNotFoundError(RuntimeError):
    """No Chromium-based browser for kaleido: PNG, SVG and PDF export need one."""


# -- the figure ----------------------------------------------------------------


def plot_state(source: Any) -> PlotState:
    """The `PlotState` of a `LivePlot` (or ``source`` itself when it is one)."""
    if isinstance(source, PlotState):
        return source
    state = getattr(source, "state", None)
    if isinstance(state, PlotState):
        return state
    raise TypeError(
        "Expected a LivePlot (or its PlotState). "
        f"Received: {source!r} of type {type(source).__name__}"
    )


def locked(source: Any) -> Any:
    """The plot's lock (a fit may be appending points on another thread), if it has one."""
    lock = getattr(source, "_lock", None)
    return lock if lock is not None else contextlib.nullcontext()


def figure_dict(source: Any) -> dict[str, Any]:
    """A deep copy of ``PlotState.figure()``, taken under the plot's lock."""
    state = plot_state(source)
    with locked(source):
        return copy.deepcopy(state.figure())


def figure_of(source: Any, described: dict[str, Any] | None = None) -> go.Figure:
    """``PlotState.figure()`` (or ``described``, a `figure_dict` of it) as a plotly
    Figure with the empty ``"none"`` template, so that plotly.py's default template does
    not restyle what the layout already sets."""
    import plotly.graph_objects as go

    described = figure_dict(source) if described is None else copy.deepcopy(described)
    figure = go.Figure(described)
    figure.update_layout(template="none")
    return figure


# -- images (kaleido) ----------------------------------------------------------


def find_chromium() -> str | None:
    """The browser kaleido would use: ``BROWSER_PATH``, else one found on PATH (or
    kaleido's own download). ``None`` when there is none."""
    explicit = os.environ.get("BROWSER_PATH")
    if explicit:
        return explicit if os.path.isfile(explicit) and os.access(explicit, os.X_OK) else None
    try:
        from choreographer.browsers.chromium import Chromium

        return Chromium.find_browser(skip_local=False)
    except Exception:  # noqa: BLE001 - private layout of a dependency: fall back to PATH
        return next((p for p in map(shutil.which, _BROWSER_NAMES) if p), None)


def _missing_chromium_error() -> ChromiumNotFoundError:
    explicit = os.environ.get("BROWSER_PATH")
    where = (
        f"BROWSER_PATH={explicit!r} is not an executable file"
        if explicit
        else f"none of {', '.join(_BROWSER_NAMES)} is on PATH"
    )
    return ChromiumNotFoundError(
        "PNG, SVG and PDF export need a Chromium-based browser, which kaleido drives; "
        f"{where}. Install one (Debian/Ubuntu: `apt-get install chromium`) or set the "
        "BROWSER_PATH environment variable to a Chrome/Chromium executable. "
        "Export to .html or .json needs no browser."
    )


def _import_kaleido() -> Any:
    try:
        import kaleido
    except ImportError as err:
        raise ImportError(
            "kaleido is required to export PNG, SVG or PDF images. Install it with "
            "`pip install kaleido` (or `pip install widget-callbacks[export]`). "
            "Export to .html or .json needs no kaleido."
        ) from err
    return kaleido


def render_image(
    figure: go.Figure,
    format: str,
    *,
    width: float | None = None,
    height: float | None = None,
    scale: float | None = None,
) -> bytes:
    """The figure as PNG, SVG or PDF bytes, drawn by kaleido in the session's browser."""
    if format not in IMAGE_FORMATS:
        raise ValueError(f"format must be one of {IMAGE_FORMATS}. Received: format={format!r}")
    kaleido = _import_kaleido()
    if find_chromium() is None:
        raise _missing_chromium_error()
    width = width or figure.layout.width or DEFAULT_WIDTH
    height = height or figure.layout.height or DEFAULT_HEIGHT
    options = {"format": format, "width": width, "height": height, "scale": scale or 1}
    data = _call_server(kaleido, figure.to_dict(), options)
    return data if isinstance(data, bytes) else str(data).encode("utf-8")


def _call_server(kaleido: Any, fig: dict[str, Any], options: dict[str, Any]) -> Any:
    """``kaleido.calc_fig_sync`` on the session's sync server (started here once),
    watched: if the server's thread has died (its browser did not start), the call
    would block forever; it is abandoned with an error instead."""
    from kaleido.errors import ChromeNotFoundError

    global _late_call
    with _server_lock:
        if _late_call is not None and _late_call.is_alive():
            # Its result is still due from the server's one return queue: a new call
            # could be handed the old image.
            raise TimeoutError("kaleido is still busy with an export that timed out.")
        kaleido.start_sync_server(mathjax=False, silence_warnings=True)
        server = getattr(kaleido, "_global_server", None)
        results: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)

        def run() -> None:
            try:
                results.put((True, kaleido.calc_fig_sync(fig, opts=options)))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                results.put((False, exc))

        call = threading.Thread(target=run, name="widget-callbacks-export", daemon=True)
        call.start()
        deadline = time.monotonic() + EXPORT_TIMEOUT
        while True:
            try:
                ok, value = results.get(timeout=0.05)
                break
            except queue.Empty:
                pass
            thread = getattr(server, "_thread", None)
            if thread is not None and not thread.is_alive():
                kaleido.stop_sync_server(silence_warnings=True)
                raise RuntimeError(
                    f"kaleido's browser ({find_chromium()}) stopped right after starting, "
                    "so no image was made; its error is printed above (stderr). "
                    "Export to .html or .json needs no browser."
                )
            if time.monotonic() > deadline:
                _late_call = call
                raise TimeoutError(
                    f"kaleido did not return an image within {EXPORT_TIMEOUT:.0f} s."
                )
    if ok:
        return value
    if isinstance(value, ChromeNotFoundError):
        raise _missing_chromium_error() from value
    raise value


_warm_up: threading.Thread | None = None
_warm_up_lock = threading.Lock()  # not _server_lock: a fit must not wait for an export


def warm_up_images() -> None:
    """Starts kaleido's browser in the background, once per process.

    The first image of a session waits for Chromium to start and load plotly.js
    (about 5 s here; later images about 0.5 s). A plot that will add a PNG to its
    output when its fit ends calls this when the fit begins, so that the start
    overlaps training instead of keeping the cell busy after it. Failures are left
    to the real export, which reports them.
    """
    global _warm_up
    with _warm_up_lock:
        if _warm_up is not None:
            return
        _warm_up = threading.Thread(target=_warm_up_quietly, name="widget-callbacks-warm-up", daemon=True)
    _warm_up.start()


def _warm_up_quietly() -> None:
    try:
        if find_chromium() is None:
            return
        import plotly.graph_objects as go

        render_image(go.Figure(), "png", width=16, height=16)
    except Exception:  # noqa: BLE001, S110 - the real export reports what is wrong
        pass


# -- the static fallback in notebooks --------------------------------------------


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


class _Cells:
    """Whether a cell is executing (IPython's pre/post_run_cell), from any thread."""

    running = False
    _shell: Any = None

    @classmethod
    def watch(cls, shell: Any) -> None:
        if shell is None or cls._shell is shell:
            return
        cls._shell = shell
        # Displays come from cells, so a first display on the main thread is in one.
        cls.running = threading.current_thread() is threading.main_thread()
        shell.events.register("pre_run_cell", cls._pre)
        shell.events.register("post_run_cell", cls._post)

    @classmethod
    def _pre(cls, info: Any = None) -> None:
        cls.running = True

    @classmethod
    def _post(cls, result: Any = None) -> None:
        cls.running = False


def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return shell if shell is not None and hasattr(shell, "events") else None


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
        self._cache: tuple[dict[str, Any], dict[str, Any], dict[str, Any]] | None = None

    def display(self, widget: Any, source: Any) -> None:
        """``display`` the widget's mimebundle under a display id (the same one each
        time for the same widget); after a fit, with the static copy of ``source``."""
        from IPython.display import display

        _Cells.watch(_shell())
        display_id = next((i for i, w in self._displays.items() if w is widget), None)
        display_id = display_id or f"widget-callbacks-{uuid.uuid4().hex}"
        self._displays[display_id] = widget
        data, metadata = self._bundle(widget, source, static=self.final)
        display(data, raw=True, metadata=metadata, display_id=display_id)

    def fit_started(self) -> None:
        """A fit begins: if its end will add a PNG to a displayed output, start the
        image browser now (`warm_up_images`)."""
        if "png" in self.formats and self._displays:
            warm_up_images()

    def fit_ended(self, source: Any) -> None:
        """Refreshes the static copy in every output shown; while a cell runs, once it
        has finished, so that marks published after the plot's ``on_train_end``
        (restored weights) are in it."""
        self.final = True
        if not self.formats or not self._displays:
            return
        shell = _shell()
        if shell is None or not _Cells.running:
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
        except Exception as err:  # noqa: BLE001 - the static copy must never fail a fit
            warnings.warn(f"The static copy of the plot was not updated: {err!r}",
                          RuntimeWarning, stacklevel=2)

    def refresh(self, source: Any) -> None:
        """``update_display`` of every output shown, static copy included."""
        from IPython.display import update_display

        for display_id, widget in list(self._displays.items()):
            data, metadata = self._bundle(widget, source, static=True)
            update_display(data, raw=True, metadata=metadata, display_id=display_id)

    def _bundle(
        self, widget: Any, source: Any, *, static: bool
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        bundle = widget._repr_mimebundle_()
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
        data, metadata = dict(data or {}), dict(metadata or {})
        if static and self.formats:
            extra_data, extra_metadata = self.render(source)
            data.update(extra_data)
            metadata.update(extra_metadata)
        return data, metadata

    def render(self, source: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """The static mimetypes for ``source``'s current figure (cached per figure)."""
        described = figure_dict(source)
        if self._cache is not None and self._cache[0] == described:
            return self._cache[1], self._cache[2]
        figure = figure_of(source, described)
        data: dict[str, Any] = {}
        metadata: dict[str, Any] = {}
        png = self._png(figure) if "png" in self.formats else None
        if png is not None:
            height = figure.layout.height or DEFAULT_HEIGHT
            data["image/png"] = base64.b64encode(png).decode("ascii")
            metadata["image/png"] = {"width": FALLBACK_WIDTH, "height": height}
        if "html" in self.formats:
            from .export import figure_html

            data["text/html"] = figure_html(figure, full_html=False, png=png)
        self._cache = (described, data, metadata)
        return data, metadata

    def _png(self, figure: go.Figure) -> bytes | None:
        global _png_warning_given
        try:
            return render_image(figure, "png", width=FALLBACK_WIDTH, scale=FALLBACK_SCALE)
        except Exception as err:  # noqa: BLE001 - a missing image must not break a fit
            if not _png_warning_given:
                _png_warning_given = True
                other = ("only HTML" if "html" in self.formats else
                         "none: pass static_fallback='html' for an HTML copy")
                warnings.warn(
                    f"The static copy of the plot kept in the notebook has no PNG ({other}), "
                    f"because the image could not be made: {err}",
                    RuntimeWarning,
                    stacklevel=2,
                )
            return None

