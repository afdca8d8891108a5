"""Export: the figure, each file format, bad input, the history and its replay."""

from __future__ import annotations

import json
import math
import os
import struct
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import plotly.io as pio
import pytest

from widget_callbacks import LivePlot
from widget_callbacks.core.outcome import STOP_PATIENCE
from widget_callbacks.core.records import CheckpointRecord, StoppingSnapshot
from widget_callbacks.export import files as export
from widget_callbacks.export.images import ChromiumNotFoundError, find_chromium

REPO = Path(__file__).resolve().parents[1]
needs_chromium = pytest.mark.skipif(find_chromium() is None, reason="no Chromium for kaleido")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def feed(plot: LivePlot, epochs: int = 12, *, end: bool = True) -> LivePlot:
    """A run with every mark: batch curves, a NaN, a checkpoint, a patience stop and
    restored weights. Values are plain numbers, as a Keras fit would log them."""
    plot.begin_fit(epochs, 10)
    for epoch in range(1, epochs + 1):
        plot.begin_epoch(epoch)
        for batch in (4, 8):
            plot.end_batch(batch, {"loss": 1.0 / epoch + batch / 100, "accuracy": 1 - 1.0 / epoch})
        val_loss = math.nan if epoch == 3 else 1.0 / epoch + 0.1 + 0.03 * max(epoch - 7, 0)
        plot.end_epoch(
            epoch,
            {
                "loss": 1.0 / epoch,
                "val_loss": val_loss,
                "accuracy": 1 - 1.0 / epoch,
                "val_accuracy": 0.9 - 1.0 / epoch,
            },
        )
        if epoch in (5, 7):
            plot.add_checkpoint(
                CheckpointRecord(epoch=epoch, path=f"ckpt-{epoch}.keras", value=val_loss, monitor="val_loss")
            )
    if end:
        plot.set_stopping(
            StoppingSnapshot(
                monitor="val_loss",
                mode="min",
                patience=4,
                wait=4,
                best=1 / 7 + 0.1,
                best_epoch=7,
                last_epoch=epochs,
                stopped_epoch=epochs,
                stop_reason=STOP_PATIENCE,
                restored_epoch=7,
            )
        )
        plot.end_fit("stopped", STOP_PATIENCE)
    return plot


@pytest.fixture
def plot() -> LivePlot:
    return feed(LivePlot(static_fallback=False))


def normalized(value):
    """JSON round trip: tuples -> lists, numpy -> Python, as plotly.js would get it."""
    return json.loads(
        pio.to_json(value, validate=False) if hasattr(value, "to_plotly_json") else json.dumps(value)
    )


# -- the figure -------------------------------------------------------------------


def test_to_figure_is_the_live_description_with_an_empty_template(plot):
    live = plot.state.figure()
    figure = export.to_figure(plot)
    assert figure is not export.to_figure(plot)
    exported = normalized(figure)
    template = exported["layout"].pop("template")
    assert template.get("layout", {}) == {}  # no colorway, no backgrounds, no fonts
    assert exported["layout"] == normalized(live["layout"])
    # plotly.py drops each trace's uid (the page's key of what the legend hid)
    assert exported["data"] == [{k: v for k, v in t.items() if k != "uid"} for t in normalized(live["data"])]
    roles = [t["meta"]["role"] for t in exported["data"]]
    for role in ("metric", "batch", "checkpoint", "non_finite", "best", "stop"):
        assert role in roles, role
    annotations = " ".join(a["text"] for a in exported["layout"]["annotations"])
    assert "patience exhausted" in annotations and "weights restored from epoch 7" in annotations
    assert len(exported["layout"]["shapes"]) >= 3  # best line, patience band, stop line
    assert plot.to_figure().to_dict() == figure.to_dict()


