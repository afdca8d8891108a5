"""The view settings (smoothing, log y, x axis, robust y range, theme) applied to a
figure, in plain Python: exports draw what the page shows.

(Over 300 lines: the settings' validation with Keras-style messages, and one pure
transform per toolbar control, each mirrored by a front-end helper.)

The front end applies the same rules to the live view (``js/src/smoothing.js``,
``js/src/scales.js``); this module applies them to ``PlotState.figure()`` before
plotly builds an export. The rules, shared:

- Smoothing: TensorBoard's exponential moving average with debiasing
  (``classicSmoothing`` in tensorflow/tensorboard,
  ``tensorboard/webapp/widgets/line_chart_v2/data_transformer.ts``):
  ``last = last * w + (1 - w) * v`` from ``last = 0``, and each point is
  ``last / (1 - w ** n)`` with ``n`` counting the finite values so far; a gap stays a
  gap and is not counted; a series whose values are all equal is left as it is
  (TensorBoard's issue 786). The raw curve stays, faint, behind the smoothed one.
  Only the ``metric`` and ``batch`` curves are smoothed, never the learning rate
  (families ``learning_rate``, ``lr``) nor the marks.
- Log y, per panel: values <= 0 have no logarithm and become gaps, with a note.
- x axis: ``epoch`` (as drawn), ``step`` (epoch x steps per epoch: the global
  batch), or ``time`` (seconds since the run started: each curve point's
  ``customdata``; marks at a fractional epoch are placed between the epochs' times).
  The marks (shapes, annotations, overlays) move with the axis.
- Robust y: the range leaves out the first 10% of the epochs (the first epoch
  from 3 epochs on) and the batch curves' 1% tails, padded by 5% (`robust_range`).
- Theme: ``light`` or ``dark`` colors of the layout (``auto`` is light in exports).
"""

from __future__ import annotations

import bisect
import copy
import math
import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

from .history import metric_family
from .marks import axis_names
from .protocol import PALETTE, PROTOCOL

#: ``view`` of a plot nobody has set one for (protocol.json ``view_defaults``).
VIEW_DEFAULTS: Final[dict[str, Any]] = PROTOCOL["view_defaults"]
X_AXES: Final[tuple[str, ...]] = tuple(PROTOCOL["x_axes"])
THEMES: Final[tuple[str, ...]] = tuple(PROTOCOL["themes"])
#: Themes an export is drawn in (``auto`` follows a page; a file has none).
EXPORT_THEMES: Final[tuple[str, ...]] = ("light", "dark")
DARK: Final[dict[str, str]] = PROTOCOL["dark_palette"]

SMOOTHING_MAX: Final = 0.99
UNSMOOTHED_FAMILIES: Final = ("learning_rate", "lr")
SMOOTHED_ROLES: Final = ("metric", "batch")
#: Share of the run's epochs at its start that the robust range leaves out.
ROBUST_SKIP: Final = 0.1
#: Quantiles of the batch values (noisy) the robust range spans.
ROBUST_QUANTILES: Final = (0.01, 0.99)
#: Padding on each side of the robust range, as a share of its span.
ROBUST_PAD: Final = 0.05
#: Opacity of the raw curve kept behind a smoothed one (of a batch curve: times its own).
RAW_OPACITY: Final = 0.25

