"""Result rows, the summary table and the machine description."""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Row:
    """One line of the summary table.

    ``values`` are the samples (one per round, per update, ...); min, median and
    max are taken over them. ``ratio`` is the benchmark's own comparison (to the
    bare fit of the same round, to epoch 10, ...), already a median where it is
    per round. ``met`` is None when the row has no target or was not measured.
    """

    benchmark: str
    variant: str
    values: Sequence[float]
    unit: str
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""
    skipped: str = ""  # why it was not measured

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def high(self) -> float:
        return max(self.values)


@dataclass
class Section:
    """Details printed after the table (per-benchmark notes, raw figures)."""

    title: str
    lines: list[str] = field(default_factory=list)


def fmt(value: float, unit: str) -> str:
    if unit == "B":
        return f"{value:,.0f} B"
    if unit == "s":
        return f"{value:.3f} s" if value < 100 else f"{value:.1f} s"
    if unit == "ms":
        return f"{value:.2f} ms" if value < 100 else f"{value:.0f} ms"
    if unit == "MB":
        return f"{value:.2f} MB"
    if unit == "msgs":
        return f"{value:,.0f}"
    if unit == "cores":
        return f"{value:.3f} cores"
    if unit == "%":
        return f"{value:.2f} %"
    return f"{value:g} {unit}".strip()


def table(rows: Sequence[Row]) -> str:
    head = ["benchmark", "variant", "min", "median", "max", "ratio", "target", "met?"]
    body: list[list[str]] = []
    for r in rows:
        if r.skipped or not r.values:
            body.append([r.benchmark, r.variant, "-", "-", "-", "-", r.target, f"not run: {r.skipped}"])
            continue
        met = "" if r.met is None else ("yes" if r.met else "NO")
        body.append(
            [
                r.benchmark,
                r.variant,
                fmt(r.low, r.unit),
                fmt(r.median, r.unit),
                fmt(r.high, r.unit),
                "" if r.ratio is None else f"{r.ratio:.3f}x",
                r.target,
                met,
            ]
        )
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return "\n".join(lines)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory() -> str:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    kib = int(line.split()[1])
                    return f"{kib / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def _versions() -> str:
    from importlib import metadata

    names = ["tensorflow-cpu", "keras", "anywidget", "plotly", "ipykernel", "jupyter_client",
             "jupyterlab", "playwright", "tqdm", "livelossplot", "tensorboard"]  # fmt: skip
    out = []
    for name in names:
        try:
            out.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(f"{name} (not installed)")
    return ", ".join(out)


def _git() -> str:
    try:
        from ._kernel import REPO_ROOT

        sha = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()  # fmt: skip
        return sha + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine(command: str, load_before: str) -> list[str]:
    return [
        f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}",
        f"- machine: {os.cpu_count()} CPUs (nproc), {_cpu_model()}, {_memory()} memory, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
        f"- load average (1, 5, 15 min): before {load_before}, after {_load()}",
        f"- versions: {_versions()}",
        f"- commit: {_git()}",
        f"- command: `{command}`",
    ]


def load_now() -> str:
    return _load()
