"""Export a plot to files: the figure (HTML, PNG, SVG, PDF, plotly JSON) and the
history (CSV, JSON).

(Over 300 lines: each public export function carries its Keras-style docstring and a
runnable example, about half of the module.)

The figure is ``PlotState.shown_figure()``, the description the live view draws, marks
included, as the plot's view settings show it (``figure.py``); HTML carries the
summary table under it; images come from ``images.py`` (kaleido). A history saved
as JSON is a `RunRecord` (``core/run_record.py``), which carries the marks too;
`read_history` reads one back and ``PlotState.load`` draws it.
"""

from __future__ import annotations

import base64
import functools
import html
import math
import os
import pathlib
import tempfile
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Union

from ..core.history import from_json_number, short_name
from ..core.protocol import DEFAULT_HEIGHT, IMAGE_WIDTH, PALETTE, PLOT_CONFIG
from ..core.run_record import RunRecord, history_columns
from ..core.summary import ROW_KEYS
from .figure import check_theme, figure_of, plot_state
from .images import IMAGE_FORMATS, ChromiumNotFoundError, images

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

#: A `LivePlot`, or its `PlotState` (export never imports the widgets).
Plot = Any

PathLike = Union[str, "os.PathLike[str]"]

#: Formats of `save`, by file suffix.
FORMATS: tuple[str, ...] = ("html", "png", "svg", "pdf", "json")
#: Formats of `save_history`, by file suffix.
HISTORY_FORMATS: tuple[str, ...] = ("csv", "json")

#: Plotly config of exported HTML: like the live view, with plotly's own PNG button.
HTML_CONFIG: dict[str, Any] = PLOT_CONFIG

__all__ = [
    "FORMATS",
    "HISTORY_FORMATS",
    "ChromiumNotFoundError",
    "history_dict",
    "history_frame",
    "read_history",
    "run_record",
    "save",
    "save_history",
    "summary_frame",
    "summary_html",
    "to_figure",
]


def to_figure(plot: Plot, *, theme: str = "light") -> go.Figure:
    """The plot as a `plotly.graph_objects.Figure`: curves and marks as drawn live.

    Built from ``plot.state.figure()``, the same description the widget draws (best
    epoch, patience band, checkpoints, stop reason, restored epoch), as the plot's view
    settings show it (smoothing with the raw curve faint behind, log y, x axis,
    robust y range: ``core/views.py``), with the empty ``"none"`` template so that
    plotly.py's default template does not restyle it (``"plotly_dark"`` when dark).
    During training it holds the curves so far.

    Args:
        plot: a `LivePlot` (or its ``state``).
        theme: ``"light"`` or ``"dark"`` (``"auto"``: light). Defaults to ``"light"``
            (whatever the page's).

    Returns:
        A new Figure; changing it does not change the plot.

    Example:

    >>> from widget_callbacks import LivePlot
    >>> plot = LivePlot(static_fallback=False)
    >>> plot.end_epoch(1, {"loss": 0.9, "val_loss": 1.1})
    >>> [trace.name for trace in to_figure(plot).data]
    ['loss', 'val_loss']
    """
    return figure_of(plot, theme=theme)