_AXIS_REF = re.compile(r"^x(\d*)$")
_VIEW_KEYS: Final = tuple(VIEW_DEFAULTS)


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@dataclass(frozen=True)
class ViewSettings:
    """What the toolbar shows: the ``view`` trait of `LivePlot`, validated.

    Args:
        smoothing: weight of the exponential moving average, 0 (off) to 0.99.
            Defaults to 0.0.
        log_y: panels (metric families, e.g. ``"loss"``; ``"val_loss"`` names the
            same panel) drawn with a log y axis. Defaults to none.
        x_axis: ``"epoch"``, ``"step"`` (global batch) or ``"time"`` (seconds since
            the run started). Defaults to ``"epoch"``.
        robust_y: scale the y axes without the first epochs' spike and the batch
            curves' outliers. Defaults to False.
        theme: ``"auto"`` (follow the page), ``"light"`` or ``"dark"``. Defaults to
            ``"auto"``.

    Raises:
        TypeError: a value of the wrong type.
        ValueError: a value out of range, or not one of the names above.

    Example:

    >>> ViewSettings(smoothing=0.6, log_y=["loss"]).to_dict()
    {'smoothing': 0.6, 'log_y': ['loss'], 'x_axis': 'epoch', 'robust_y': False, 'theme': 'auto'}
    >>> ViewSettings(smoothing=1.5)
    Traceback (most recent call last):
    ...
    ValueError: Expected smoothing between 0 and 0.99. Received: smoothing=1.5
    """

    smoothing: float = float(VIEW_DEFAULTS["smoothing"])
    log_y: tuple[str, ...] = field(default=tuple(VIEW_DEFAULTS["log_y"]))
    x_axis: str = VIEW_DEFAULTS["x_axis"]
    robust_y: bool = VIEW_DEFAULTS["robust_y"]
    theme: str = VIEW_DEFAULTS["theme"]

    def __post_init__(self) -> None:
        smoothing = self.smoothing
        if not _is_number(smoothing):
            raise TypeError(
                f"Expected smoothing to be a number between 0 and {SMOOTHING_MAX}. "
                f"Received: smoothing={smoothing!r} of type {type(smoothing).__name__}"
            )
        if not 0 <= smoothing <= SMOOTHING_MAX:
            raise ValueError(
                f"Expected smoothing between 0 and {SMOOTHING_MAX}. Received: smoothing={smoothing!r}"
            )
        object.__setattr__(self, "smoothing", float(smoothing))
        log_y: Any = self.log_y
        if isinstance(log_y, str):
            log_y = (log_y,)
        if not isinstance(log_y, (list, tuple)) or not all(isinstance(n, str) for n in log_y):
            raise TypeError(
                "Expected log_y to be a list of panel names (metric families, e.g. ['loss']). "
                f"Received: log_y={self.log_y!r}"
            )
        object.__setattr__(self, "log_y", tuple(dict.fromkeys(log_y)))
        if self.x_axis not in X_AXES:
            raise ValueError(f"Expected x_axis to be one of {X_AXES}. Received: x_axis={self.x_axis!r}")
        if not isinstance(self.robust_y, bool):
            raise TypeError(f"Expected robust_y to be a bool. Received: robust_y={self.robust_y!r}")
        if self.theme not in THEMES:
            raise ValueError(f"Expected theme to be one of {THEMES}. Received: theme={self.theme!r}")

    @classmethod
    def from_dict(cls, value: Mapping[str, Any] | None) -> ViewSettings:
        """Settings from a ``view`` dict; missing keys take their defaults.

        Raises:
            TypeError: not a dict, or a value of the wrong type.
            ValueError: an unknown key or a bad value.
        """
        if value is None:
            return cls()
        if not isinstance(value, Mapping):
            raise TypeError(f"Expected view to be a dict. Received: view={value!r}")
        unknown = sorted(set(value) - set(_VIEW_KEYS))
        if unknown:
            raise ValueError(f"Expected view keys among {_VIEW_KEYS}. Received unknown keys: {unknown}")
        return cls(**{key: value[key] for key in _VIEW_KEYS if key in value})

    def to_dict(self) -> dict[str, Any]:
        """The ``view`` trait's value (JSON: ``log_y`` a list)."""
        return {
            "smoothing": self.smoothing,
            "log_y": list(self.log_y),
            "x_axis": self.x_axis,
            "robust_y": self.robust_y,
            "theme": self.theme,
        }

    def with_changes(self, **changes: Any) -> ViewSettings:
        """A copy with ``changes`` (validated)."""
        return replace(self, **changes)

    def is_log(self, panel: str) -> bool:
        """Whether ``panel`` (a metric family) has a log y axis."""
        return any(metric_family(name) == panel for name in self.log_y)


