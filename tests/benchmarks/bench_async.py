"""6. Batch-hook dispatch on JAX: our callbacks with and without ``async_safe``.

On JAX and PyTorch, Keras runs ``on_train_batch_end`` on a thread pool when every
callback that overrides it says ``async_safe = True``; one that does not makes every
step wait for its hooks (and for the step's logs). Ours say so (`BatchGate`, the
controller's lock). Same workload and kernels as benchmark 1 (`bench_training`),
with ``KERAS_BACKEND=jax``; each fit in a fresh kernel, variants interleaved:

- bare ``fit(verbose=0)``;
- the control ``on_train_batch_end = pass`` (synchronous dispatch, nothing else);
- ours: ``LivePlot`` + ``EarlyStoppingController``, displayed (async dispatch);
- the same with ``async_safe = False`` on both (what they cost without it).

No ``ModelCheckpoint`` here: Keras's own overrides ``on_train_batch_end`` without
``async_safe``, so any fit with one is synchronous whatever else it holds.
"""

from __future__ import annotations

import statistics

from . import bench_training
from ._report import Row, Section

ENV = {"KERAS_BACKEND": "jax"}

_OURS = """
from widget_callbacks import EarlyStoppingController, LivePlot
from widget_callbacks.adapters.plot_feed import PlotFeedCallback

plot = LivePlot(static_fallback=False)
es = EarlyStoppingController(monitor="val_loss", patience=EPOCHS)
plot.attach(es)
display(plot)
callbacks = [plot.callback, es]
"""

_OURS_SYNC = (
    _OURS
    + """
class _SyncFeed(PlotFeedCallback):
    async_safe = False

class _SyncController(EarlyStoppingController):
    async_safe = False

plot.callback.__class__ = _SyncFeed
es.__class__ = _SyncController
"""
)

#: key -> (label, code run after bench_training.SETUP)
VARIANTS: dict[str, tuple[str, str]] = {
    "bare": ("JAX: bare fit(verbose=0)", ""),
    "batch-pass": ("JAX: control on_train_batch_end = pass (sync)", bench_training._BATCH_PASS),
    "ours": ("JAX: ours, LivePlot + EarlyStoppingController (async_safe)", _OURS),
    "ours-sync": ("JAX: ours with async_safe = False (sync every step)", _OURS_SYNC),
}

_PROBE = (
    "from keras.src.callbacks.callback_list import CallbackList as _CL\n"
    "_bench_note = 'async dispatch' if _CL(callbacks)._async_train else 'sync dispatch'"
)


def run(rounds: int, epochs: int, log=print) -> tuple[list[Row], Section]:
    runs: dict[str, list[bench_training.Run]] = {name: [] for name in VARIANTS}
    for r in range(rounds):
        for name, (label, code) in VARIANTS.items():
            log(f"  jax: round {r + 1}/{rounds}, {label} ...")
            one = bench_training.run_once(name, r, epochs, code=code + "\n" + _PROBE, env=ENV)
            log(f"    fit {one.fit_s:.2f} s, kernel CPU {one.kernel_cpu_s:.2f} s, {one.note}")
            runs[name].append(one)
    bare = runs["bare"]
    rows: list[Row] = []
    section = Section("Batch-hook dispatch on JAX: per run")
    section.lines.append("| variant | dispatch | fit ratio | fit (median) | kernel CPU ratio | per step |")
    section.lines.append("|---|---|---|---|---|---|")
    steps = 180 * epochs
    for name, (label, _) in VARIANTS.items():
        mine = runs[name]
        ratio = statistics.median(m.fit_s / b.fit_s for m, b in zip(mine, bare))
        cpu = statistics.median(m.kernel_cpu_s / b.kernel_cpu_s for m, b in zip(mine, bare))
        fit = statistics.median(m.fit_s for m in mine)
        notes = "; ".join(sorted({m.note for m in mine if m.note}))
        rows.append(Row("jax dispatch: fit", label, [m.fit_s for m in mine], "s", ratio, note=notes))
        rows.append(Row("jax dispatch: kernel CPU", label, [m.kernel_cpu_s for m in mine], "s", cpu))
        section.lines.append(
            f"| {label} | {notes or '-'} | {ratio:.3f}x | {fit:.2f} s | {cpu:.3f}x | "
            f"{1000 * fit / steps:.3f} ms |"
        )
    section.lines.append("")
    section.lines.append(
        f"{rounds} round(s) of {epochs} epochs (180 steps each, validation included in the fit's "
        "time); ratios paired with the same round's bare fit, medians."
    )
    return rows, section