def save(
    plot: Plot,
    path: PathLike,
    *,
    format: str | None = None,
    width: float | None = None,
    height: float | None = None,
    scale: float | None = None,
    theme: str = "light",
) -> pathlib.Path:
    """Writes the plot to a file: ``.html``, ``.png``, ``.svg``, ``.pdf`` or ``.json``.

    What is on screen is written: the view settings apply (`to_figure`). ``.html`` is
    standalone (plotly.js embedded, opens offline) with the summary table under the
    plot; ``.json`` is plotly's
    figure JSON (``plotly.io.read_json`` reads it back); images are drawn by kaleido in
    a Chromium-based browser, started once and kept for the session. The file is
    written whole or not at all (a temporary file in the same folder, then renamed).

    Args:
        plot: a `LivePlot` (or its ``state``).
        path: the file to write; its suffix picks the format.
        format: one of `FORMATS`, overriding the suffix. Defaults to None.
        width: width in pixels. Defaults to None: 900 for images, the page's width
            for HTML, unset in JSON.
        height: height in pixels. Defaults to None: the live view's height.
        scale: image resolution factor (PNG, SVG, PDF only). Defaults to None (1).
        theme: ``"light"`` or ``"dark"`` (``"auto"``: light, a file has no page to
            follow). Defaults to ``"light"``.

    Returns:
        The path written.

    Raises:
        ValueError: an unknown suffix or format, a size that is not > 0, or an
            unknown theme.
        OSError: the file cannot be written (the error names ``path``).
        ImportError: kaleido is missing (images only).
        ChromiumNotFoundError: no Chromium-based browser (images only).

    Example:

    >>> import tempfile, pathlib
    >>> from widget_callbacks import LivePlot
    >>> plot = LivePlot(static_fallback=False)
    >>> plot.end_epoch(1, {"loss": 0.9})
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> save(plot, folder / "training.html").suffix
    '.html'
    """
    path = pathlib.Path(os.fspath(path))
    kind = _format_of(path, format, FORMATS, "save")
    for name, value in (("width", width), ("height", height), ("scale", scale)):
        _check_positive(name, value)
    if scale is not None and kind not in IMAGE_FORMATS:
        raise ValueError(
            f"scale applies to {', '.join(IMAGE_FORMATS)} only. "
            f"Received: scale={scale!r} with format {kind!r}"
        )
    figure = to_figure(plot, theme=check_theme(theme))
    if kind in IMAGE_FORMATS:
        data = images.render(figure, kind, width=width, height=height, scale=scale)
    else:
        if width or height:
            figure.update_layout(width=width, height=height or figure.layout.height)
        if kind == "html":
            state = plot_state(plot)
            with state.lock:
                table = state.summary()
            data = figure_html(figure, width=width, summary=table).encode("utf-8")
        else:
            data = figure.to_json(pretty=False).encode("utf-8")
    _write_atomically(path, data)
    return path


@functools.lru_cache(maxsize=1)
def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _script_json(value: Any) -> str:
    from plotly.io.json import to_json_plotly

    # Inside <script>: "</" would end the element early.
    return to_json_plotly(value).replace("</", "<\\/")


def figure_html(
    figure: go.Figure,
    *,
    full_html: bool = True,
    width: float | None = None,
    png: bytes | None = None,
    summary: dict[str, Any] | None = None,
) -> str:
    """The figure as HTML that needs nothing else: plotly.js is inlined (once).

    With ``png``, the image is shown until plotly.js has drawn the figure, and stays
    where scripts do not run (sanitized HTML). With ``summary`` (``PlotState.summary()``),
    its table (`summary_html`) follows the plot.
    """
    data = figure.to_dict()
    div_id = f"wc-{uuid.uuid4().hex}"
    height = f"{figure.layout.height or DEFAULT_HEIGHT}px"
    size = f"width:{f'{width:g}px' if width else '100%'};height:{height}"
    image = ""
    if png is not None:
        encoded = base64.b64encode(png).decode("ascii")
        image = (
            f'<img id="{div_id}-png" alt="Training curves (static image)" '
            f'width="{IMAGE_WIDTH}" style="max-width:100%;height:auto" '
            f'src="data:image/png;base64,{encoded}">'
        )
    body = (
        f'<div class="widget-callbacks-static">{image}'
        f'<div id="{div_id}" class="plotly-graph-div"></div>'
        "<script>window.PlotlyConfig = {MathJaxConfig: 'local'};</script>"
        f"<script>{_plotly_js()}</script>"
        "<script>(function () {"
        f'var gd = document.getElementById("{div_id}");'
        "if (!gd || !window.Plotly) return;"
        f'gd.style.cssText = "{size}";'
        f"window.Plotly.newPlot(gd, {_script_json(data['data'])}, "
        f"{_script_json(data['layout'])}, {_script_json(HTML_CONFIG)}).then(function () {{"
        f'var img = document.getElementById("{div_id}-png"); if (img) img.remove();'
        "});})();</script>"
        f"{summary_html(summary) if summary else ''}</div>"
    )
    if not full_html:
        return body
    return (
        '<!DOCTYPE html>\n<html>\n<head><meta charset="utf-8">'
        "<title>Training curves</title></head>\n"
        f'<body style="margin:0">\n{body}\n</body>\n</html>\n'
    )