def test_changing_the_figure_leaves_the_plot_alone(plot):
    figure = export.to_figure(plot)
    figure.data[0].y = [0] * len(figure.data[0].y)
    figure.update_layout(height=10)
    assert plot.state.figure()["layout"]["height"] != 10
    assert plot.state.traces[0]["y"][-1] != 0


def test_empty_plot_gives_an_empty_figure_with_labelled_axes(tmp_path):
    plot = LivePlot(static_fallback=False)
    figure = export.to_figure(plot)
    assert list(figure.data) == []
    assert figure.layout.xaxis.title.text == "epoch"
    assert figure.layout.yaxis.title.text == "loss"
    for suffix in ("html", "json"):
        assert plot.save(tmp_path / f"empty.{suffix}").stat().st_size > 0


# -- files ------------------------------------------------------------------------


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def figure_from_html(text: str) -> list[dict]:
    """The ``(data, layout)`` of every ``Plotly.newPlot(gd, data, layout, config)`` in a page."""
    decoder = json.JSONDecoder()
    found = []
    for part in text.split("window.Plotly.newPlot(gd, ")[1:]:
        data, end = decoder.raw_decode(part)
        layout, _ = decoder.raw_decode(part[end + 2 :])
        found.append({"data": data, "layout": layout})
    return found


def test_html_is_standalone_and_holds_the_data(plot, tmp_path):
    path = plot.save(tmp_path / "run.html")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert '<script src="http' not in text and "<script src='http" not in text
    assert text.count("* plotly.js v") == 1  # the library, inlined once
    (drawn,) = figure_from_html(text)
    exported = normalized(export.to_figure(plot))
    assert drawn["data"] == exported["data"]
    assert drawn["layout"] == exported["layout"]
    assert "weights restored from epoch 7" in text and "ckpt-5.keras" in text


def test_json_is_plotly_json(plot, tmp_path):
    path = plot.save(tmp_path / "run.json")
    figure = pio.read_json(path)
    assert [t.name for t in figure.data] == [t["name"] for t in plot.state.figure()["data"]]
    live = [{k: v for k, v in t.items() if k != "uid"} for t in normalized(plot.state.figure()["data"])]
    assert normalized(figure)["data"] == live  # (plotly's JSON has no trace uids)


def test_format_overrides_the_suffix_and_sizes_apply(plot, tmp_path):
    path = plot.save(tmp_path / "figure.data", format="JSON", width=640, height=300)
    layout = json.loads(path.read_text())["layout"]
    assert (layout["width"], layout["height"]) == (640, 300)
    assert plot.save(tmp_path / "UPPER.HTML").read_text().startswith("<!DOCTYPE html>")


@needs_chromium
def test_png_svg_pdf(plot, tmp_path):
    png = plot.save(tmp_path / "run.png").read_bytes()
    assert png_size(png) == (900, plot.state.layout()["height"])
    assert png_size(plot.save(tmp_path / "big.png", width=500, height=400, scale=2).read_bytes()) == (
        1000,
        800,
    )

    svg = plot.save(tmp_path / "run.svg").read_text(encoding="utf-8")
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    texts = {"".join(e.itertext()) for e in root.iter() if e.tag.endswith("text")}
    for name in ("loss", "val_loss", "accuracy", "val_accuracy", "checkpoint", "epoch"):
        assert name in texts, name
    traces = [e for e in root.iter() if e.tag.endswith("g") and "trace" in e.get("class", "").split()]
    assert len(traces) >= len(plot.state.figure()["data"]) - 1  # legend-less overlays included

    pdf = plot.save(tmp_path / "run.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@needs_chromium
def test_export_during_a_real_fit_has_the_curves_so_far(tmp_path):
    import keras

    plot = LivePlot(static_fallback=False)
    seen: list[int] = []

    class SaveEachEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            figure = json.loads(plot.save(tmp_path / f"epoch{epoch + 1}.json").read_text())
            seen.append(len(next(t for t in figure["data"] if t["name"] == "loss")["x"]))
            if epoch == 1:
                assert png_size(plot.save(tmp_path / "mid.png").read_bytes())[0] == 900

    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    model.fit(x, x.sum(axis=1), epochs=3, verbose=0, callbacks=[plot.callback, SaveEachEpoch()])
    assert seen == [1, 2, 3]


# -- bad input --------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, kwargs", [("run.jpg", {}), ("run", {}), ("run.png", {"format": "gif"}), ("run.png", {"format": 3})]
)
def test_unknown_suffix_or_format_lists_the_supported_ones(plot, tmp_path, name, kwargs):
    with pytest.raises(ValueError, match=r"html, png, svg, pdf, json.*Received"):
        plot.save(tmp_path / name, **kwargs)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kwargs", [{"width": 0}, {"height": -1}, {"scale": "2"}, {"width": True}])