# -- the transforms (pure, one per control) ------------------------------------------


def _finite(value: object) -> bool:
    return _is_number(value) and math.isfinite(value)  # type: ignore[arg-type]


def ema(values: Sequence[float | None], weight: float) -> list[float | None]:
    """TensorBoard's smoothing (see the module docstring): an exponential moving
    average with debiasing; gaps (``None``, non-finite) stay gaps, a constant series
    is left as it is.

    >>> ema([1.0, 2.0, None, 3.0], 0.5)  # 0.5/0.5; 1.25/0.75; gap; 2.125/0.875
    [1.0, 1.6666666666666667, None, 2.4285714285714284]
    >>> ema([2.0, 2.0, 2.0], 0.9)
    [2.0, 2.0, 2.0]
    """
    out: list[float | None] = [float(v) if _finite(v) else None for v in values]  # type: ignore[arg-type]
    if not values or all(v == values[0] for v in values):
        return out
    last, count = 0.0, 0
    for index, value in enumerate(out):
        if value is None:
            continue
        last = last * weight + (1 - weight) * value
        count += 1
        out[index] = last / (1 - weight**count) if weight != 1 else last
    return out


def log_safe(values: Sequence[float | None]) -> tuple[list[float | None], int]:
    """What a log axis can draw: values <= 0 (and gaps) as gaps, and how many values
    <= 0 were hidden.

    >>> log_safe([1.0, 0.0, -2.0, None, 0.5])
    ([1.0, None, None, None, 0.5], 2)
    """
    out: list[float | None] = []
    hidden = 0
    for value in values:
        if not _finite(value):
            out.append(None)
        elif value is not None and value <= 0:
            out.append(None)
            hidden += 1
        else:
            out.append(value)
    return out, hidden


def log_note(hidden: int) -> str:
    """The note shown for hidden values (the front end's words), or ``""``.

    >>> log_note(1), log_note(1200), log_note(0)
    ('1 value <= 0 not shown on log scale', '1,200 values <= 0 not shown on log scale', '')
    """
    if hidden <= 0:
        return ""
    return f"{hidden:,} value{'' if hidden == 1 else 's'} <= 0 not shown on log scale"


def quantile(ordered: Sequence[float], q: float) -> float:
    """The ``q``-quantile of ascending numbers, linearly interpolated.

    >>> quantile([1.0, 2.0, 3.0, 4.0], 0.5), quantile([5.0], 0.99)
    (2.5, 5.0)
    """
    pos = (len(ordered) - 1) * min(1.0, max(0.0, q))
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def robust_range(
    series: Sequence[tuple[Sequence[Any], Sequence[Any], bool]], *, log: bool = False
) -> tuple[float, float] | None:
    """An outlier-robust y range for one panel, or ``None`` (no value: autorange).

    ``series`` holds ``(x, y, is_batch)`` per curve, x in epochs. With the last epoch
    ``E`` drawn, points at ``x <= ROBUST_SKIP * E`` are left out (from 10 epochs on;
    from 3 epochs on, the first epoch ``x <= 1``; else none). The range spans the epoch
    curves' remaining values whole and the `ROBUST_QUANTILES` of each batch curve,
    padded by `ROBUST_PAD` of the span; on a log axis all of it in log10 units (as
    plotly's ``range`` of a log axis is). The front end's ``robustRange`` is the same.

    >>> x = list(range(1, 21))
    >>> robust_range([(x, [100.0] + [1.0 + i / 10 for i in range(19)], False)])
    (1.015, 2.885)
    """
    last = -math.inf
    for xs, _, _ in series:
        for x in reversed(xs):
            if _finite(x):
                last = max(last, float(x))
                break
    if not math.isfinite(last):
        return None
    skip = ROBUST_SKIP * last if last >= 10 else 1.0 if last >= 3 else -math.inf
    lo, hi = math.inf, -math.inf
    for xs, ys, is_batch in series:
        kept: list[float] = []
        for x, y in zip(xs, ys):
            if not _finite(x) or x <= skip or not _finite(y):
                continue
            if log:
                if y <= 0:
                    continue
                y = math.log10(y)
            kept.append(float(y))
        if not kept:
            continue
        kept.sort()
        q_lo, q_hi = ROBUST_QUANTILES if is_batch else (0.0, 1.0)
        lo, hi = min(lo, quantile(kept, q_lo)), max(hi, quantile(kept, q_hi))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    span = hi - lo
    pad = ROBUST_PAD * span if span > 0 else (abs(lo) * ROBUST_PAD or 1.0)
    return round(lo - pad, 12), round(hi + pad, 12)