# -- the summary table --------------------------------------------------------------

_COLUMNS = {"metric": "metric", "last": "last", "best": "best", "best_epoch": "epoch of best"}


def _number(value: Any) -> str:
    number = from_json_number(value) if isinstance(value, (int, float, str)) else None
    return "" if number is None else f"{number:.4g}"


def summary_html(summary: dict[str, Any]) -> str:
    """The summary table (``PlotState.summary()``) as a small HTML table with inline
    styles (a saved notebook keeps no CSS), and a line with the last epoch's pace.

    Long metric names are shortened (``core.history.short_name``), the full name in
    the cell's ``title``.

    Example:

    >>> print(summary_html({"rows": [{"metric": "loss", "last": 0.31, "best": 0.3,
    ...     "best_epoch": 4, "direction": "min"}], "epoch_seconds": 2.5}))  # doctest: +ELLIPSIS
    <table class="widget-callbacks-summary" ...><td ...>0.3 (min)</td><td ...>4</td></tr>...2.5 s per epoch...
    """
    cell = f"padding:2px 10px;text-align:right;border-bottom:1px solid {PALETTE['grid']}"
    head = "".join(f'<th style="{cell}">{html.escape(text)}</th>' for text in _COLUMNS.values())
    body = []
    for row in summary.get("rows") or []:
        name = str(row.get("metric", ""))
        direction = row.get("direction")
        best = _number(row.get("best"))
        best_text = f"{best} ({direction})" if best and direction else best
        epoch = row.get("best_epoch")
        body.append(
            f'<tr><td style="{cell};text-align:left" title="{html.escape(name)}">'
            f"{html.escape(short_name(name))}</td>"
            f'<td style="{cell}">{html.escape(_number(row.get("last")))}</td>'
            f'<td style="{cell}">{html.escape(best_text)}</td>'
            f'<td style="{cell}">{"" if epoch is None else int(epoch)}</td></tr>'
        )
    pace = []
    if summary.get("epoch_seconds") is not None:
        pace.append(f"{summary['epoch_seconds']:.3g} s per epoch (the last, validation included)")
    if summary.get("samples_per_second") is not None:
        pace.append(f"{summary['samples_per_second']:,.0f} samples/s")
    elif summary.get("steps_per_second") is not None:
        pace.append(f"{summary['steps_per_second']:,.1f} steps/s")
    muted = PALETTE["paused"]
    footer = (
        f'<div style="font-size:11px;color:{muted};padding:2px 4px">{" · ".join(pace)}</div>' if pace else ""
    )
    return (
        '<table class="widget-callbacks-summary" style="border-collapse:collapse;'
        'font:12px Helvetica,Arial,sans-serif;margin:4px 0">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{footer}"
    )