def test_bad_sizes(plot, tmp_path, kwargs):
    with pytest.raises(ValueError, match="must be a number > 0"):
        plot.save(tmp_path / "run.png", **kwargs)


def test_scale_is_for_images_only(plot, tmp_path):
    with pytest.raises(ValueError, match="scale applies to png, svg, pdf only"):
        plot.save(tmp_path / "run.html", scale=2)


def test_unwritable_path_raises_the_os_error_with_the_path(plot, tmp_path):
    missing = tmp_path / "no" / "such" / "folder" / "run.html"
    with pytest.raises(FileNotFoundError) as info:
        plot.save(missing)
    assert info.value.filename == str(missing) and str(missing) in str(info.value)
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    with pytest.raises(NotADirectoryError, match="run.json"):
        plot.save(not_a_folder / "run.json")
    if os.getuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(PermissionError, match="locked"):
            plot.save(locked / "run.html")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"] + (["locked"] if os.getuid() else [])


def test_a_failed_write_leaves_nothing_behind_and_keeps_the_old_file(plot, tmp_path, monkeypatch):
    target = tmp_path / "run.json"
    target.write_text("old")

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export.os, "replace", disk_full)
    with pytest.raises(OSError, match="No space left on device.*run.json"):
        plot.save(target)
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]
    assert target.read_text() == "old"


def test_missing_kaleido_says_how_to_install_it(plot, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "kaleido", None)
    for suffix in ("png", "svg", "pdf"):
        with pytest.raises(ImportError, match=r"pip install kaleido"):
            plot.save(tmp_path / f"run.{suffix}")
    assert plot.save(tmp_path / "run.html").exists() and plot.save(tmp_path / "run.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.html", "run.json"]


def test_missing_chromium_says_how_to_get_one(plot, tmp_path, monkeypatch):
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-chrome"))
    with pytest.raises(ChromiumNotFoundError) as info:
        plot.save(tmp_path / "run.png")
    message = str(info.value)
    for words in ("apt-get install chromium", "BROWSER_PATH", "no-chrome", ".html or .json"):
        assert words in message, words
    monkeypatch.delenv("BROWSER_PATH")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(
        "choreographer.browsers.chromium.Chromium.find_browser", classmethod(lambda cls, **kw: None)
    )
    with pytest.raises(ChromiumNotFoundError, match="none of chromium"):
        plot.save(tmp_path / "run.svg")
    assert list(tmp_path.iterdir()) == []


# -- history ----------------------------------------------------------------------


def test_history_is_plain_data_with_non_finite_floats(plot):
    history = plot.history
    assert history["epoch"] == list(range(1, 13))
    assert set(history) == {"epoch", "loss", "val_loss", "accuracy", "val_accuracy"}
    assert math.isnan(history["val_loss"][2]) and isinstance(history["val_loss"][2], float)
    assert history["loss"][:2] == [1.0, 0.5]
    json.dumps(plot.history)  # plain Python types
    plot.state.history.epochs.append(99)
    assert plot.history["epoch"][-1] == 99
    plot.state.history.epochs.pop()


