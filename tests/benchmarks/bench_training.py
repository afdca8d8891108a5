"""1. Training overhead of live displays, each fit in a fresh real Jupyter kernel.

Workload: a small MLP (64 -> 64 relu -> 10 softmax, Adam) on sklearn's
``load_digits`` (1,797 images, pixels / 16), ``batch_size=8``,
``validation_split=0.2`` (1,437 training images: 180 steps an epoch), 30
epochs, ``keras.utils.set_random_seed(0)`` before the model is built.

Each run: a new kernel; import TensorFlow and the data; one untimed 1-epoch
warm-up fit of a throwaway model (TensorFlow's lazy runtime start-up); the
variant's cell (builds the model, creates and displays the display, imports
its library); then the timed cell, which only runs ``model.fit``. Kept: the fit
(``time.perf_counter()`` around ``model.fit`` in the kernel), the kernel's CPU
(``time.process_time()`` around it), the CPU of every other process on the
machine over the fit in cores (`_cpu`: a background browser counts), the IOPub
messages and bytes of the cell, and the wall time the client sees (execute
request sent -> its ``idle`` status received, every IOPub message of the cell
drained and counted on the way).

Variants run interleaved (A B C ..., A B C ..., one kernel each) for the
given number of rounds; the ratio is taken to the bare fit of the same round,
then its median over the rounds is reported.
"""

from __future__ import annotations

import os
import statistics
import textwrap
from dataclasses import dataclass, field

from . import _cpu
from ._kernel import Kernel
from ._report import Row, Section

SEED = 0

SETUP = """
import os, time, tempfile
import numpy as np
import keras
from sklearn.datasets import load_digits
from IPython.display import display

_digits = load_digits()
x = (_digits.data / 16.0).astype("float32")
y = _digits.target.astype("int32")
EPOCHS = {epochs}
_tmp = tempfile.mkdtemp(prefix="bench-")

def make_model():
    keras.utils.set_random_seed({seed})
    model = keras.Sequential([
        keras.Input((64,)),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model

# Untimed warm-up: TensorFlow's runtime starts lazily in the first fit of a process.
make_model().fit(x[:64], y[:64], epochs=1, batch_size=8, verbose=0)
verbose = 0
callbacks = []
"""

#: The timed cell. Around ``model.fit``: ``perf_counter`` (the fit's wall time),
#: ``process_time`` (the kernel's CPU, all its threads: TensorFlow's, the IOPub
#: thread's sends, ours), and a CPU snapshot of every process on the machine just
#: before and just after (`_cpu.SOURCE`, about 25 ms each, outside the timed span).
FIT = """
_bench_excl = {{os.getpid(), {bench_pid}}}
_bench_s0 = time.perf_counter()
_bench_c0 = _bench_cpu_snapshot()
_k0 = time.process_time()
_t0 = time.perf_counter()
history = model.fit(x, y, batch_size=8, epochs=EPOCHS, validation_split=0.2,
                    verbose=verbose, callbacks=callbacks)
_bench_fit_s = time.perf_counter() - _t0
_bench_kernel_cpu_s = time.process_time() - _k0
_bench_c1 = _bench_cpu_snapshot()
_bench_span_s = time.perf_counter() - _bench_s0
"""

RESULT = (
    '{"fit_s": _bench_fit_s, "epochs": len(history.history["loss"]), '
    '"kernel_cpu_s": _bench_kernel_cpu_s, "span_s": _bench_span_s, '
    '"others": _bench_cpu_delta(_bench_c0, _bench_c1, _bench_excl), "pid": os.getpid(), '
    '"note": globals().get("_bench_note", ""), "hook_s": dict(globals().get("_hook_s", {}))}'
)