def summary_frame(summary: dict[str, Any]) -> pd.DataFrame | list[dict[str, Any]]:
    """The summary's rows as a pandas DataFrame indexed by ``metric`` (its ``attrs``
    hold the run's pace), or as a list of dicts when pandas is not importable. Values
    are floats (``"nan"`` back to NaN), missing ones ``None`` (NaN in the DataFrame).

    Example:

    >>> table = summary_frame({"rows": [{"metric": "loss", "last": "nan", "best": 0.3,
    ...     "best_epoch": 4, "direction": "min"}], "epoch_seconds": 2.5})
    >>> rows = table.reset_index().to_dict("records") if hasattr(table, "attrs") else table
    >>> rows[0]["metric"], rows[0]["last"], int(rows[0]["best_epoch"])
    ('loss', nan, 4)
    """
    rows = []
    for row in summary.get("rows") or []:
        record = {key: row.get(key) for key in ROW_KEYS}
        for key in ("last", "best"):
            record[key] = from_json_number(record[key])
        rows.append(record)
    try:
        import pandas as pd
    except ImportError:
        return rows
    frame = pd.DataFrame(rows, columns=list(ROW_KEYS)).set_index("metric")
    frame["best_epoch"] = frame["best_epoch"].astype("Int64")
    frame.attrs.update(
        {key: summary.get(key) for key in ("epoch_seconds", "steps_per_second", "samples_per_second")}
    )
    return frame


# -- history -------------------------------------------------------------------


def history_dict(plot: Plot) -> dict[str, list[Any]]:
    """The epoch metrics as plain data: ``{"epoch": [1, 2, ...], "loss": [...], ...}``.

    Epochs are 1-based; values are floats (NaN and inf kept as floats), ``None`` where
    a metric was not logged in that epoch.

    Example:

    >>> from widget_callbacks import LivePlot
    >>> plot = LivePlot(static_fallback=False)
    >>> plot.end_epoch(1, {"loss": float("nan")})
    >>> history_dict(plot)
    {'epoch': [1], 'loss': [nan]}
    """
    state = plot_state(plot)
    with state.lock:
        return history_columns(state.history)


def history_frame(plot: Plot) -> pd.DataFrame:
    """The epoch metrics as a pandas DataFrame indexed by ``epoch`` (1-based).

    Missing values are NaN. Needs pandas (imported here, not before).

    Example:

    >>> from widget_callbacks import LivePlot
    >>> plot = LivePlot(static_fallback=False)
    >>> plot.end_epoch(1, {"loss": 0.9, "val_loss": 1.1})
    >>> frame = history_frame(plot)
    >>> list(frame.columns), float(frame.loc[1, "val_loss"])
    (['loss', 'val_loss'], 1.1)
    """
    try:
        import pandas as pd
    except ImportError as err:
        raise ImportError(
            "pandas is required for history_frame(). Install it with `pip install pandas` "
            "(or `pip install widget-callbacks[pandas]`); `plot.history` gives the same "
            "data as a dict of lists."
        ) from err
    data = history_dict(plot)
    frame = pd.DataFrame(
        {k: [math.nan if v is None else v for v in vs] for k, vs in data.items()}, columns=list(data)
    )
    return frame.astype({"epoch": "int64"}).set_index("epoch")


def save_history(plot: Plot, path: PathLike, *, format: str | None = None) -> pathlib.Path:
    """Writes the history to ``.csv`` (epoch metrics) or ``.json`` (the whole run).

    The JSON file also holds the marks (stopping state, checkpoints), the batch
    curves and the earlier runs drawn beside the current one (their labels, Keras
    Tuner trials, hidden or not), so `from_history` redraws the plot whole; a CSV
    gives the current run's curves only.
    Non-finite values are written as ``nan``, ``inf``, ``-inf``; missing ones as empty
    CSV cells or JSON ``null``.

    Args:
        plot: a `LivePlot` (or its ``state``).
        path: the file to write; its suffix picks the format.
        format: ``"csv"`` or ``"json"``, overriding the suffix. Defaults to None.

    Returns:
        The path written.

    Example:

    >>> import tempfile, pathlib
    >>> from widget_callbacks import LivePlot
    >>> plot = LivePlot(static_fallback=False)
    >>> plot.end_epoch(1, {"loss": 0.9})
    >>> path = save_history(plot, pathlib.Path(tempfile.mkdtemp()) / "run.csv")
    >>> path.read_text().splitlines()
    ['epoch,loss', '1,0.9']
    """
    path = pathlib.Path(os.fspath(path))
    kind = _format_of(path, format, HISTORY_FORMATS, "save_history")
    record = RunRecord.of(plot_state(plot))
    text = record.to_json() if kind == "json" else record.to_csv()
    _write_atomically(path, text.encode("utf-8"))
    return path


