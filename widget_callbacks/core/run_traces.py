"""The traces of runs side by side, as plotly trace dicts: an earlier run's faint epoch
curves, a label's mean and band, and the current run's legend group. ``runs.py`` says
how they look; `PlotState` (``figure.py``) holds them before the current run's traces
and makes each epoch curve (``new_trace``), so that an earlier run's curve is the
current run's curve restyled.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from typing import Any

from .history import RunHistory, elapsed_seconds
from .protocol import PALETTE
from .runs import BAND_OPACITY, RunInfo, aggregate, mean_times, past_style, run_group

#: Makes the epoch curve of a metric: ``(name, x, y, extra arrays) -> trace``.
NewTrace = Callable[[str, list[Any], list[Any], dict[str, list[Any]]], dict[str, Any]]

TRAIN_COLOR = PALETTE["train"]
VALIDATION_COLOR = PALETTE["validation"]


def _text(value: str) -> str:
    return html.escape(value, quote=False)


def rgba(color: str, alpha: float) -> str:
    """A ``#rrggbb`` colour with an alpha, as plotly's ``rgba(...)``.

    >>> rgba("#ff8000", 0.5)
    'rgba(255,128,0,0.5)'
    """
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def current_style(trace: dict[str, Any], *, number: int, title: str | None, hidden: bool) -> None:
    """The current run's legend group, in place: run ``number``'s (``title``, its
    label, over the group) when runs are shown (``title`` given), else
    train/validation as for a single run; ``hidden``: a legend entry only."""
    meta = trace.get("meta") or {}
    if title is not None:
        trace["legendgroup"] = run_group(number)
        trace["legendgrouptitle"] = {"text": title}
    else:
        trace.pop("legendgrouptitle", None)
        role = meta.get("role")
        if role == "metric":
            trace["legendgroup"] = "validation" if str(meta.get("metric", "")).startswith("val_") else "train"
        elif role == "batch":
            trace["legendgroup"] = "train"
        else:
            trace.pop("legendgroup", None)
    if hidden:
        trace["visible"] = "legendonly"
    else:
        trace.pop("visible", None)


def past_run_traces(
    info: RunInfo,
    history: RunHistory,
    names: Sequence[str],
    *,
    label: str,
    best: bool,
    new_trace: NewTrace,
) -> list[dict[str, Any]]:
    """An earlier run's epoch curves of ``names`` (in panel order), faint
    (``runs.past_style``), with one legend entry, ``label`` (escaped), for the run.
    NaN and inf are gaps; a metric with no value is left out."""
    style = past_style(info.number, best=best)
    times = [elapsed_seconds(t) for t in history.times] if len(history.times) == len(history.epochs) else []
    traces: list[dict[str, Any]] = []
    for name in names:
        column = history.metrics.get(name, [])
        y = [v if v is not None and math.isfinite(v) else None for v in column]
        if all(v is None for v in y):
            continue
        trace = new_trace(name, list(history.epochs), y, {"customdata": times} if times else {})
        first = not traces
        trace.update(
            name=label if first else trace["name"],
            opacity=style["opacity"],
            line={**trace["line"], **style["line"]},
            marker={**trace["marker"], **style["marker"]},
            legendgroup=run_group(info.number),
            showlegend=first,
            hovertemplate=f"{label}: {_text(name)}<br>epoch %{{x}}: %{{y:.4g}}<extra></extra>",
            uid=f"r{info.number}-p{len(traces)}",
        )
        trace["meta"]["run"] = info.number
        if info.hidden:
            trace["visible"] = "legendonly"
        traces.append(trace)
    return traces


def aggregate_traces(
    index: int,
    label: str,
    numbers: list[int],
    runs: Sequence[RunHistory],
    names: Sequence[str],
    *,
    kind: str,
    new_trace: NewTrace,
) -> list[dict[str, Any]]:
    """The runs ``numbers`` of ``label`` (escaped; their histories ``runs``): per
    metric of ``names``, a band (the lower bound, then the upper one filled down to
    it: plotly's ``tonexty``) and the mean (``runs.aggregate``), one legend entry
    for the group."""
    group = f"aggregate-{index}"
    spread = "min to max" if kind == "minmax" else "mean \u00b1 std"
    traces: list[dict[str, Any]] = []
    for name in names:
        having = [h for h in runs if name in h.metrics]
        result = aggregate([(h.epochs, h.column(name)) for h in having], kind)
        if all(v is None for v in result.mean):
            continue
        times = mean_times([(h.epochs, h.times) for h in having], result.epochs)
        mean = new_trace(name, list(result.epochs), list(result.mean), {"customdata": times})
        color = VALIDATION_COLOR if name.startswith("val_") else TRAIN_COLOR
        uid = f"a{index}-{len(traces) // 3}"
        band = {
            "type": "scatter",
            "mode": "lines",
            "x": list(result.epochs),
            "xaxis": mean["xaxis"],
            "yaxis": mean["yaxis"],
            "line": {"color": color, "width": 0},
            "showlegend": False,
            "legendgroup": group,
            "hoverinfo": "skip",
            "meta": {"role": "band", "metric": name, "run": list(numbers), "decimate": False},
        }
        lower = {**band, "y": list(result.lower), "uid": f"{uid}-lo"}
        upper = {**band, "y": list(result.upper), "fill": "tonexty", "fillcolor": rgba(color, BAND_OPACITY)}
        upper["uid"] = f"{uid}-hi"
        first = not traces
        mean.update(
            name=f"{label} (mean of {len(numbers)})" if first else mean["name"],
            mode="lines",
            line={**mean["line"], "width": 2},
            opacity=0.9,
            legendgroup=group,
            showlegend=first,
            text=[
                "" if lo is None or hi is None else f"{count} runs, {spread}: {lo:.4g} to {hi:.4g}"
                for lo, hi, count in zip(result.lower, result.upper, result.count)
            ],
            hovertemplate=f"{label}: mean {_text(name)}<br>epoch %{{x}}: %{{y:.4g}}<br>%{{text}}<extra></extra>",
            uid=f"{uid}-mean",
        )
        mean["meta"].update(run=list(numbers), aggregate=kind)
        traces.extend([lower, upper, mean])
    return traces
