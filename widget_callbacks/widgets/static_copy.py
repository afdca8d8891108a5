"""The static copy of a plot that a saved notebook keeps where widgets cannot be shown.

`LivePlot` displays itself with ``display(bundle, raw=True, display_id=...)``; when a
fit ends, ``update_display`` adds ``image/png`` (and, if asked, ``text/html``: the
figure with plotly.js inlined, `export.files.figure_html`) to that output. Front ends
that render widgets prefer the widget-view mimetype; nbconvert skips it when the
notebook has no widget state and takes the next one in its priority list.
"""

from __future__ import annotations

import base64
import uuid
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..core.protocol import DEFAULT_HEIGHT, IMAGE_WIDTH
from ..export.figure import figure_dict, figure_of
from ..export.files import figure_html
from ..export.images import images
from ..kernel.cells import CellEndHook, cell_watcher, current_shell

if TYPE_CHECKING:
    import plotly.graph_objects as go

FALLBACK_FORMATS: tuple[str, ...] = ("html", "png")
WIDGET_VIEW_MIMETYPE = "application/vnd.jupyter.widget-view+json"
#: The fallback PNG: drawn at twice its displayed size, shown `IMAGE_WIDTH` px wide.
FALLBACK_WIDTH = IMAGE_WIDTH
FALLBACK_SCALE = 2


class _Warnings:
    """A missing PNG is reported once per session."""

    png_given = False


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
        self._cache: tuple[dict[str, Any], dict[str, Any], dict[str, Any]] | None = None

    def display(self, widget: Any, source: Any) -> None:
        """``display`` the widget's mimebundle under a display id (the same one each
        time for the same widget); after a fit, with the static copy of ``source``."""
        from IPython.display import display

        cell_watcher().watch()
        display_id = next((i for i, w in self._displays.items() if w is widget), None)
        display_id = display_id or f"widget-callbacks-{uuid.uuid4().hex}"
        self._displays[display_id] = widget
        data, metadata = self._bundle(widget, source, static=self.final)
        display(data, raw=True, metadata=metadata, display_id=display_id)

    def fit_started(self) -> None:
        """A fit begins: if its end will add a PNG to a displayed output, start the
        image browser now (`warm_up_images`)."""
        if "png" in self.formats and self._displays:
            images.warm_up()

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
        """``update_display`` of every output shown, static copy included."""
        from IPython.display import update_display

        for display_id, widget in list(self._displays.items()):
            data, metadata = self._bundle(widget, source, static=True)
            update_display(data, raw=True, metadata=metadata, display_id=display_id)

    def _bundle(self, widget: Any, source: Any, *, static: bool) -> tuple[dict[str, Any], dict[str, Any]]:
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
            data["text/html"] = figure_html(figure, full_html=False, png=png)
        self._cache = (described, data, metadata)
        return data, metadata

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
