"""2. Bytes sent to the front end by one epoch update, as the history grows.

No training: fake metrics (6 of them: loss, accuracy, auc and their ``val_``
twins; deterministic, full-precision floats like Keras's) are fed in a real
kernel, and a client drains IOPub and counts, for the one cell that makes one
epoch update, every comm message it caused: the bytes on the wire (ZMQ frames:
identities, delimiter, signature, header, parent header, metadata, content,
buffers) and the content frame (plus buffers) alone.

Variants:

- ``ours (plot only)``: ``LivePlot``; an epoch update is
  ``plot.begin_epoch(e); plot.end_epoch(e, logs)`` (what its Keras callback
  does), after ``plot.begin_fit(epochs, 180)``.
- ``ours + marks``: the same plus ``plot.set_stopping(snapshot)`` every epoch, as
  an attached ``EarlyStoppingController`` publishes: the best epoch moves every
  7th epoch (line, patience band, marker) and the "k epochs left" label every
  epoch, so the layout is resent every epoch and the markers every 7th.
- Both ours carry, since the toolbar (issue 12), the seconds since the run started
  with each point (``customdata`` in the ``extend`` message) and set the ``summary``
  trait (the table under the plot) once per epoch; the "messages by type" column
  names the traits each update carries and marks extends with timestamps
  (``custom[extend+customdata]``), so the flatness target is checked with them in.
- ``FigureWidget``: plotly's ``FigureWidget`` (2x2 subplots, 6 scatter traces),
  every trace's ``x`` and ``y`` reassigned with the whole history inside
  ``fig.batch_update()``.

Epochs before a measured one are fed in untimed cells: for ours through the same
calls (every epoch is sent, so the state is exactly a real run's); for the
FigureWidget the history is appended without sending, because the size of an
update does not depend on the earlier updates (each one resends every point).
At each measured epoch N, five consecutive updates (N .. N+4) are measured, each
in its own cell.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from ._kernel import Execution, Kernel
from ._report import Row, Section

METRICS = ("loss", "accuracy", "auc", "val_loss", "val_accuracy", "val_auc")
REPEATS = 5

COMMON = """
import random, time
from IPython.display import display

NAMES = {names!r}

def logs(epoch):
    r = random.Random(epoch)
    base = 1.0 / (1.0 + 0.002 * epoch)
    out = {{}}
    for prefix in ("", "val_"):
        noise = 1.0 + 0.05 * r.random()
        out[prefix + "loss"] = 2.3 * base * noise
        out[prefix + "accuracy"] = 1.0 - 0.9 * base * noise
        out[prefix + "auc"] = 1.0 - 0.5 * base * noise
    return out
"""

OURS = (
    COMMON
    + """
from widget_callbacks import LivePlot
from widget_callbacks.core.records import StoppingSnapshot

MARKS = {marks}
plot = LivePlot()
display(plot)
plot.begin_fit(100_000, 180)

def epoch(e):
    plot.begin_epoch(e)
    plot.end_epoch(e, logs(e))
    if MARKS:
        # The same pattern at every epoch count: val_loss improves every 7th epoch,
        # so the "k epochs left" label changes every epoch and the best-epoch line,
        # band and marker every 7th (a real run with patience 20 never goes longer
        # than 20 epochs without one).
        best_epoch = e - e % 7 or 1
        plot.set_stopping(StoppingSnapshot(
            monitor="val_loss", mode="min", patience=20, wait=e - best_epoch,
            best=logs(best_epoch)["val_loss"], best_epoch=best_epoch, last_epoch=e))

def fill(start, stop):
    for e in range(start, stop):
        epoch(e)
"""
)

FIGURE_WIDGET = (
    COMMON
    + """
import plotly.graph_objects as go
from plotly.subplots import make_subplots