def x_converter(
    x_axis: str, *, steps_per_epoch: int | None, epoch_times: Sequence[tuple[int, float | None]]
) -> Callable[[float], float] | None:
    """Epoch position -> position on ``x_axis``, or ``None`` when it cannot be told
    (steps per epoch unknown; no timestamps). Identity for ``"epoch"``.

    ``"time"`` interpolates linearly between the epochs' end times (the anchors);
    before the first anchor on the line from (epoch 0, 0 s), after the last one at
    the anchors' mean pace (the front end's ``TimeMap`` in ``js/src/axes.js``).

    >>> to_step = x_converter("step", steps_per_epoch=10, epoch_times=[])
    >>> to_step(2.5)
    25.0
    >>> to_time = x_converter("time", steps_per_epoch=None, epoch_times=[(1, 2.0), (2, 6.0)])
    >>> to_time(0.5), to_time(1.5), to_time(3)
    (1.0, 4.0, 10.0)
    """
    if x_axis == "epoch":
        return lambda x: x
    if x_axis == "step":
        if not steps_per_epoch:
            return None
        steps = steps_per_epoch
        return lambda x: round(x * steps, 6)
    xs: list[float] = []
    ts: list[float] = []
    for epoch, seconds in epoch_times:
        if seconds is None or not math.isfinite(seconds) or (xs and epoch <= xs[-1]):
            continue
        xs.append(float(epoch))
        ts.append(float(seconds))
    if not xs:
        return None
    n = len(xs)
    pace = (ts[-1] - ts[0]) / (xs[-1] - xs[0]) if n > 1 else (ts[0] / xs[0] if xs[0] > 0 else 0.0)

    def to_time(x: float) -> float:
        if x <= xs[0]:
            value = ts[0] * x / xs[0] if xs[0] > 0 else ts[0]
        elif x >= xs[-1]:
            value = ts[-1] + pace * (x - xs[-1])
        else:
            hi = bisect.bisect_right(xs, x)
            lo = hi - 1
            value = ts[lo] + (ts[hi] - ts[lo]) * (x - xs[lo]) / (xs[hi] - xs[lo])
        return round(value, 3)

    return to_time


def theme_colors(theme: str) -> dict[str, str]:
    """Background, text, grid and label colors of an export theme (``auto``: light)."""
    if theme == "dark":
        return dict(DARK)
    return {
        "background": "white",
        "text": "#444444",
        "grid": PALETTE["grid"],
        "label_background": "rgba(255,255,255,0.75)",
    }


# -- the figure ------------------------------------------------------------------------


def _role(trace: Mapping[str, Any]) -> str | None:
    meta = trace.get("meta")
    return meta.get("role") if isinstance(meta, dict) else None


def _metric(trace: Mapping[str, Any]) -> str:
    meta = trace.get("meta")
    name = meta.get("metric") if isinstance(meta, dict) else None
    return str(name if name is not None else trace.get("name", ""))