# Each variant: code run after SETUP, before the timed fit. It sets `model`,
# `verbose` and `callbacks`, and displays what the user would see.
_FIGURE_WIDGET = """
import plotly.graph_objects as go
from plotly.subplots import make_subplots

fig = go.FigureWidget(make_subplots(rows=1, cols=2))
for _name in ("loss", "val_loss", "accuracy", "val_accuracy"):
    fig.add_scatter(x=[], y=[], name=_name, mode="lines+markers",
                    row=1, col=1 if _name.endswith("loss") else 2)
display(fig)

class FigureWidgetCallback(keras.callbacks.Callback):
    # What a user writes: append the epoch to every trace (x and y reassigned).
    def on_epoch_end(self, epoch, logs=None):
        with fig.batch_update():
            for trace in fig.data:
                trace.x = tuple(trace.x or ()) + (epoch + 1,)
                trace.y = tuple(trace.y or ()) + (float(logs[trace.name]),)

callbacks = [FigureWidgetCallback()]
"""

_IMPORT_OURS = """
from widget_callbacks import LivePlot
try:
    from widget_callbacks import EarlyStoppingController
except ImportError:
    try:
        from widget_callbacks.adapters.early_stopping import EarlyStoppingController
    except ImportError:
        EarlyStoppingController = None
"""

_OURS_NO_PANEL = (
    _IMPORT_OURS
    + """
plot = LivePlot(static_fallback="png")  # the default, said explicitly: the PNG is asked of the page at the cell's end
ckpt = keras.callbacks.ModelCheckpoint(os.path.join(_tmp, "best.keras"), monitor="val_loss",
                                       save_best_only=True)
if EarlyStoppingController is not None:
    es = EarlyStoppingController(monitor="val_loss", patience=EPOCHS)
    plot.attach(es, ckpt)
    callbacks = [plot.callback, es, ckpt]
else:
    _bench_note = "EarlyStoppingController missing: LivePlot + ModelCheckpoint only"
    plot.attach(ckpt)
    callbacks = [plot.callback, ckpt]
display(plot)
"""
)

#: Ours with everything on: the plot with its default static copy, the
#: controller, its marks attached, the checkpoint, and the controls displayed.
_OURS = (
    _OURS_NO_PANEL
    + """
try:
    from widget_callbacks import ControlPanel
except ImportError:
    from widget_callbacks.widgets.controls import ControlPanel
panel = ControlPanel(es)
display(panel)
"""
)

#: Ours with everything on but a ModelCheckpoint (Keras's file writes are the user's
#: cost with or without a display: the "es-ckpt" variant measures them).
_OURS_NO_CKPT = (
    _IMPORT_OURS
    + """
from widget_callbacks import ControlPanel
plot = LivePlot(static_fallback="png")
es = EarlyStoppingController(monitor="val_loss", patience=EPOCHS)
plot.attach(es)
callbacks = [plot.callback, es]
display(plot)
panel = ControlPanel(es)
display(panel)
"""
)

#: Control: Keras's synchronous batch-hook dispatch alone. A callback that
#: overrides a batch hook makes Keras call the hooks every batch (and, with
#: TensorFlow, turn the batch logs into Python numbers, waiting for the step).
_BATCH_PASS = """
class BatchEndPass(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        pass

callbacks = [BatchEndPass()]
"""

#: Appended to every variant but the bare fit: wraps every hook a callback
#: overrides (inherited no-op hooks are left alone, so Keras's choices, such as
#: dispatching batch hooks asynchronously, do not change) and adds up the time
#: spent inside it, per callback class. Keras's progress bar (``verbose=1``) is
#: not in ``callbacks``: its class is wrapped in this fresh kernel instead. Two
#: ``perf_counter`` calls per hook call: about 10 ms over the 30-epoch fit.
_TIME_HOOKS = """
import collections as _collections
_hook_s = _collections.Counter()

def _timed_hook(label, hook):
    def timed(*args, **kwargs):
        _t = time.perf_counter()
        try:
            return hook(*args, **kwargs)
        finally:
            _hook_s[label] += time.perf_counter() - _t
    return timed

def _time_hooks(owner, label):
    for _name in [n for n in dir(owner) if n.startswith("on_")]:  # not properties such as .model
        _hook = getattr(owner, _name)
        if callable(_hook) and not getattr(_hook, "_is_default", False):
            setattr(owner, _name, _timed_hook(label, _hook))

for _callback in callbacks:
    _time_hooks(_callback, type(_callback).__name__)
if verbose:
    _time_hooks(keras.callbacks.ProgbarLogger, "ProgbarLogger")
"""

