"""The layout: one panel per metric family, and the early-stopping marks on it.

Pure functions of the panels, a `StoppingSnapshot` and the history; the size of what
they return does not grow with the number of epochs.
"""

from __future__ import annotations

import html
import math
from typing import Any

from .history import RunHistory, metric_family, short_name
from .outcome import STOP_COMPLETED, describe_outcome, end_epoch, monitor_note
from .protocol import PALETTE, SIZES
from .records import StoppingSnapshot

BEST_COLOR = PALETTE["best"]
STOP_COLOR = PALETTE["stop"]
PAUSED_COLOR = PALETTE["paused"]
GRID_COLOR = PALETTE["grid"]
ROW_HEIGHT = SIZES["row_height"]
HEADER_HEIGHT = SIZES["header_height"]


def _text(value: object) -> str:
    return html.escape(str(value), quote=False)


def axis_names(panel: int) -> tuple[str, str]:
    """Trace axis references of a panel: ``("x", "y")``, ``("x2", "y2")``, ..."""
    suffix = "" if panel == 0 else str(panel + 1)
    return f"x{suffix}", f"y{suffix}"


def _grid(count: int) -> tuple[int, int]:
    columns = 1 if count == 1 else 2
    return math.ceil(count / columns), columns


#: Up to this many epochs, the epoch axes tick every epoch (plotly would tick 0.2 ... 1
#: for one epoch); beyond, plotly's own ticks fall on whole numbers.
WHOLE_TICK_EPOCHS = 10


def build_layout(
    panels: list[str], stopping: StoppingSnapshot | None, *, run: int = 0, epochs: int = 0
) -> dict[str, Any]:
    """A full plotly layout for ``panels`` (metric families) with the marks of ``stopping``;
    ``epochs`` (the last epoch drawn) picks whole-number epoch ticks for short runs."""
    rows, columns = _grid(len(panels))
    hgap, vgap = 0.1, (0.16 / rows if rows > 1 else 0.0)
    width = (1 - hgap * (columns - 1)) / columns
    height = (1 - vgap * (rows - 1)) / rows
    layout: dict[str, Any] = {
        "height": HEADER_HEIGHT + ROW_HEIGHT * rows,
        "margin": {"t": 60, "b": 45, "l": 65, "r": 20},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "font": {"family": "Helvetica, Arial, sans-serif", "size": 12},
        "legend": {"orientation": "h", "x": 0, "xanchor": "left", "y": 1, "yanchor": "bottom"},
        "hovermode": "closest",
        "uirevision": f"run-{run}",
        "shapes": [],
        "annotations": [],
    }
    for index, family in enumerate(panels):
        row, column = divmod(index, columns)
        x0 = column * (width + hgap)
        top = 1 - row * (height + vgap)
        xname, yname = axis_names(index)
        suffix = xname[1:]
        layout[f"xaxis{suffix}"] = {
            "domain": [x0, x0 + width],
            "anchor": yname,
            "title": {"text": "epoch"},
            "gridcolor": GRID_COLOR,
            "zeroline": False,
            "rangemode": "normal",
            **({"tick0": 0, "dtick": 1} if epochs <= WHOLE_TICK_EPOCHS else {}),
        }
        layout[f"yaxis{suffix}"] = {
            "domain": [max(top - height, 0), top],
            "anchor": xname,
            "title": {"text": _text(short_name(family))},
            "gridcolor": GRID_COLOR,
            "zeroline": False,
        }
    if stopping is not None:
        panel = _monitor_panel(panels, stopping.monitor)
        shapes, annotations = _stopping_marks(stopping, *axis_names(panel))
        layout["shapes"] = shapes
        layout["annotations"] = annotations
    return layout


def _monitor_panel(panels: list[str], monitor: str) -> int:
    family = metric_family(monitor)
    return panels.index(family) if family in panels else 0


def _domain_rect(x: str, y: str, x0: float, x1: float, color: str, opacity: float) -> dict[str, Any]:
    return {
        "type": "rect",
        "xref": x,
        "yref": f"{y} domain",
        "x0": x0,
        "x1": x1,
        "y0": 0,
        "y1": 1,
        "fillcolor": color,
        "opacity": opacity,
        "line": {"width": 0},
        "layer": "below",
    }


def _domain_vline(x: str, y: str, at: float, color: str, dash: str) -> dict[str, Any]:
    return {
        "type": "line",
        "xref": x,
        "yref": f"{y} domain",
        "x0": at,
        "x1": at,
        "y0": 0,
        "y1": 1,
        "line": {"color": color, "width": 1.5, "dash": dash},
    }


def _label(
    x: str, y: str, at: float, text: str, color: str, top: float = 1.0, anchor: str = "center"
) -> dict[str, Any]:
    # plotly widens the x autorange to fit annotations: the stop label is right-anchored
    # at the last epoch so that it does not stretch the axis past the run.
    return {
        "xref": x,
        "yref": f"{y} domain",
        "x": at,
        "y": top,
        "yanchor": "top",
        "xanchor": anchor,
        "text": text,
        "showarrow": False,
        "font": {"size": 11, "color": color},
        "bgcolor": "rgba(255,255,255,0.75)",
    }