def test_history_frame(plot, monkeypatch):
    frame = plot.history_frame()
    assert frame.index.name == "epoch" and list(frame.index) == list(range(1, 13))
    assert list(frame.columns) == ["loss", "val_loss", "accuracy", "val_accuracy"]
    assert math.isnan(frame.loc[3, "val_loss"]) and frame.loc[2, "loss"] == 0.5
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"pip install pandas"):
        plot.history_frame()


def test_save_history_csv_and_json(plot, tmp_path):
    plot.end_epoch(13, {"loss": 0.05, "val_loss": math.inf})  # a late metric gap
    csv_text = plot.save_history(tmp_path / "run.csv").read_text()
    lines = csv_text.splitlines()
    assert lines[0] == "epoch,loss,val_loss,accuracy,val_accuracy"
    assert lines[3].split(",")[2] == "nan" and lines[13] == "13,0.05,inf,,"
    import pandas as pd

    frame = pd.read_csv(tmp_path / "run.csv", index_col="epoch")
    assert math.isinf(frame.loc[13, "val_loss"]) and math.isnan(frame.loc[13, "accuracy"])

    record = json.loads((plot.save_history(tmp_path / "run.json")).read_text())  # strict JSON
    assert record["format"] == "widget-callbacks-history" and record["version"] == 1
    assert record["history"]["val_loss"][2] == "nan" and record["history"]["val_loss"][-1] == "inf"
    assert record["stopping"]["restored_epoch"] == 7 and record["stopping"]["stop_reason"] == STOP_PATIENCE
    assert [c["epoch"] for c in record["checkpoints"]] == [5, 7]
    assert set(record["batches"]) == {"loss", "accuracy"} and record["batches_per_epoch"] == 10
    with pytest.raises(ValueError, match="csv, json"):
        plot.save_history(tmp_path / "run.txt")
    assert plot.save_history(tmp_path / "run.txt", format="csv").read_text() == csv_text


def test_from_history_round_trip_in_a_fresh_process(plot, tmp_path):
    plot.save_history(tmp_path / "run.json")
    plot.save_history(tmp_path / "run.csv")
    code = textwrap.dedent(f"""
        import json, sys
        from widget_callbacks import LivePlot
        whole = LivePlot.from_history({str(tmp_path / "run.json")!r}, static_fallback=False)
        curves = LivePlot.from_history({str(tmp_path / "run.csv")!r})
        synced = whole.get_state()  # what a new view of the widget gets
        traits = (synced["traces"] == whole.state.traces and synced["overlays"] == whole.state.overlays()
                  and whole.state.layout() in synced.values())
        json.dump({{"whole": whole.state.figure(), "traits": traits,
                   "progress": whole.progress, "curves": curves.state.figure(),
                   "history": curves.history}}, sys.stdout)
    """)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    loaded = json.loads(out.stdout)
    assert loaded["whole"] == normalized(plot.state.figure())  # same figure, marks included
    assert loaded["traits"] is True
    assert loaded["progress"]["status"] == "stopped" and loaded["progress"]["epoch"] == 12
    curves = loaded["curves"]
    assert [t["meta"]["role"] for t in curves["data"]] == ["metric"] * 4 + ["non_finite"]
    assert curves["layout"]["shapes"] == []
    assert loaded["history"]["val_loss"][2] is None or math.isnan(loaded["history"]["val_loss"][2])


