"""The figure to export: ``PlotState.figure()`` (what the live view draws, marks
included) as a plotly Figure. Nothing here draws a second time."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from ..core.figure import PlotState

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


def figure_dict(source: Any) -> dict[str, Any]:
    """A deep copy of ``PlotState.figure()``, taken under the state's lock (a fit may be
    appending points on another thread)."""
    state = plot_state(source)
    with state.lock:
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