def _band(stopping: StoppingSnapshot, best: int) -> tuple[float, str]:
    """The patience band's right edge and its words, from the rule's state.

    While training, the edge is the epoch at whose end training stops if no later
    epoch improves (``stop_at``: it follows ``wait``, ``patience``, ``baseline`` and the
    epochs not counted), and "k epochs left" counts down to it. Paused, the stop
    cannot be known: the band reaches the next epoch and says so. After the run, the
    band ends where the run ended.
    """
    last = end_epoch(stopping)
    if stopping.stop_reason is not None:
        end = last if last is not None else best
        if stopping.stop_at is not None:
            end = min(end, stopping.stop_at)
        return max(end, best), ""
    if stopping.paused or stopping.stop_at is None:
        return max(last or best, best) + 1, "auto-stop paused"
    left = stopping.epochs_left or 0
    return stopping.stop_at, f"{left} epoch{'s' if left != 1 else ''} left"


def _stopping_marks(
    stopping: StoppingSnapshot, x: str, y: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    shapes: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    if stopping.start_from_epoch > 0:
        end = stopping.start_from_epoch + 0.5
        shapes.append(_domain_rect(x, y, 0.5, end, PAUSED_COLOR, 0.12))
        annotations.append(_label(x, y, (0.5 + end) / 2, "warm-up", PAUSED_COLOR, top=0.08))
    if stopping.best_epoch is not None:
        best = stopping.best_epoch
        shapes.append(_domain_vline(x, y, best, BEST_COLOR, "dot"))
        band_end, words = _band(stopping, best)
        running = stopping.stop_reason is None
        color = PAUSED_COLOR if stopping.paused else BEST_COLOR
        shapes.append(_domain_rect(x, y, best, band_end, color, 0.12 if running else 0.06))
        if words:
            annotations.append(_label(x, y, (best + band_end) / 2, words, color))
    note = monitor_note(stopping)
    if note and stopping.last_epoch:
        annotations.append(
            _label(x, y, stopping.last_epoch, _text(note), STOP_COLOR, top=0.78, anchor="right")
        )
    if stopping.last_value_non_finite and stopping.stop_reason is None:
        annotations.append(
            _label(
                x,
                y,
                stopping.last_epoch or 1,
                f"{_text(stopping.monitor)} is NaN/inf: no improvement",
                STOP_COLOR,
                top=0.9,
            )
        )
    at = end_epoch(stopping)
    if stopping.stop_reason is not None and at is not None:
        completed = stopping.stop_reason == STOP_COMPLETED
        color = PAUSED_COLOR if completed else STOP_COLOR
        shapes.append(_domain_vline(x, y, at, color, "solid"))
        annotations.append(_label(x, y, at, stop_description(stopping), color, top=0.85, anchor="right"))
    return shapes, annotations


def stop_description(stopping: StoppingSnapshot) -> str:
    """`outcome.describe_outcome` as plotly text: escaped, one line per ``<br>``."""
    return "<br>".join(_text(line) for line in describe_outcome(stopping))


def build_overlays(
    panels: list[str], stopping: StoppingSnapshot | None, history: RunHistory
) -> list[dict[str, Any]]:
    """The best-epoch and stop markers: at most two one-point traces."""
    if stopping is None or not panels:
        return []
    x, y = axis_names(_monitor_panel(panels, stopping.monitor))
    overlays: list[dict[str, Any]] = []
    monitor = _text(stopping.monitor)
    if stopping.best_epoch is not None and stopping.best is not None and math.isfinite(stopping.best):
        overlays.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "best",
                "showlegend": False,
                "x": [stopping.best_epoch],
                "y": [stopping.best],
                "xaxis": x,
                "yaxis": y,
                "text": [f"best {monitor} = {stopping.best:.4g} at epoch {stopping.best_epoch}"],
                "hovertemplate": "%{text}<extra></extra>",
                "marker": {
                    "symbol": "star",
                    "size": 15,
                    "color": BEST_COLOR,
                    "line": {"color": "white", "width": 1},
                },
                "meta": {"role": "best"},
            }
        )
    end = end_epoch(stopping)
    if stopping.stop_reason is not None and end is not None:
        value = history.value(stopping.monitor, end)
        if value is not None and math.isfinite(value):
            overlays.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "name": "stop",
                    "showlegend": False,
                    "x": [end],
                    "y": [value],
                    "xaxis": x,
                    "yaxis": y,
                    "text": [stop_description(stopping)],
                    "hovertemplate": "%{text}<extra></extra>",
                    "marker": {"symbol": "square-x-open", "size": 13, "color": STOP_COLOR},
                    "meta": {"role": "stop"},
                }
            )
    return overlays