def _smoothed(data: list[dict[str, Any]], weight: float) -> list[dict[str, Any]]:
    """Each smoothable curve smoothed, its raw copy faint behind it."""
    out: list[dict[str, Any]] = []
    for trace in data:
        role = _role(trace)
        if role not in SMOOTHED_ROLES or metric_family(_metric(trace)) in UNSMOOTHED_FAMILIES:
            out.append(trace)
            continue
        raw = copy.deepcopy(trace)
        raw.update(
            mode="lines",
            opacity=RAW_OPACITY * float(trace.get("opacity", 1.0)),
            showlegend=False,
            hoverinfo="skip",
            meta={**trace["meta"], "role": "raw", "of": role},
        )
        raw.pop("hovertemplate", None)
        out.append(raw)
        out.append({**trace, "y": ema(trace.get("y") or [], weight)})
    return out


def _panel_axes(panels: Sequence[str]) -> list[tuple[str, str, str]]:
    """``(family, x ref, y ref)`` of each panel."""
    return [(family, *axis_names(index)) for index, family in enumerate(panels)]


def _layout_axis(ref: str, kind: str) -> str:
    return f"{kind}axis{ref[1:]}"


def _apply_log(figure: dict[str, Any], view: ViewSettings, panels: Sequence[str]) -> None:
    layout = figure["layout"]
    for family, xref, yref in _panel_axes(panels):
        if not view.is_log(family):
            continue
        hidden = 0
        for trace in figure["data"]:
            if trace.get("yaxis", "y") != yref or not isinstance(trace.get("y"), list):
                continue
            trace["y"], count = log_safe(trace["y"])
            if _role(trace) in SMOOTHED_ROLES:
                hidden += count
        layout.setdefault(_layout_axis(yref, "y"), {})["type"] = "log"
        note = log_note(hidden)
        if note:
            layout.setdefault("annotations", []).append(
                {
                    "xref": f"{xref} domain",
                    "yref": f"{yref} domain",
                    "x": 0,
                    "y": 1,
                    "xanchor": "left",
                    "yanchor": "bottom",
                    "text": note,
                    "showarrow": False,
                    "font": {"size": 10, "color": PALETTE["paused"]},
                    "meta": {"role": "log_note"},
                }
            )


def _apply_robust(figure: dict[str, Any], view: ViewSettings, panels: Sequence[str]) -> None:
    for family, _, yref in _panel_axes(panels):
        series = [
            (trace.get("x") or [], trace.get("y") or [], _role(trace) == "batch")
            for trace in figure["data"]
            if trace.get("yaxis", "y") == yref and _role(trace) in SMOOTHED_ROLES
        ]
        found = robust_range(series, log=view.is_log(family))
        if found is not None:
            axis = figure["layout"].setdefault(_layout_axis(yref, "y"), {})
            axis.update(range=list(found), autorange=False)


_HOVER_X = re.compile(r"epoch %\{x(?::[^}]*)?\}")


def _apply_x(figure: dict[str, Any], x_axis: str, convert: Callable[[float], float] | None) -> None:
    layout = figure["layout"]
    if convert is None:  # the axis cannot be drawn: stay on epochs, and say why
        why = "steps per epoch unknown" if x_axis == "step" else "no timestamps"
        for key, axis in layout.items():
            if re.fullmatch(r"xaxis\d*", key) and isinstance(axis, dict):
                axis["title"] = {"text": f"epoch ({why})"}
        return
    title, hover = ("step", "step %{x}") if x_axis == "step" else ("time (s)", "%{x:.1f} s")
    for key, axis in layout.items():
        if re.fullmatch(r"xaxis\d*", key) and isinstance(axis, dict):
            axis["title"] = {"text": title}
            for tick in ("dtick", "tick0", "tickformat"):
                axis.pop(tick, None)

    def moved(value: Any) -> Any:
        return convert(float(value)) if _finite(value) else value

    for trace in figure["data"]:
        xs = trace.get("x")
        if not isinstance(xs, list):
            continue
        curve = _role(trace) in (*SMOOTHED_ROLES, "raw")  # points with their own timestamps
        times = trace.get("customdata") if curve and x_axis == "time" else None
        if isinstance(times, list) and len(times) == len(xs):
            trace["x"] = [t if _finite(t) else moved(x) for x, t in zip(xs, times)]
        elif curve and x_axis == "step":
            trace["x"] = [round(moved(x)) if _finite(x) else x for x in xs]
        else:
            trace["x"] = [moved(x) for x in xs]
        if isinstance(trace.get("hovertemplate"), str):
            trace["hovertemplate"] = _HOVER_X.sub(hover, trace["hovertemplate"])
    for shape in layout.get("shapes") or []:
        if _AXIS_REF.match(str(shape.get("xref", ""))):
            for end in ("x0", "x1"):
                if end in shape:
                    shape[end] = moved(shape[end])
    for note in layout.get("annotations") or []:
        if _AXIS_REF.match(str(note.get("xref", ""))) and "x" in note:
            note["x"] = moved(note["x"])


