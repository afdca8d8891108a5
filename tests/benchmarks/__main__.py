"""Run the benchmarks and print one table: ``python -m tests.benchmarks [--quick] [--rounds N]``.

See README.md beside this file for what each benchmark measures.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import time
import traceback
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from . import _report
from ._kernel import REPO_ROOT
from ._report import Row, Section

ALL = ("training", "messages", "frontend", "stop", "bundle", "jax")


def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m tests.benchmarks",
        description="Benchmarks of widget_callbacks: training overhead, message growth, "
        "front-end rendering, stop latency, bundle size. Prints one table and writes it to --out.",
    )
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 1 round of 3 epochs, messages up to epoch 1,000, a small front-end "
                        "state (1,000 epochs, 100k batch points, 20 updates), 1 stop run")  # fmt: skip
    p.add_argument("--rounds", type=int, help="training rounds, variants interleaved (default 5; quick 1)")
    p.add_argument("--epochs", type=int, help="training epochs (default 30; quick 3)")
    p.add_argument(
        "--variants",
        help="training variants, comma-separated keys (default: all; bare always runs): bare, progbar, "
        "tensorboard, tqdm, livelossplot, figurewidget, es-ckpt, batch-pass, ours-plot, ours-no-panel, ours-no-ckpt, ours "
        "(ours = everything on, with the ControlPanel)",
    )
    p.add_argument("--only", help=f"comma-separated subset of {','.join(ALL)}")
    p.add_argument("--message-epochs", help="epochs where an update is measured (default 10,100,1000,10000; "
                                            "quick 10,100,1000)")  # fmt: skip
    p.add_argument("--frontend-epochs", type=int, help="front-end state: epochs (default 10000; quick 1000)")
    p.add_argument(
        "--frontend-batch-points",
        type=int,
        help="front-end state: batch points in all (default 1000000; quick 100000)",
    )
    p.add_argument("--updates", type=int, help="front-end incremental updates (default 100; quick 20)")
    p.add_argument("--stop-runs", type=int, help="stop-latency runs (default 5; quick 1)")
    p.add_argument("--out", default=str(REPO_ROOT / "artifacts" / "bench.md"),
                   help="markdown report (default artifacts/bench.md)")  # fmt: skip
    args = p.parse_args(argv)
    q = args.quick
    args.rounds = args.rounds or (1 if q else 5)
    args.epochs = args.epochs or (3 if q else 30)
    args.message_epochs = [
        int(x) for x in (args.message_epochs or ("10,100,1000" if q else "10,100,1000,10000")).split(",")
    ]
    args.frontend_epochs = args.frontend_epochs or (1000 if q else 10_000)
    args.frontend_batch_points = args.frontend_batch_points or (100_000 if q else 1_000_000)
    args.updates = args.updates or (20 if q else 100)
    args.stop_runs = args.stop_runs or (1 if q else 5)
    args.only = [x.strip() for x in (args.only or ",".join(ALL)).split(",") if x.strip()]
    unknown = set(args.only) - set(ALL)
    if unknown:
        p.error(f"--only: unknown {sorted(unknown)}; expected some of {ALL}")
    if args.variants:
        from .bench_training import VARIANTS

        args.variants = [v.strip() for v in args.variants.split(",")]
        bad = [v for v in args.variants if v not in VARIANTS]
        if bad:
            p.error(f"--variants: unknown {bad}; expected names among {list(VARIANTS)}")
    return args


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    # A SIGTERM unwinds like Ctrl-C, so the kernels, servers and browsers started
    # here are shut down by their context managers instead of left running.
    signal.signal(signal.SIGTERM, _interrupt)
    argv = sys.argv[1:] if argv is None else argv
    args = _parse(argv)
    command = "python -m tests.benchmarks" + (" " + shlex.join(argv) if argv else "")
    load_before = _report.load_now()
    rows: list[Row] = []
    sections: list[Section] = []
    started = time.monotonic()

    def step(name: str, fn, label: str) -> None:
        if name not in args.only:
            return
        log(f"{label} ...")
        t0 = time.monotonic()
        try:
            r, s = fn()
        except Exception as error:
            detail = traceback.format_exc()
            log(detail)
            r = [
                Row(label, "-", [], "", skipped=f"{type(error).__name__}: {str(error).splitlines()[0][:200]}")
            ]
            s = Section(label, ["FAILED:", "```", detail.strip(), "```"])
        rows.extend(r)
        s.title += f" ({time.monotonic() - t0:.0f} s)"
        sections.append(s)

    from . import bench_async, bench_bundle, bench_frontend, bench_messages, bench_stop, bench_training

    step("training", lambda: bench_training.run(args.rounds, args.epochs, args.variants, log=log),
         "1. training overhead")  # fmt: skip
    step("messages", lambda: bench_messages.run(args.message_epochs, log=log), "2. message growth")
    step("frontend", lambda: bench_frontend.run(args.frontend_epochs, args.frontend_batch_points,
                                                args.updates, log=log), "3. front-end rendering")  # fmt: skip
    step("stop", lambda: bench_stop.run(args.stop_runs, log=log), "4. stop latency")
    step("bundle", lambda: bench_bundle.run(log=log), "5. bundle size")
    step("jax", lambda: bench_async.run(args.rounds, args.epochs, log=log), "6. batch-hook dispatch on JAX")

    head = _report.machine(command, load_before)
    head.append(f"- total time: {time.monotonic() - started:.0f} s")
    if args.quick:
        head.append("- QUICK MODE: smoke settings, not the figures to publish")
    notes = [f"- {r.benchmark} / {r.variant}: {r.note}" for r in rows if r.note]
    text = "\n".join([
        "# widget_callbacks benchmarks",
        "",
        *head,
        "",
        _report.table(rows),
        "",
        *(["Notes:", *notes, ""] if notes else []),
        *[part for s in sections for part in (f"## {s.title}", "", *s.lines, "")],
    ])  # fmt: skip
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print("\n".join(head))
    print()
    print(_report.table(rows))
    if notes:
        print("\nNotes:\n" + "\n".join(notes))
    print(f"\nFull report with details: {out}")
    # Missed targets are results, not errors: exit 1 only when a benchmark could not run.
    return 1 if any(r.skipped for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
