"""Where the kernel's time goes during a benchmark fit: py-spy on a real kernel.

``python -m tests.benchmarks.profile_kernel [variant ...] [--epochs N] [--rate HZ]``
runs each training variant of benchmark 1 (`bench_training.VARIANTS`, default
``bare ours``) in a fresh kernel as that benchmark does, samples the kernel with
``py-spy record --threads`` (every Python thread: the main thread, ipykernel's
IOPub and shell-channel threads, ours) during the timed fit only, and prints the
samples by thread and by what the stack is doing. Samples are of Python stacks
that hold or wait for the GIL: TensorFlow's own C++ threads are not seen, which
is what a bare fit is made of; what ours adds in Python is.
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import time

from . import _cpu, bench_training
from ._kernel import Kernel

_SAVING = ("keras/src/saving", "_save_model")
_OURS = ("widget_callbacks/",)
_MESSAGES = ("ipywidgets/", "comm/", "jupyter_client/session", "ipykernel/iostream", "zmq/", "traitlets/")
#: (label, substrings of a frame): the innermost frame that matches one names the sample.
LEAF_CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Keras callbacks dispatch (callback_list, pythonify_logs)", ("callbacks/callback_list", "python_utils")),
    ("TensorFlow / Keras step (Python side)", ("tensorflow/", "keras/")),
    ("IOPub, ZMQ, widget messages (not ours)", _MESSAGES),
)


def categorize(stack: str) -> str:
    """What a sampled stack is doing: a ModelCheckpoint write or our code (anywhere in
    the stack; ours split by whether it is sending a message), else the innermost
    frame that names one of `LEAF_CATEGORIES`."""
    if "psutil/" in stack:
        return "the benchmark's CPU snapshots (psutil, before and after the fit)"
    if any(n in stack for n in _SAVING):
        return "ModelCheckpoint writes (Keras saving)"
    if any(n in stack for n in _OURS):
        ours = stack[stack.index("widget_callbacks/") :]
        sending = any(n in ours for n in _MESSAGES)
        return "ours: sending widget messages" if sending else "ours: our code"
    for frame in reversed(stack.split(";")):
        for label, needles in LEAF_CATEGORIES:
            if any(n in frame for n in needles):
                return label
    return "other"


def profile(variant: str, epochs: int, rate: int, out_dir: str) -> dict[str, object]:
    raw = os.path.join(out_dir, f"{variant}.txt")
    with Kernel() as kernel:
        kernel.run(bench_training.SETUP.format(epochs=epochs, seed=bench_training.SEED))
        kernel.run(_cpu.SOURCE)
        kernel.run(bench_training.VARIANTS[variant][1] + "\nmodel = make_model()\n")
        pid = kernel.value("os.getpid()")
        spy = subprocess.Popen(
            [
                "py-spy",
                "record",
                "-p",
                str(pid),
                "-r",
                str(rate),
                "-f",
                "raw",
                "-o",
                raw,
                "--threads",
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)  # py-spy attached
        kernel.run(bench_training.FIT.format(bench_pid=os.getpid()), allow_stdin=True)
        result = kernel.value(bench_training.RESULT)
        spy.send_signal(2)
        spy.wait(60)
    threads: collections.Counter[str] = collections.Counter()
    kinds: collections.Counter[str] = collections.Counter()
    for line in open(raw):
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack:
            continue
        n = int(count)
        threads[stack.split(";")[0].split(":")[-1].strip()] += n
        kinds[categorize(stack)] += n
    return {
        "fit_s": result["fit_s"],
        "kernel_cpu_s": result["kernel_cpu_s"],
        "threads": threads,
        "kinds": kinds,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.benchmarks.profile_kernel", description=__doc__)
    p.add_argument("variants", nargs="*", default=["bare", "ours"], help="keys of bench_training.VARIANTS")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    args = p.parse_args(argv)
    out_dir = tempfile.mkdtemp(prefix="profile-kernel-")
    for variant in args.variants:
        found = profile(variant, args.epochs, args.rate, out_dir)
        kinds: collections.Counter[str] = found["kinds"]  # type: ignore[assignment]
        threads: collections.Counter[str] = found["threads"]  # type: ignore[assignment]
        total = sum(kinds.values()) or 1
        print(f"\n## {bench_training.VARIANTS[variant][0]}")
        print(
            f"fit {found['fit_s']:.2f} s, kernel CPU {found['kernel_cpu_s']:.2f} s, {total} samples at {args.rate} Hz"
        )
        print("| thread | samples | share |\n|---|---|---|")
        for name, n in threads.most_common():
            print(f"| {name} | {n} | {100 * n / total:.1f} % |")
        print("| what the stack is doing | samples | share |\n|---|---|---|")
        for name, n in kinds.most_common():
            print(f"| {name} | {n} | {100 * n / total:.1f} % |")
    print(f"\nRaw py-spy stacks: {out_dir}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    sys.exit(main())