#: key -> (label in the table, code run after SETUP and before the timed fit).
VARIANTS: dict[str, tuple[str, str]] = {
    "bare": ("bare fit(verbose=0)", ""),
    "progbar": ("Keras progress bar (verbose=1)", "verbose = 1"),
    "tensorboard": (
        "TensorBoard(update_freq='batch')",
        "callbacks = [keras.callbacks.TensorBoard(log_dir=os.path.join(_tmp, 'tb'), update_freq='batch')]",
    ),
    "tqdm": (
        "tqdm.keras.TqdmCallback",
        "from tqdm.keras import TqdmCallback\ncallbacks = [TqdmCallback(verbose=1)]",
    ),
    "livelossplot": (
        "livelossplot.PlotLossesKeras",
        "from livelossplot import PlotLossesKeras\ncallbacks = [PlotLossesKeras()]",
    ),
    "figurewidget": ("plotly FigureWidget appended every epoch", _FIGURE_WIDGET),
    "es-ckpt": (
        "EarlyStopping + ModelCheckpoint, no display",
        "callbacks = [keras.callbacks.EarlyStopping(monitor='val_loss', patience=EPOCHS),\n"
        "             keras.callbacks.ModelCheckpoint(os.path.join(_tmp, 'best.keras'),\n"
        "                                             monitor='val_loss', save_best_only=True)]",
    ),
    "batch-pass": ("control: on_train_batch_end = pass", _BATCH_PASS),
    "ours-plot": (
        "ours: LivePlot alone",
        _IMPORT_OURS + "plot = LivePlot()\ndisplay(plot)\ncallbacks = [plot.callback]",
    ),
    "ours-no-panel": (
        "ours without ControlPanel: LivePlot + EarlyStoppingController + ModelCheckpoint",
        _OURS_NO_PANEL,
    ),
    "ours-no-ckpt": (
        "ours, everything on but a ModelCheckpoint: LivePlot(static_fallback='png') + "
        "EarlyStoppingController + marks + ControlPanel",
        _OURS_NO_CKPT,
    ),
    "ours": (
        "ours, everything on: LivePlot(static_fallback='png') + EarlyStoppingController + marks + "
        "ModelCheckpoint + ControlPanel",
        _OURS,
    ),
}
OURS = "ours"
#: Variants held to the targets: everything on, with and without a ModelCheckpoint.
TARGETED = (OURS, "ours-no-ckpt")
#: Targets for ours with everything on: the fit's median paired ratio to the bare
#: fit (and not above Keras's progress bar), the kernel's CPU during the fit as
#: a median paired ratio to the bare fit's, and other processes' CPU during the fit.
FIT_TARGET = 1.02
CPU_TARGET = 1.03
OTHERS_TARGET = 0.05
#: Variants whose callbacks' time inside their hooks is measured: all but the bare fit.
TIMED_HOOKS = tuple(name for name in VARIANTS if name != "bare")
#: The other live displays that ours is compared with (the no-display
#: reference and our other variants are not displays to beat).
DISPLAYS = ("progbar", "tensorboard", "tqdm", "livelossplot", "figurewidget")


@dataclass
class Run:
    variant: str
    round: int
    fit_s: float
    wall_s: float
    epochs: int
    iopub_messages: int
    iopub_bytes: int
    comm_messages: int
    comm_bytes: int
    note: str
    hook_s: dict[str, float]  # callback class -> seconds inside its hooks (not for the bare fit)
    kernel_cpu_s: float = 0.0  # process_time around model.fit in the kernel (all its threads)
    others_cores: float = 0.0  # CPU of all other processes during the fit / the interval counted
    others_new: dict[str, list] = field(default_factory=dict)  # processes that appeared: name -> [n, s]
    others_top: list[list] = field(default_factory=list)  # [name, s] using the most CPU in the fit
    client_cpu_s: float = 0.0  # the benchmark's own process (the front end's stand-in) during the fit
    cell_others_cores: float = 0.0  # other processes, request sent -> idle received (client side)