def _apply_theme(figure: dict[str, Any], theme: str) -> None:
    """The dark theme's colors (the layout is built light: light changes nothing)."""
    if theme != "dark":
        return
    colors = theme_colors(theme)
    layout = figure["layout"]
    layout["paper_bgcolor"] = layout["plot_bgcolor"] = colors["background"]
    font = layout.setdefault("font", {})
    font["color"] = colors["text"]
    for key, axis in layout.items():
        if re.fullmatch(r"[xy]axis\d*", key) and isinstance(axis, dict):
            axis["gridcolor"] = colors["grid"]
            axis["linecolor"] = colors["grid"]
    for note in layout.get("annotations") or []:
        if "bgcolor" in note:
            note["bgcolor"] = colors["label_background"]
    layout["meta"] = {**(layout.get("meta") or {}), "theme": "dark"}


def apply_view(
    figure: Mapping[str, Any],
    view: ViewSettings,
    *,
    panels: Sequence[str],
    steps_per_epoch: int | None = None,
    epoch_times: Sequence[tuple[int, float | None]] = (),
    theme: str = "light",
) -> dict[str, Any]:
    """A copy of a plotly figure dict (``PlotState.figure()``) as ``view`` shows it.

    Args:
        figure: ``{"data": [...], "layout": {...}}``; not changed.
        view: the settings.
        panels: the metric family of each panel, in axis order (``PlotState.panels``).
        steps_per_epoch: for the ``step`` axis. Defaults to None (unknown: the axis
            stays on epochs and its title says why).
        epoch_times: ``(epoch, seconds)`` of each epoch's end, for the marks on the
            ``time`` axis. Defaults to none (the axis stays on epochs).
        theme: ``"light"`` or ``"dark"`` (``"auto"`` is light). Defaults to ``"light"``.

    Returns:
        A new figure dict.

    Example:

    >>> figure = {"data": [{"x": [1, 2], "y": [4.0, 2.0], "customdata": [3.0, 5.0],
    ...     "xaxis": "x", "yaxis": "y", "name": "loss", "meta": {"role": "metric"}}],
    ...     "layout": {"xaxis": {"title": {"text": "epoch"}}, "yaxis": {}}}
    >>> shown = apply_view(figure, ViewSettings(smoothing=0.5, x_axis="time"), panels=["loss"],
    ...     epoch_times=[(1, 3.0), (2, 5.0)])
    >>> [(t["meta"]["role"], t["x"], t["y"]) for t in shown["data"]]
    [('raw', [3.0, 5.0], [4.0, 2.0]), ('metric', [3.0, 5.0], [4.0, 2.6666666666666665])]
    """
    shown: dict[str, Any] = copy.deepcopy(dict(figure))
    shown.setdefault("layout", {})
    if view.smoothing > 0:
        shown["data"] = _smoothed(shown.get("data") or [], view.smoothing)
    if view.log_y:
        _apply_log(shown, view, panels)
    if view.robust_y:
        _apply_robust(shown, view, panels)
    if view.x_axis != "epoch":
        convert = x_converter(view.x_axis, steps_per_epoch=steps_per_epoch, epoch_times=epoch_times)
        _apply_x(shown, view.x_axis, convert)
    _apply_theme(shown, theme)
    return shown