def read_history(path: PathLike) -> RunRecord:
    """The `RunRecord` in a file written by `save_history` (``.json`` or ``.csv``).

    Args:
        path: the file; its suffix picks the format.

    Raises:
        ValueError: an unknown suffix, or a file that is not a history (the message
            names the file).
        OSError: the file cannot be read.
    """
    path = pathlib.Path(os.fspath(path))
    kind = _format_of(path, None, HISTORY_FORMATS, "from_history")
    text = path.read_text(encoding="utf-8")
    return RunRecord.from_json(text, path) if kind == "json" else RunRecord.from_csv(text, path)


def run_record(source: Any) -> RunRecord:
    """A finished run to draw beside others (`LivePlot.add_run`), from what the user has.

    Args:
        source: a file written by `save_history` (its path), a `RunRecord`, a Keras
            ``History`` (``fit``'s return value: its ``history`` dict and 0-based
            ``epoch`` list; Keras is not imported) or a dict of metric columns
            (``{"loss": [...]}``, optionally with ``"epoch"``: 1-based).

    Raises:
        TypeError: anything else (the message names what was received).
        ValueError: a file or columns that are not a history.

    Example:

    >>> run_record({"loss": [0.9, 0.7]}).history.epochs
    [1, 2]
    """
    if isinstance(source, RunRecord):
        return source
    if isinstance(source, (str, os.PathLike)):
        return read_history(source)
    columns = getattr(source, "history", None)
    if isinstance(columns, Mapping):  # a keras.callbacks.History
        epochs = getattr(source, "epoch", None)
        first = [int(e) + 1 for e in epochs] if isinstance(epochs, (list, tuple)) and epochs else None
        if first is not None and len(first) != len(next(iter(columns.values()), [])):
            first = None  # a History fed by hand: its epochs are not the columns'
        return RunRecord.from_columns(columns, epochs=first, source=f"{type(source).__name__}.history")
    if isinstance(source, Mapping):
        return RunRecord.from_columns(source, source="the dict")
    raise TypeError(
        "Expected a history file's path, a RunRecord, a keras.callbacks.History or a dict of "
        f"metric columns. Received: {source!r:.80} of type {type(source).__name__}"
    )


# -- helpers ---------------------------------------------------------------------


def _format_of(path: pathlib.Path, format: str | None, supported: tuple[str, ...], what: str) -> str:
    if format is not None:
        if not isinstance(format, str) or format.lower().lstrip(".") not in supported:
            raise ValueError(
                f"{what}() supports the formats {', '.join(supported)}. Received: format={format!r}"
            )
        return format.lower().lstrip(".")
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in supported:
        raise ValueError(
            f"{what}() picks the format from the file suffix, one of {', '.join(supported)} "
            f"(or pass format=). Received: path={str(path)!r}"
        )
    return suffix


def _check_positive(name: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a number > 0 or None. Received: {name}={value!r}")


def _file_mode(path: pathlib.Path) -> int:
    """The mode a new file would get (mkstemp makes 0600): the old file's, or 0666
    less the umask."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


def _write_atomically(path: pathlib.Path, data: bytes) -> None:
    """Writes ``data`` to a temporary file next to ``path``, then renames it; on any
    error nothing is left behind and the OSError names ``path``."""
    temp: str | None = None
    try:
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.chmod(temp, _file_mode(path))
        os.replace(temp, path)
        temp = None
    except OSError as err:
        raise type(err)(err.errno, err.strerror or str(err), str(path)) from err
    finally:
        if temp is not None:
            try:
                os.unlink(temp)
            except OSError:
                pass