def run_once(
    variant: str, round_: int, epochs: int, code: str | None = None, env: dict[str, str] | None = None
) -> Run:
    """One fit of ``variant`` (its code from `VARIANTS` unless ``code`` is given) in a
    fresh kernel with ``env`` added to its environment."""
    me = os.getpid()
    with Kernel(env=env) as kernel:
        kernel.run(SETUP.format(epochs=epochs, seed=SEED))
        kernel.run(_cpu.SOURCE)
        timing = _TIME_HOOKS if variant != "bare" and code is None else ""
        kernel.run((VARIANTS[variant][1] if code is None else code) + "\nmodel = make_model()\n" + timing)
        pid = kernel.value("os.getpid()")
        c0 = _cpu.snapshot()
        # Sent as JupyterLab sends a cell (allow_stdin=True): our plot then asks the
        # page for its PNG when the cell ends (no page answers here) instead of
        # making it with kaleido at once as for nbclient.
        fit = kernel.run(FIT.format(bench_pid=me), allow_stdin=True)
        cell = _cpu.delta(c0, _cpu.snapshot(), {me, pid})
        result = kernel.value(RESULT)
    all_ = fit.totals(comm_only=False)
    comm = fit.totals(comm_only=True)
    others = result["others"]
    return Run(
        variant=variant,
        round=round_,
        fit_s=result["fit_s"],
        wall_s=fit.wall,
        epochs=result["epochs"],
        iopub_messages=all_["messages"],
        iopub_bytes=all_["wire_bytes"],
        comm_messages=comm["messages"],
        comm_bytes=comm["wire_bytes"],
        note=result["note"],
        hook_s=result["hook_s"],
        kernel_cpu_s=result["kernel_cpu_s"],
        others_cores=others["total"] / result["span_s"],
        others_new=others["new"],
        others_top=others["top"],
        client_cpu_s=others["own"].get(str(me), 0.0),
        cell_others_cores=cell["total"] / fit.wall,
    )