fig = go.FigureWidget(make_subplots(rows=2, cols=2))
for _i, _name in enumerate(NAMES):
    _family = _name.removeprefix("val_")
    _panel = ("loss", "accuracy", "auc").index(_family)
    fig.add_scatter(x=[], y=[], name=_name, mode="lines+markers",
                    row=1 + _panel // 2, col=1 + _panel % 2)
display(fig)
_x = []
_y = {{name: [] for name in NAMES}}

def _append(e):
    values = logs(e)
    _x.append(e)
    for name in NAMES:
        _y[name].append(values[name])

def epoch(e):
    _append(e)
    with fig.batch_update():
        for trace in fig.data:
            trace.x = tuple(_x)
            trace.y = tuple(_y[trace.name])

def fill(start, stop):
    for e in range(start, stop):
        _append(e)
"""
)

VARIANTS = {
    "ours (plot only)": OURS.format(names=METRICS, marks=False),
    "ours + marks": OURS.format(names=METRICS, marks=True),
    "FigureWidget": FIGURE_WIDGET.format(names=METRICS),
}
OURS_VARIANTS = ("ours (plot only)", "ours + marks")


@dataclass
class Update:
    epoch: int
    messages: int
    wire: int
    content: int
    kernel_ms: float
    methods: str


@dataclass
class VariantResult:
    name: str
    creation: dict[str, int]
    updates: dict[int, list[Update]]
    filled_comm_bytes: int  # every comm byte sent by fill cells (ours: the whole run)
    skipped: dict[int, str]


def _measure(kernel: Kernel, e: int) -> Update:
    ex: Execution = kernel.run(
        f"_t0 = time.perf_counter()\nepoch({e})\n_bench_ms = 1000 * (time.perf_counter() - _t0)"
    )
    comm = ex.comm()
    kernel_ms = kernel.value("_bench_ms")
    methods: dict[str, int] = {}
    for m in comm:
        key = f"{m.msg_type}:{m.method}" if m.method else m.msg_type
        key += f"[{m.detail}]" if m.detail else ""
        methods[key] = methods.get(key, 0) + 1
    return Update(
        epoch=e,
        messages=len(comm),
        wire=sum(m.wire_bytes for m in comm),
        content=sum(m.content_bytes for m in comm),
        kernel_ms=kernel_ms,
        methods=", ".join(f"{k} x{v}" for k, v in sorted(methods.items())),
    )


def run_variant(name: str, points: list[int], fill_budget_s: float, log=print) -> VariantResult:
    updates: dict[int, list[Update]] = {}
    skipped: dict[int, str] = {}
    filled = 0
    with Kernel() as kernel:
        created = kernel.run(VARIANTS[name])
        creation = created.totals()
        next_epoch = 1
        for n in points:
            if next_epoch < n:
                fill = kernel.run(f"fill({next_epoch}, {n})", timeout=max(600.0, 5 * fill_budget_s))
                filled += fill.totals()["wire_bytes"]
            updates[n] = []
            for e in range(n, n + REPEATS):
                updates[n].append(_measure(kernel, e))
            next_epoch = n + REPEATS
            med = statistics.median(u.wire for u in updates[n])
            log(f"    {name}: epoch {n}: {med:,.0f} B/update "
                f"({updates[n][0].messages} messages, {updates[n][0].kernel_ms:.1f} ms in the kernel)")  # fmt: skip
    return VariantResult(name, creation, updates, filled, skipped)


def run(points: list[int], log=print) -> tuple[list[Row], Section]:
    results: list[VariantResult] = []
    for name in VARIANTS:
        log(f"  messages: {name} ...")
        results.append(run_variant(name, points, fill_budget_s=120.0, log=log))

    rows: list[Row] = []
    first = points[0]
    for kind, attr in (("wire", "wire"), ("content", "content")):
        for res in results:
            base = statistics.median(getattr(u, attr) for u in res.updates[first])
            for n in points:
                values = [getattr(u, attr) for u in res.updates[n]]
                ratio = statistics.median(values) / base if base else None
                target, met = "", None
                if res.name in OURS_VARIANTS and n == points[-1] and kind == "wire":
                    target = f"<= 1.1x epoch {first}"
                    met = ratio is not None and ratio <= 1.1
                rows.append(Row(f"messages: B/epoch update ({kind})", f"{res.name} @ epoch {n:,}",
                                values, "B", ratio, target, met))  # fmt: skip

    details = Section("Message growth: per update")
    details.lines.append(
        f"Comm messages caused by one epoch update (6 metrics), {REPEATS} consecutive updates from each "
        f"epoch; wire = every ZMQ frame (about 500 B of headers and signature per message), content = "
        f"the content frame and buffers. Kernel ms = time of the update call in the kernel."
    )
    details.lines.append("")
    details.lines.append(
        "| variant | epoch | messages | wire B (median) | content B (median) | kernel ms (median) | messages by type |"
    )
    details.lines.append("|---|---|---|---|---|---|---|")
    for res in results:
        for n in points:
            us = res.updates[n]
            details.lines.append(
                f"| {res.name} | {n:,} | {us[0].messages} | {statistics.median(u.wire for u in us):,.0f} | "
                f"{statistics.median(u.content for u in us):,.0f} | {statistics.median(u.kernel_ms for u in us):.2f} | "
                f"{us[0].methods} |"
            )
    details.lines.append("")
    for res in results:
        if res.name not in OURS_VARIANTS:
            continue
        last = res.updates[points[-1]]
        stamped = all("extend+customdata" in u.methods for u in last)
        summary = all("summary_table" in u.methods for u in last)
        details.lines.append(
            f"- {res.name} @ epoch {points[-1]:,}: timestamps in every extend: {'yes' if stamped else 'NO'}; "
            f"summary trait set every epoch: {'yes' if summary else 'NO'}"
        )
    for res in results:
        details.lines.append(
            f"- {res.name}: creating and displaying the widget sent {res.creation['messages']} comm "
            f"messages, {res.creation['wire_bytes']:,} B on the wire"
            + (
                f"; the whole run up to epoch {points[-1] + REPEATS - 1:,} sent "
                f"{res.filled_comm_bytes + sum(u.wire for us in res.updates.values() for u in us):,} B of comm messages"
                if res.name in OURS_VARIANTS
                else ""
            )
        )
    fw = next((r for r in results if r.name == "FigureWidget"), None)
    if fw is not None and len(points) > 1:
        # Each FigureWidget update resends every point: its size is affine in the epoch.
        a, b = points[0], points[-1]
        wa = statistics.median(u.wire for u in fw.updates[a])
        wb = statistics.median(u.wire for u in fw.updates[b])
        slope = (wb - wa) / (b - a)
        total = sum(wa + slope * (e - a) for e in range(1, b + 1))
        details.lines.append(
            f"- FigureWidget: its update grows by about {slope:,.0f} B per epoch, so a {b:,}-epoch run "
            f"sends about {total / 1e9:,.2f} GB in updates (estimated from the measured sizes; the "
            f"epochs before each measured one were appended without sending)."
        )
    return rows, details
