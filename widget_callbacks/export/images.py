"""Images of a figure (PNG, SVG, PDF) through kaleido.

kaleido drives a Chromium-based browser. One browser is kept for the session: the
`ImageSession` starts kaleido's sync server at the first image asked for (never during
a fit: the static copy in the notebook is drawn by the page that shows the plot) and
reuses it. The server's thread dies if the browser cannot start, and a call would then
wait forever, so each call is watched.
"""

from __future__ import annotations

import os
import queue
import shutil
import threading
import time
from typing import TYPE_CHECKING, Any

from .._compat import kaleido as compat
from ..core.protocol import DEFAULT_HEIGHT, IMAGE_WIDTH

if TYPE_CHECKING:
    import plotly.graph_objects as go

IMAGE_FORMATS: tuple[str, ...] = ("png", "svg", "pdf")

#: Image size when neither the call nor the layout gives one (layout pixels).
DEFAULT_WIDTH = IMAGE_WIDTH
#: A call to kaleido's browser taking longer than this is given up (seconds).
EXPORT_TIMEOUT = 120.0

_BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


class ChromiumNotFoundError(RuntimeError):
    """No Chromium-based browser for kaleido: PNG, SVG and PDF export need one."""


# -- images (kaleido) ----------------------------------------------------------


def find_chromium() -> str | None:
    """The browser kaleido would use: ``BROWSER_PATH``, else one found on PATH (or
    kaleido's own download). ``None`` when there is none."""
    explicit = os.environ.get("BROWSER_PATH")
    if explicit:
        return explicit if os.path.isfile(explicit) and os.access(explicit, os.X_OK) else None
    try:
        return compat.find_browser()
    except Exception:  # a private API of a dependency: fall back to PATH
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


class ImageSession:
    """kaleido's browser for this process: started once, watched, reused.

    Thread-safe: `render` waits for a running export.

    Example:

    >>> session = ImageSession()
    >>> session.render(None, "gif")
    Traceback (most recent call last):
    ...
    ValueError: format must be one of ('png', 'svg', 'pdf'). Received: format='gif'
    """

    def __init__(self) -> None:
        self.timeout = EXPORT_TIMEOUT
        self._server_lock = threading.Lock()
        self._late_call: threading.Thread | None = None  # a call that timed out

    def render(
        self,
        figure: go.Figure,
        format: str,
        *,
        width: float | None = None,
        height: float | None = None,
        scale: float | None = None,
    ) -> bytes:
        """The figure as PNG, SVG or PDF bytes (sizes in layout pixels).

        Raises:
            ValueError: an unknown format.
            ImportError: kaleido is missing.
            ChromiumNotFoundError: no Chromium-based browser.
            TimeoutError: the browser took longer than `EXPORT_TIMEOUT`.
        """
        if format not in IMAGE_FORMATS:
            raise ValueError(f"format must be one of {IMAGE_FORMATS}. Received: format={format!r}")
        kaleido = _import_kaleido()
        if find_chromium() is None:
            raise _missing_chromium_error()
        width = width or figure.layout.width or DEFAULT_WIDTH
        height = height or figure.layout.height or DEFAULT_HEIGHT
        options = {"format": format, "width": width, "height": height, "scale": scale or 1}
        data = self._call_server(kaleido, figure.to_dict(), options)
        return data if isinstance(data, bytes) else str(data).encode("utf-8")

    def _call_server(self, kaleido: Any, fig: dict[str, Any], options: dict[str, Any]) -> Any:
        """``kaleido.calc_fig_sync`` on the session's sync server (started here once),
        watched: if the server's thread has died (its browser did not start), the call
        would block forever; it is abandoned with an error instead."""
        from kaleido.errors import ChromeNotFoundError

        with self._server_lock:
            if self._late_call is not None and self._late_call.is_alive():
                # Its result is still due from the server's one return queue: a new call
                # could be handed the old image.
                raise TimeoutError("kaleido is still busy with an export that timed out.")
            kaleido.start_sync_server(mathjax=False, silence_warnings=True)
            results: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)

            def run() -> None:
                try:
                    results.put((True, kaleido.calc_fig_sync(fig, opts=options)))
                except BaseException as exc:  # handed to the caller
                    results.put((False, exc))

            call = threading.Thread(target=run, name="widget-callbacks-export", daemon=True)
            call.start()
            deadline = time.monotonic() + self.timeout
            while True:
                try:
                    ok, value = results.get(timeout=0.05)
                    break
                except queue.Empty:
                    pass
                thread = compat.server_thread(kaleido)
                if thread is not None and not thread.is_alive():
                    kaleido.stop_sync_server(silence_warnings=True)
                    raise RuntimeError(
                        f"kaleido's browser ({find_chromium()}) stopped right after starting, "
                        "so no image was made; its error is printed above (stderr). "
                        "Export to .html or .json needs no browser."
                    )
                if time.monotonic() > deadline:
                    self._late_call = call
                    raise TimeoutError(f"kaleido did not return an image within {self.timeout:.0f} s.")
        if ok:
            return value
        if isinstance(value, ChromeNotFoundError):
            raise _missing_chromium_error() from value
        raise value


#: The process's image session.
images = ImageSession()