def run(rounds: int, epochs: int, variants: list[str] | None = None, log=print) -> tuple[list[Row], Section]:
    """``variants``: keys of `VARIANTS` (default: all; "bare" always runs)."""
    names = variants or list(VARIANTS)
    if "bare" not in names:
        names = ["bare", *names]
    runs: list[Run] = []
    for r in range(rounds):
        for name in names:
            log(f"  training: round {r + 1}/{rounds}, {VARIANTS[name][0]} ...")
            one = run_once(name, r, epochs)
            log(f"    fit {one.fit_s:.2f} s, kernel CPU {one.kernel_cpu_s:.2f} s, others "
                f"{one.others_cores:.3f} cores, client wall {one.wall_s:.2f} s, "
                f"{one.iopub_messages} IOPub messages ({one.iopub_bytes:,} B)")  # fmt: skip
            runs.append(one)

    bare = {x.round: x for x in runs if x.variant == "bare"}
    rows: list[Row] = []
    ratios: dict[str, float] = {}
    wall_ratios: dict[str, float] = {}
    cpu_ratios: dict[str, float] = {}
    for name in names:
        mine = [x for x in runs if x.variant == name]
        ratios[name] = statistics.median(x.fit_s / bare[x.round].fit_s for x in mine)
        wall_ratios[name] = statistics.median(x.wall_s / bare[x.round].wall_s for x in mine)
        cpu_ratios[name] = statistics.median(x.kernel_cpu_s / bare[x.round].kernel_cpu_s for x in mine)
    for name in names:
        mine = [x for x in runs if x.variant == name]
        target, met, note = "", None, ""
        if name in TARGETED:
            target = f"<= {FIT_TARGET:.2f}x bare and <= Keras progress bar"
            above = "progbar" in ratios and ratios[name] > ratios["progbar"]
            met = ratios[name] <= FIT_TARGET and "progbar" in ratios and not above
            if above:
                note = f"above Keras's progress bar ({ratios['progbar']:.3f}x)"
        notes = sorted({x.note for x in mine if x.note})
        rows.append(Row("training: fit", VARIANTS[name][0], [x.fit_s for x in mine], "s", ratios[name], target, met,
                        "; ".join([*notes, note] if note else notes)))  # fmt: skip
    for name in names:
        mine = [x for x in runs if x.variant == name]
        row = Row("training: kernel CPU during fit", VARIANTS[name][0], [x.kernel_cpu_s for x in mine], "s",
                  cpu_ratios[name])  # fmt: skip
        if name in TARGETED:
            row.target, row.met = f"<= {CPU_TARGET:.2f}x bare", cpu_ratios[name] <= CPU_TARGET
        rows.append(row)
    for name in names:
        mine = [x for x in runs if x.variant == name]
        row = Row("training: other processes' CPU during fit", VARIANTS[name][0],
                  [x.others_cores for x in mine], "cores")  # fmt: skip
        if name in TARGETED:
            row.target, row.met = f"<= {OTHERS_TARGET:.2f} cores", row.median <= OTHERS_TARGET
        rows.append(row)
    for name in names:
        mine = [x for x in runs if x.variant == name]
        rows.append(
            Row(
                "training: IOPub messages (fit cell)",
                VARIANTS[name][0],
                [x.iopub_messages for x in mine],
                "msgs",
            )
        )
        rows.append(
            Row("training: IOPub bytes (fit cell)", VARIANTS[name][0], [x.iopub_bytes for x in mine], "B")
        )
    for name in names:
        mine = [x for x in runs if x.variant == name]
        rows.append(
            Row("training: client wall", VARIANTS[name][0], [x.wall_s for x in mine], "s", wall_ratios[name])
        )

    if OURS in names and "es-ckpt" in names:  # the checkpoint's writes on both sides
        stock = {x.round: x for x in runs if x.variant == "es-ckpt"}
        mine = [x for x in runs if x.variant == OURS]
        pairs = [(x.fit_s / stock[x.round].fit_s, x.kernel_cpu_s / stock[x.round].kernel_cpu_s) for x in mine]
        fit_ratio = statistics.median(f for f, _ in pairs)
        cpu_ratio = statistics.median(c for _, c in pairs)
        label = "ours, everything on, against EarlyStopping + ModelCheckpoint (same round)"
        rows.append(Row("training: fit", label, [x.fit_s for x in mine], "s", fit_ratio,
                        f"<= {FIT_TARGET:.2f}x", fit_ratio <= FIT_TARGET))  # fmt: skip
        rows.append(Row("training: kernel CPU during fit", label, [x.kernel_cpu_s for x in mine], "s",
                        cpu_ratio, f"<= {CPU_TARGET:.2f}x", cpu_ratio <= CPU_TARGET))  # fmt: skip
    rows += hook_rows(runs, names)

    details = Section("Training overhead: per run")
    details.lines.append(
        textwrap.dedent(f"""\
        Tiny MLP on load_digits, batch_size=8 (180 steps an epoch), {epochs} epochs,
        validation_split=0.2, seed {SEED}; {rounds} round(s), variants interleaved, each fit in a
        fresh kernel after an untimed warm-up fit; the fit cell is sent with allow_stdin=True as
        JupyterLab does. "fit" is perf_counter around model.fit in the kernel; "kernel CPU" is
        process_time around it (every thread of the kernel); "others" is the CPU of every other
        process on the machine (not the kernel, not this benchmark; processes that appeared
        included, the kernel's reaped children included) between snapshots just before and
        after the fit, divided by that interval, in cores; "client CPU" is this benchmark's own
        process over the same interval (the front end's stand-in, draining IOPub); "cell others"
        is the same as "others" from request sent to idle received, as the client sees it.
        "wall" is request sent -> idle received. IOPub counts are every message of the fit cell
        (comm = widget messages), bytes as sent on the wire.
        """)
    )
    details.lines.append("Per variant (medians over rounds; ratios paired with the same round's bare fit):\n")
    details.lines.append(
        "| variant | fit ratio | fit | kernel CPU | CPU ratio | others (cores) | max others | cell others | "
        "IOPub msgs | IOPub bytes | comm msgs | comm bytes |"
    )
    details.lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        mine = [x for x in runs if x.variant == name]

        def med(attr: str) -> float:
            return statistics.median(getattr(x, attr) for x in mine)  # noqa: B023

        details.lines.append(
            f"| {VARIANTS[name][0]} | {ratios[name]:.3f}x | {med('fit_s'):.2f} s | {med('kernel_cpu_s'):.2f} s | "
            f"{cpu_ratios[name]:.3f}x | {med('others_cores'):.3f} | {max(x.others_cores for x in mine):.3f} | "
            f"{med('cell_others_cores'):.3f} | {med('iopub_messages'):,.0f} | {med('iopub_bytes'):,.0f} | "
            f"{med('comm_messages'):,.0f} | {med('comm_bytes'):,.0f} |"
        )
    details.lines.append("")
    details.lines.append(
        "| round | variant | fit | ratio | kernel CPU | others | client CPU | cell others | wall | epochs | "
        "IOPub msgs | IOPub bytes | comm msgs | comm bytes | appeared during the fit | most CPU among others |"
    )
    details.lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for x in runs:
        appeared = ", ".join(f"{n} x{c} ({s:.2f} s)" for n, (c, s) in sorted(x.others_new.items())) or "-"
        top = ", ".join(f"{n} {s:.2f} s" for n, s in x.others_top) or "-"
        details.lines.append(
            f"| {x.round + 1} | {VARIANTS[x.variant][0]} | {x.fit_s:.3f} s | {x.fit_s / bare[x.round].fit_s:.3f}x | "
            f"{x.kernel_cpu_s:.2f} s | {x.others_cores:.3f} | {x.client_cpu_s:.2f} s | {x.cell_others_cores:.3f} | "
            f"{x.wall_s:.3f} s | {x.epochs} | {x.iopub_messages:,} | {x.iopub_bytes:,} | "
            f"{x.comm_messages:,} | {x.comm_bytes:,} | {appeared} | {top} |"
        )
    short = [x for x in runs if x.epochs != epochs]
    if short:
        which = ", ".join(f"{VARIANTS[x.variant][0]} (round {x.round + 1}: {x.epochs})" for x in short)
        details.lines.append(f"\nWARNING: runs that did not train all {epochs} epochs: {which}")
    if "es-ckpt" in ratios and OURS in ratios:
        ref = ratios["es-ckpt"]
        details.lines.append(
            f"\nOurs includes a ModelCheckpoint (save_best_only) that writes files: the same callbacks "
            f"without any display cost {ref:.3f}x bare; ours {ratios[OURS]:.3f}x."
        )
    return rows, details


