"""Runs side by side: what a run is called, which one is best, how the earlier ones are
drawn, and the mean and band of runs that share a label. Plain data in, plain data
out (standard library only); ``figure.py`` draws with it.

A plot holds the *current* run (drawn as today, with its marks and batch curves) and
the earlier ones: a ``fit`` that starts at epoch 1 keeps the run before it, a saved
history or a Keras ``History`` can be added. Earlier runs are drawn faint: their
epoch curves only, lower opacity, thinner, one dash per run. Their batch curves are
kept in the history file but not drawn: a batch curve is already faint and noisy,
and it holds most of a run's points, so several of them would bury the current
run's curves under noise and multiply what the page draws, for little to compare
that the epoch curves do not show.

Each run is one legend group (plotly ``legendgroup`` with ``groupclick:
"togglegroup"``): a click on its legend entry hides or shows the whole run, and
the page keeps that across redraws (the legend's ``uirevision`` does not change
with the run; each trace has a ``uid`` of its run).

The best run is the one with the best score: the best value over its epochs of the
tuner's objective when a Keras Tuner trial said which, else of the monitored value
of the early-stopping controller, else of ``val_loss`` (``loss`` without one).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

from .records import Mode
from .summary import best_value

#: ``aggregate=`` values: a band from the lowest to the highest value of the runs at
#: each epoch, or the mean plus and minus one (population) standard deviation.
AGGREGATES: Final[tuple[str, ...]] = ("minmax", "std")
#: Opacity and line width of an earlier run's curves (the current run's: 1 and 2).
PAST_OPACITY: Final = 0.4
PAST_WIDTH: Final = 1.5
#: The best earlier run is drawn less faint.
BEST_OPACITY: Final = 0.75
BEST_WIDTH: Final = 2.0
#: Dashes of the earlier runs, by run number (run 1 solid, run 2 dotted, ...).
PAST_DASHES: Final[tuple[str, ...]] = ("solid", "dot", "dash", "dashdot", "longdash", "longdashdot")
#: Opacity of an aggregate's band (its fill).
BAND_OPACITY: Final = 0.18
#: Longest run label shown whole; longer ones end with an ellipsis.
MAX_LABEL_CHARS: Final = 60
BEST_SUFFIX: Final = " \u2605 best"


def check_aggregate(value: object) -> str | None:
    """``aggregate=`` validated: ``"minmax"``, ``"std"`` or ``None``.

    Raises:
        ValueError: anything else.

    >>> check_aggregate("std"), check_aggregate(None)
    ('std', None)
    """
    if value is None or (isinstance(value, str) and value in AGGREGATES):
        return value
    raise ValueError(f"Expected aggregate to be one of {AGGREGATES} or None. Received: aggregate={value!r}")


def check_label(value: object) -> str:
    """A run label validated: a non-empty string, stripped.

    Raises:
        TypeError: not a string.
        ValueError: empty.
    """
    if not isinstance(value, str):
        raise TypeError(
            f"Expected a run label to be a string. Received: {value!r} of type {type(value).__name__}"
        )
    label = value.strip()
    if not label:
        raise ValueError(f"Expected a non-empty run label. Received: {value!r}")
    return label


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def trial_label(trial_id: str, hyperparameters: Mapping[str, Any] | None = None) -> str:
    """A Keras Tuner trial's run label: its id and its hyperparameters' values,
    shortened to `MAX_LABEL_CHARS`.

    >>> trial_label("03", {"units": 8, "lr": 0.00123456})
    'trial 03: units=8, lr=0.001235'
    >>> trial_label("1")
    'trial 1'
    """
    label = f"trial {trial_id}"
    if hyperparameters:
        label += ": " + ", ".join(f"{name}={_format_value(v)}" for name, v in hyperparameters.items())
    if len(label) > MAX_LABEL_CHARS:
        label = label[: MAX_LABEL_CHARS - 1] + "\u2026"
    return label


@dataclass
class RunInfo:
    """What a run is: its number, label and whether it is hidden, and, for a Keras
    Tuner trial, its id, hyperparameters and objective.

    Args:
        number: 1-based, counted over the runs a plot has drawn; never reused.
        label: shown in the legend and the hover text. Defaults to ``"run <number>"``.
        named: the label was given (`new_run`, a trial, a file), not made up.
            Defaults to False.
        hidden: drawn as a legend entry only. Defaults to False.
        trial_id: the Keras Tuner trial's id. Defaults to None.
        hyperparameters: the trial's hyperparameter values. Defaults to none.
        objective: the metric the tuner optimizes, e.g. ``"val_loss"``. Defaults to None.
        direction: ``"min"`` or ``"max"``, the objective's. Defaults to None.

    Example:

    >>> info = RunInfo(2)
    >>> info.label, RunInfo.from_dict(info.to_dict()) == info
    ('run 2', True)
    """

    number: int
    label: str = ""
    named: bool = False
    hidden: bool = False
    trial_id: str | None = None
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    objective: str | None = None
    direction: Mode | None = None

    def __post_init__(self) -> None:
        if not self.label:
            self.label = f"run {self.number}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (hyperparameter values other than numbers, strings, bools and
        ``None`` are written as strings)."""
        data: dict[str, Any] = {"number": self.number, "label": self.label, "named": self.named}
        if self.hidden:
            data["hidden"] = True
        if self.trial_id is not None:
            data["trial_id"] = self.trial_id
        if self.hyperparameters:
            data["hyperparameters"] = {str(k): _json_value(v) for k, v in self.hyperparameters.items()}
        if self.objective is not None:
            data["objective"] = self.objective
            data["direction"] = self.direction
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], number: int | None = None) -> RunInfo:
        """Reads `to_dict`'s output; ``number`` (when given) replaces the saved one.

        Raises:
            ValueError: not a dict.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"Expected a run's description to be a JSON object. Received: {data!r}")
        direction = data.get("direction")
        hyper = data.get("hyperparameters")
        trial = data.get("trial_id")
        objective = data.get("objective")
        return cls(
            number=int(number if number is not None else data.get("number") or 1),
            label=str(data.get("label") or ""),
            named=bool(data.get("named", False)),
            hidden=bool(data.get("hidden", False)),
            trial_id=None if trial is None else str(trial),
            hyperparameters=dict(hyper) if isinstance(hyper, Mapping) else {},
            objective=None if objective is None else str(objective),
            direction=direction if direction in ("min", "max") else None,
        )

    def renumbered(self, number: int) -> RunInfo:
        """A copy with another number (an auto label follows it)."""
        label = self.label if self.named else ""
        return replace(self, number=number, label=label)


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return str(value)


# -- the best run -------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreRule:
    """Which value ranks runs: the best of ``metric`` over a run's epochs, by ``mode``.

    Example:

    >>> ScoreRule("val_loss", "min").score([1, 2, 3], [0.9, 0.4, 0.5])
    0.4
    """

    metric: str
    mode: Mode
    source: str = "default"  # "objective", "monitor" or "default"

    def score(self, epochs: list[int], values: list[float | None]) -> float | None:
        """The best finite value of the run (``None``: none)."""
        return best_value(epochs, values, self.mode)[0]

    def better(self, a: float, b: float) -> bool:
        return a < b if self.mode == "min" else a > b


def score_rule(
    objectives: Iterable[tuple[str | None, Mode | None]],
    monitor: tuple[str, Mode | None] | None,
    metrics: Iterable[str],
) -> ScoreRule | None:
    """The rule that ranks runs: the last known tuner objective, else the monitor
    (with a resolved mode), else ``val_loss`` or ``loss`` (min) when logged.

    >>> score_rule([("val_mae", "min")], ("val_loss", "min"), ["loss"]).metric
    'val_mae'
    >>> score_rule([], None, ["loss", "val_loss"])
    ScoreRule(metric='val_loss', mode='min', source='default')
    >>> score_rule([], None, ["accuracy"]) is None
    True
    """
    for name, mode in reversed(list(objectives)):
        if name and mode in ("min", "max"):
            return ScoreRule(name, mode, "objective")
    if monitor is not None and monitor[1] in ("min", "max"):
        return ScoreRule(monitor[0], monitor[1], "monitor")
    names = set(metrics)
    for name in ("val_loss", "loss"):
        if name in names:
            return ScoreRule(name, "min", "default")
    return None


def best_run(scores: Mapping[int, float | None], rule: ScoreRule) -> int | None:
    """The number of the best-scored run (the first on a tie), or ``None`` with
    fewer than two scored runs (one run is not "best" of anything).

    >>> best_run({1: 0.5, 2: 0.3, 3: None}, ScoreRule("loss", "min"))
    2
    >>> best_run({1: 0.5, 2: None}, ScoreRule("loss", "min")) is None
    True
    """
    scored = [
        (number, value) for number, value in scores.items() if value is not None and math.isfinite(value)
    ]
    if len(scored) < 2:
        return None
    best_number, best = scored[0]
    for number, value in scored[1:]:
        if rule.better(value, best):
            best_number, best = number, value
    return best_number


# -- how a run is drawn ---------------------------------------------------------------


def past_style(number: int, *, best: bool = False) -> dict[str, Any]:
    """The style of an earlier run's curves: ``opacity``, ``line`` width and dash,
    ``marker`` size (to merge into the trace's own line and marker).

    >>> past_style(2)
    {'opacity': 0.4, 'line': {'width': 1.5, 'dash': 'dot'}, 'marker': {'size': 3}}
    """
    return {
        "opacity": BEST_OPACITY if best else PAST_OPACITY,
        "line": {
            "width": BEST_WIDTH if best else PAST_WIDTH,
            "dash": PAST_DASHES[(number - 1) % len(PAST_DASHES)],
        },
        "marker": {"size": 3},
    }


def run_group(number: int) -> str:
    """The legend group of run ``number``."""
    return f"run-{number}"


def legend_layout() -> dict[str, Any]:
    """What the layout's ``legend`` gets when runs are shown: a click toggles the
    run (the group), and the legend's ``uirevision`` stays, so the page keeps what
    was hidden across redraws and runs."""
    return {"groupclick": "togglegroup", "uirevision": "runs", "tracegroupgap": 4}


# -- runs sharing a label: mean and band --------------------------------------------


@dataclass(frozen=True)
class Aggregate:
    """The runs of one label at each epoch: mean, band and how many runs had a value.

    ``lower``/``upper`` are the min/max (``"minmax"``) or the mean -/+ the population
    standard deviation (``"std"``); ``None`` where no run has a finite value.
    """

    epochs: list[int]
    mean: list[float | None]
    lower: list[float | None]
    upper: list[float | None]
    count: list[int]


def aggregate(series: Sequence[tuple[Sequence[int], Sequence[float | None]]], kind: str) -> Aggregate:
    """Mean and band of several runs' values of one metric, epoch by epoch.

    ``series`` holds ``(epochs, values)`` per run (1-based epochs). Runs may have
    different lengths (a run stopped early): each epoch counts the runs that have a
    finite value there. NaN, inf and ``None`` are left out.

    Args:
        series: one ``(epochs, values)`` per run.
        kind: ``"minmax"`` or ``"std"``.

    Raises:
        ValueError: an unknown ``kind``.

    Example:

    >>> a = aggregate([([1, 2, 3], [1.0, 2.0, 3.0]), ([1, 2], [3.0, None])], "minmax")
    >>> a.epochs, a.mean, a.lower, a.upper, a.count
    ([1, 2, 3], [2.0, 2.0, 3.0], [1.0, 2.0, 3.0], [3.0, 2.0, 3.0], [2, 1, 1])
    >>> aggregate([([1], [1.0]), ([1], [3.0])], "std").upper
    [3.0]
    """
    if kind not in AGGREGATES:
        raise ValueError(f"Expected aggregate to be one of {AGGREGATES}. Received: {kind!r}")
    by_epoch: dict[int, list[float]] = {}
    for epochs, values in series:
        for epoch, value in zip(epochs, values):
            column = by_epoch.setdefault(int(epoch), [])
            if value is not None and math.isfinite(value):
                column.append(float(value))
    out = Aggregate([], [], [], [], [])
    for epoch in sorted(by_epoch):
        values = by_epoch[epoch]
        out.epochs.append(epoch)
        out.count.append(len(values))
        if not values:
            out.mean.append(None)
            out.lower.append(None)
            out.upper.append(None)
            continue
        mean = math.fsum(values) / len(values)
        out.mean.append(mean)
        if kind == "minmax":
            out.lower.append(min(values))
            out.upper.append(max(values))
        else:
            spread = statistics.pstdev(values, mu=mean) if len(values) > 1 else 0.0
            out.lower.append(mean - spread)
            out.upper.append(mean + spread)
    return out


def label_groups(labels: Mapping[int, str]) -> dict[str, list[int]]:
    """Run numbers by label, for the labels that two runs or more share (in the
    order the labels first appear).

    >>> label_groups({1: "a", 2: "b", 3: "a", 4: "c", 5: "a"})
    {'a': [1, 3, 5]}
    """
    groups: dict[str, list[int]] = {}
    for number, label in labels.items():
        groups.setdefault(label, []).append(number)
    return {label: numbers for label, numbers in groups.items() if len(numbers) > 1}


def mean_times(
    series: Sequence[tuple[Sequence[int], Sequence[float | None]]], epochs: Sequence[int]
) -> list[float | None]:
    """The mean of the runs' known times at each of ``epochs`` (for the time axis).

    >>> mean_times([([1, 2], [1.0, 2.0]), ([1], [3.0])], [1, 2, 3])
    [2.0, 2.0, None]
    """
    result: list[float | None] = []
    for epoch in epochs:
        known = [
            float(t)
            for run_epochs, times in series
            for e, t in zip(run_epochs, times)
            if e == epoch and t is not None and math.isfinite(t)
        ]
        result.append(round(math.fsum(known) / len(known), 3) if known else None)
    return result
