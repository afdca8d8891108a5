"""The figure to export: ``PlotState.shown_figure()`` (what the live view draws, marks
included, as its view settings show it: ``core/views.py``) as a plotly Figure.
Nothing here draws a second time."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from ..core.figure import PlotState
from ..core.views import EXPORT_THEMES

if TYPE_CHECKING:
    import plotly.graph_objects as go


def plot_state(source: Any) -> PlotState:
    """The `PlotState` of a `LivePlot` (its ``state``), or ``source`` itself when it is one.

    Raises:
        TypeError: ``source`` is neither.
    """
    if isinstance(source, PlotState):
        return source
    state = getattr(source, "state", None)
    if isinstance(state, PlotState):
        return state
    raise TypeError(
        f"Expected a LivePlot (or its PlotState). Received: {source!r} of type {type(source).__name__}"
    )


def check_theme(theme: Any) -> str:
    """``theme`` of an export, validated: ``"light"`` or ``"dark"``; ``"auto"`` (follow
    the page: a file has none) is light.

    Raises:
        ValueError: anything else.
    """
    if theme not in (*EXPORT_THEMES, "auto"):
        raise ValueError(f"Expected theme to be one of {(*EXPORT_THEMES, 'auto')}. Received: theme={theme!r}")
    return "light" if theme == "auto" else str(theme)


def figure_dict(source: Any, *, theme: str = "light") -> dict[str, Any]:
    """``PlotState.shown_figure(theme)`` (a new dict: the view applied), taken under
    the state's lock (a fit may be appending points on another thread)."""
    state = plot_state(source)
    with state.lock:
        return state.shown_figure(check_theme(theme))


def figure_of(source: Any, described: dict[str, Any] | None = None, *, theme: str = "light") -> go.Figure:
    """`figure_dict` (or ``described``, one made before) as a plotly Figure with the
    empty ``"none"`` template (``"plotly_dark"`` for the dark theme), so that plotly.py's
    default template does not restyle what the layout already sets."""
    import plotly.graph_objects as go

    described = figure_dict(source, theme=theme) if described is None else copy.deepcopy(described)
    for trace in described.get("data") or []:
        trace.pop("uid", None)  # the page's key of what its legend hid; plotly.py's JSON drops it
    figure = go.Figure(described)
    dark = (described.get("layout", {}).get("meta") or {}).get("theme") == "dark"
    figure.update_layout(template="plotly_dark" if dark else "none")
    return figure