def hook_rows(runs: list[Run], names: list[str]) -> list[Row]:
    """Time inside the callbacks' hooks, as a share of the fit: the part of the
    overhead that is the callbacks' own work (Python, serializing and queueing
    widget messages, Keras's checkpoint writes), without the machine's noise of a
    ratio between two fits. For ours, also the share without the ModelCheckpoint
    (its file writes cost the same with Keras's callbacks alone, the "es-ckpt"
    variant), compared with every other live display's whole share."""
    rows: list[Row] = []
    medians: dict[str, float] = {}
    for name in names:
        mine = [x for x in runs if x.variant == name and x.hook_s]
        if name not in TIMED_HOOKS or not mine:
            continue
        classes = sorted({c for x in mine for c in x.hook_s})
        labels = [*classes, "all"] if len(classes) > 1 else classes
        for label in labels:
            shares = [100.0 * _hook_total(x, None if label == "all" else label) / x.fit_s for x in mine]
            rows.append(
                Row("training: time in hooks (% of fit)", f"{VARIANTS[name][0]}: {label}", shares, "%")
            )
        medians[name] = statistics.median(100.0 * _hook_total(x) / x.fit_s for x in mine)
        if name.startswith(OURS):
            shares = [100.0 * (_hook_total(x) - x.hook_s.get("ModelCheckpoint", 0.0)) / x.fit_s for x in mine]
            row = Row("training: time in hooks (% of fit)", f"{VARIANTS[name][0]}: all but ModelCheckpoint",
                      shares, "%")  # fmt: skip
            others = {d: medians.get(d) for d in DISPLAYS}
            if name == OURS and all(v is not None for v in others.values()):
                row.target = "below every other live display's hooks"
                row.met = statistics.median(shares) < min(v for v in others.values() if v is not None)
            rows.append(row)
    return rows


def _hook_total(run: Run, label: str | None = None) -> float:
    return sum(run.hook_s.values()) if label is None else run.hook_s.get(label, 0.0)