def test_from_history_rejects_other_files(tmp_path):
    (tmp_path / "other.json").write_text('{"data": []}')
    with pytest.raises(ValueError, match="written by save_history"):
        LivePlot.from_history(tmp_path / "other.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        LivePlot.from_history(tmp_path / "broken.json")
    (tmp_path / "x.csv").write_text("step,loss\n1,0.5\n")
    with pytest.raises(ValueError, match="'epoch' column"):
        LivePlot.from_history(tmp_path / "x.csv")
    with pytest.raises(ValueError, match="csv, json"):
        LivePlot.from_history(tmp_path / "x.png")
    (tmp_path / "ok.csv").write_text("epoch,loss\n1,0.5\n")
    with pytest.raises(TypeError, match="unexpected keyword"):
        LivePlot.from_history(tmp_path / "ok.csv", colour="red")
    with pytest.raises(ValueError, match="static_fallback"):
        LivePlot.from_history(tmp_path / "ok.csv", static_fallback="gif")


# -- kaleido's browser --------------------------------------------------------------


@needs_chromium
def test_one_browser_is_kept_for_repeated_png_exports(plot, tmp_path):
    """Measures export times in a fresh process: the first PNG starts the browser."""
    code = textwrap.dedent(f"""
        import json, sys, time
        sys.path.insert(0, {str(REPO)!r}); sys.path.insert(0, {str(REPO / "tests")!r})
        from test_export import feed
        from widget_callbacks import LivePlot
        plot = feed(LivePlot(static_fallback=False))
        times = []
        for i in range(6):
            start = time.perf_counter()
            plot.save({str(tmp_path)!r} + f"/run{{i}}.png")
            times.append(time.perf_counter() - start)
        import kaleido
        print(json.dumps({{"times": times, "server": kaleido._global_server.is_running()}}))
    """)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    first, later = result["times"][0], sorted(result["times"][1:])
    assert result["server"] is True
    assert later[len(later) // 2] < first
    artifacts = REPO / "artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "export-times.json").write_text(json.dumps(result, indent=1))
    print(f"PNG export: first {first:.2f} s, later median {later[len(later) // 2]:.2f} s")


@needs_chromium
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_browser_that_dies_at_start_gives_an_error_not_a_hang(plot, tmp_path, monkeypatch):
    import kaleido

    kaleido.stop_sync_server(silence_warnings=True)
    monkeypatch.setenv("BROWSER_PATH", "/bin/false")
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="stopped right after starting"):
        plot.save(tmp_path / "run.png")
    assert time.monotonic() - start < 60
    assert not kaleido._global_server.is_running()
    monkeypatch.delenv("BROWSER_PATH")
    assert png_size(plot.save(tmp_path / "run.png").read_bytes())[0] == 900
    assert [p.name for p in tmp_path.iterdir()] == ["run.png"]


def test_from_history_of_a_long_run_sends_a_bounded_number_of_messages(tmp_path, monkeypatch):
    long_run = feed(LivePlot(static_fallback=False), epochs=300)
    long_run.save_history(tmp_path / "long.json")
    sent: list[dict] = []
    monkeypatch.setattr(LivePlot, "_send", lambda self, msg, buffers=None: sent.append(msg))
    loaded = LivePlot.from_history(tmp_path / "long.json")
    assert loaded.state.figure() == long_run.state.figure()
    assert loaded.progress["epoch"] == 300 and loaded.progress["logs"]["loss"] == 1 / 300
    assert 0 < len(sent) < 40, len(sent)  # not one per epoch: jupyter_server drops past 1,000/s


@needs_chromium
def test_a_timed_out_export_blocks_the_next_until_its_image_is_in(plot, tmp_path, monkeypatch):
    from widget_callbacks.export.images import images as _static

    monkeypatch.setattr(_static, "timeout", 0.0)
    with pytest.raises(TimeoutError, match="did not return an image"):
        plot.save(tmp_path / "slow.png")
    late = _static._late_call
    assert late is not None
    if late.is_alive():
        with pytest.raises(TimeoutError, match="still busy"):
            plot.save(tmp_path / "next.png")
    late.join(timeout=120)
    monkeypatch.setattr(_static, "timeout", 120.0)
    assert png_size(plot.save(tmp_path / "next.png").read_bytes())[0] == 900
    assert [p.name for p in tmp_path.iterdir()] == ["next.png"]
