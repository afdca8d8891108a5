"""The static copy of the final plot that a saved notebook keeps: display with a
display id, the update at the end of a fit, and the quickstart notebook saved without
widget state, converted by nbconvert and opened in Chromium."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest
from test_export import PNG_MAGIC, feed, figure_from_html, normalized, png_size

from widget_callbacks import LivePlot
from widget_callbacks.core.outcome import STOP_PATIENCE
from widget_callbacks.core.records import StoppingSnapshot
from widget_callbacks.export import images
from widget_callbacks.export.images import find_chromium
from widget_callbacks.kernel import cells
from widget_callbacks.widgets import static_copy
from widget_callbacks.widgets.static_copy import WIDGET_VIEW_MIMETYPE, fallback_formats

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "artifacts" / "static-fallback"
needs_chromium = pytest.mark.skipif(find_chromium() is None, reason="no Chromium for kaleido")


class Published:
    """Records IPython's display and update_display calls."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import IPython.display

        self.displays: list[tuple[dict, dict]] = []
        self.updates: list[tuple[dict, dict]] = []
        monkeypatch.setattr(IPython.display, "display", self._display)
        monkeypatch.setattr(IPython.display, "update_display", self._update)

    def _display(self, data, *, raw, metadata, display_id):
        assert raw is True and display_id.startswith("widget-callbacks-")
        self.displays.append((data, {"metadata": metadata, "display_id": display_id}))

    def _update(self, data, *, raw, metadata, display_id):
        assert raw is True
        self.updates.append((data, {"metadata": metadata, "display_id": display_id}))


class FakeShell:
    """Just IPython's event manager, as a kernel's shell has it."""

    def __init__(self) -> None:
        from IPython.core.events import EventManager, available_events

        self.events = EventManager(self, available_events)


@pytest.fixture
def published(monkeypatch) -> Published:
    monkeypatch.setattr(cells, "_WATCHER", cells.CellWatcher())
    return Published(monkeypatch)


@pytest.mark.parametrize(
    "value, formats",
    [
        (True, ("html", "png")),
        (False, ()),
        ("png", ("png",)),
        ("html", ("html",)),
        (["png", "html"], ("html", "png")),
        (("html",), ("html",)),
    ],
)
def test_static_fallback_values(value, formats):
    assert fallback_formats(value) == formats
    LivePlot(static_fallback=value)


@pytest.mark.parametrize("value", ["jpg", "", [], ["html", "gif"], None, 1, {"html"}])
def test_bad_static_fallback_values(value):
    with pytest.raises(ValueError, match=r"static_fallback must be True, False, 'html', 'png'.*Received"):
        LivePlot(static_fallback=value)


def test_display_is_the_widget_with_a_display_id_then_the_end_of_a_fit_adds_html(published):
    plot = LivePlot(static_fallback="html")
    plot._ipython_display_()
    plot._ipython_display_()  # a second view: same display id, both get updated
    (first, where), (second, where_again) = published.displays
    assert set(first) == {"text/plain", WIDGET_VIEW_MIMETYPE}
    assert first[WIDGET_VIEW_MIMETYPE]["model_id"] == plot.model_id
    assert where["display_id"] == where_again["display_id"]
    feed(plot)  # no IPython shell here: the update is immediate
    ((data, update),) = published.updates
    assert update["display_id"] == where["display_id"]
    assert set(data) == {"text/plain", WIDGET_VIEW_MIMETYPE, "text/html"}
    (drawn,) = figure_from_html(data["text/html"])
    assert drawn["data"] == normalized(plot.to_figure())["data"]
    assert "<img" not in data["text/html"]  # no PNG asked for
    plot._ipython_display_()  # displayed again after the fit: the static copy comes along
    assert "text/html" in published.displays[-1][0]


def test_a_container_holding_the_plot_gets_the_static_copy_too(published):
    import ipywidgets

    plot = LivePlot(static_fallback="html")
    box = ipywidgets.VBox([ipywidgets.Label("controls"), plot])
    plot._display_with_static_copy(box)  # what a dashboard's _ipython_display_ does
    plot._ipython_display_()
    feed(plot)
    by_model = {d[WIDGET_VIEW_MIMETYPE]["model_id"]: (d, u["display_id"]) for d, u in published.updates}
    assert set(by_model) == {box.model_id, plot.model_id}
    assert by_model[box.model_id][1] != by_model[plot.model_id][1]
    assert all("text/html" in d for d, _ in by_model.values())


def test_no_static_copy_when_turned_off_or_never_displayed(published):
    feed(LivePlot(static_fallback=False))._ipython_display_()
    feed(LivePlot())  # never displayed: nothing rendered, nothing published
    assert len(published.displays) == 1 and published.updates == []
    assert set(published.displays[0][0]) == {"text/plain", WIDGET_VIEW_MIMETYPE}


def test_the_update_waits_for_the_cell_so_later_marks_are_in_it(published, monkeypatch):
    shell = FakeShell()
    monkeypatch.setattr(cells, "current_shell", lambda: shell)
    monkeypatch.setattr(static_copy, "current_shell", lambda: shell)
    plot = LivePlot(static_fallback="html")
    plot._ipython_display_()  # in a cell: from now on, cells are tracked
    feed(plot, end=False)
    plot.end_fit("stopped", STOP_PATIENCE)
    # EarlyStopping's on_train_end (after the plot's) restores the best weights:
    plot.set_stopping(
        StoppingSnapshot(
            monitor="val_loss",
            mode="min",
            patience=4,
            wait=4,
            best=0.3,
            best_epoch=7,
            last_epoch=12,
            stopped_epoch=12,
            stop_reason=STOP_PATIENCE,
            restored_epoch=7,
        )
    )
    assert published.updates == []
    shell.events.trigger("post_run_cell", None)
    ((data, _),) = published.updates
    assert "weights restored from epoch 7" in data["text/html"]
    shell.events.trigger("pre_run_cell", None)
    shell.events.trigger("post_run_cell", None)
    assert len(published.updates) == 1  # the hook removed itself


@needs_chromium
def test_png_and_html_with_the_image_inside(published):
    plot = LivePlot(static_fallback=True)
    plot._ipython_display_()
    feed(plot)
    ((data, update),) = published.updates
    png = base64.b64decode(data["image/png"])
    assert png_size(png) == (1800, 2 * plot.state.layout()["height"])
    assert update["metadata"]["image/png"] == {"width": 900, "height": plot.state.layout()["height"]}
    html = data["text/html"]
    assert data["image/png"] in html  # shown where scripts do not run
    assert html.count("* plotly.js v") == 1 and '<script src="http' not in html


def test_without_chromium_the_copy_is_html_only_with_one_warning(published, monkeypatch, tmp_path):
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-chrome"))
    monkeypatch.setattr(static_copy._Warnings, "png_given", False)
    first, second = LivePlot(static_fallback=True), LivePlot(static_fallback=True)
    first._ipython_display_()
    second._ipython_display_()
    with pytest.warns(RuntimeWarning, match="only HTML.*apt-get install chromium"):
        feed(first)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        feed(second)
    assert [set(d) - {"text/plain", WIDGET_VIEW_MIMETYPE} for d, _ in published.updates] == [
        {"text/html"},
        {"text/html"},
    ]


# -- notebooks saved without widget state, converted and opened in Chromium -----------

#: A last cell for the executed copy: the final figure, as the kernel has it.
FINAL_FIGURE_CELL = (
    "import json\njson.dump(json.loads(plot.to_figure().to_json()), open('final-figure.json', 'w'))"
)

CONTAINER_CELLS = [
    """import ipywidgets
from widget_callbacks import LivePlot
from widget_callbacks.core.records import CheckpointRecord, StoppingSnapshot
plot = LivePlot(static_fallback=True)
box = ipywidgets.VBox([ipywidgets.Label("controls would be here"), plot])
plot._display_with_static_copy(box)""",
    """plot.begin_fit(10, 4)
for epoch in range(1, 11):
    plot.begin_epoch(epoch)
    plot.end_batch(2, {"loss": 1.3 / epoch})
    plot.end_epoch(epoch, {"loss": 1 / epoch, "val_loss": 1 / epoch + 0.03 * max(epoch - 6, 0) + 0.1})
plot.add_checkpoint(CheckpointRecord(epoch=6, path="best.keras", value=0.27, monitor="val_loss"))
plot.end_fit("stopped", "patience exhausted")
# Published after the plot's end of fit, as EarlyStopping's restore is:
plot.set_stopping(StoppingSnapshot(monitor="val_loss", mode="min", patience=4, wait=4,
                                   best=1 / 6 + 0.1, best_epoch=6, last_epoch=10, stopped_epoch=10,
                                   stop_reason="patience exhausted", restored_epoch=6))""",
]


def _widget_output(nb) -> dict:
    (output,) = [
        o for c in nb.cells for o in c.get("outputs", []) if WIDGET_VIEW_MIMETYPE in o.get("data", {})
    ]
    return output


def _execute_save_convert_open(nb, tmp_path: Path, monkeypatch, label: str, interactive: bool = True) -> dict:
    """Runs ``nb`` in a kernel, saves it without widget state (as JupyterLab does by
    default), converts it with nbconvert's lab and classic templates, opens the pages in
    Chromium and checks that each shows the kernel's final figure: drawn by plotly.js
    from the HTML copy (``interactive``), else the PNG copy. Returns sizes."""
    import nbclient
    import nbformat
    from playwright.sync_api import sync_playwright

    nb.cells.append(nbformat.v4.new_code_cell(FINAL_FIGURE_CELL))
    for name, value in {
        "PYTHONPATH": str(REPO),
        "TF_ENABLE_ONEDNN_OPTS": "0",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "KERAS_HOME": str(tmp_path / "keras"),
    }.items():
        monkeypatch.setenv(name, value)
    nbclient.NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        store_widget_state=False,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    saved = tmp_path / f"{label}.ipynb"
    nbformat.write(nb, saved)
    assert "widgets" not in nb.metadata

    output = _widget_output(nb)
    assert output["output_type"] == "display_data"
    expected = {"text/html", "image/png", "text/plain"} if interactive else {"image/png", "text/plain"}
    assert expected <= set(output["data"]), set(output["data"])
    assert base64.b64decode(output["data"]["image/png"]).startswith(PNG_MAGIC)
    final = json.loads((tmp_path / "final-figure.json").read_text())
    assert any(t["meta"]["role"] == "best" for t in final["data"])
    assert "weights restored from epoch" in json.dumps(final["layout"])

    # What the same notebook weighs without the static copy (static_fallback=False).
    lean = nbformat.read(saved, as_version=4)
    for mimetype in ("text/html", "image/png"):
        _widget_output(lean)["data"].pop(mimetype, None)
    nbformat.write(lean, tmp_path / "lean.ipynb")
    sizes = {
        "with_static_fallback": saved.stat().st_size,
        "without_static_fallback": (tmp_path / "lean.ipynb").stat().st_size,
        "text_html": len(output["data"].get("text/html", "")),
        "image_png_base64": len(output["data"]["image/png"]),
    }

    pages = {}
    for template in ("lab", "classic"):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "jupyter",
                "nbconvert",
                "--to",
                "html",
                "--template",
                template,
                "--output",
                f"{label}-{template}",
                str(saved),
            ],
            check=True,
            capture_output=True,
            cwd=tmp_path,
            timeout=300,
        )
        page = tmp_path / f"{label}-{template}.html"
        html = page.read_text(encoding="utf-8")
        if interactive:
            (drawn,) = figure_from_html(html)  # no widget view: no state
            assert drawn["data"] == final["data"] and drawn["layout"] == final["layout"]
        else:
            assert output["data"]["image/png"].strip() in html.replace("\n", "")
        pages[template] = page

    from browser.jupyter import CHROMIUM, CHROMIUM_ARGS

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.route("http*://**", lambda route: route.abort())  # offline, and fast
            for template, path in pages.items():
                page.goto(path.as_uri())
                if not interactive:
                    image = page.locator('img[src^="data:image/png"]').first
                    image.wait_for(timeout=30_000)
                    width = image.evaluate("img => img.complete ? img.naturalWidth : 0")
                    assert width == 1800, width  # FALLBACK_WIDTH at scale 2
                    image.screenshot(path=str(ARTIFACTS / f"{label}-nbconvert-{template}.png"))
                    continue
                static = page.locator(".widget-callbacks-static").first
                static.locator(".main-svg").first.wait_for(timeout=30_000)
                shown = page.evaluate("""() => {
                    const gd = document.querySelector('.widget-callbacks-static .plotly-graph-div');
                    return {names: gd.data.map(t => t.name), points: gd.data[0].x.length,
                            image: !!document.querySelector('.widget-callbacks-static img')};
                }""")
                assert shown["names"] == [t["name"] for t in final["data"]]
                assert shown["points"] == len(final["data"][0]["x"]) and not shown["image"]
                static.screenshot(path=str(ARTIFACTS / f"{label}-nbconvert-{template}.png"))
        finally:
            browser.close()
    shutil.copy(saved, ARTIFACTS / f"{label}-executed.ipynb")
    (ARTIFACTS / f"{label}-sizes.json").write_text(json.dumps(sizes, indent=1))
    print(f"{label}: saved notebook sizes (bytes):", sizes)
    return sizes


@pytest.mark.slow
@needs_chromium
def test_a_container_saved_without_widget_state_shows_the_final_plot(tmp_path, monkeypatch):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in CONTAINER_CELLS]
    sizes = _execute_save_convert_open(nb, tmp_path, monkeypatch, "container")
    assert sizes["with_static_fallback"] > sizes["without_static_fallback"]


@pytest.mark.slow
@needs_chromium
def test_quickstart_saved_without_widget_state_shows_the_final_plot(tmp_path, monkeypatch):
    import nbformat

    nb = nbformat.read(REPO / "notebooks" / "quickstart.ipynb", as_version=4)
    # The quickstart keeps the default static copy: a PNG.
    sizes = _execute_save_convert_open(nb, tmp_path, monkeypatch, "quickstart", interactive=False)
    assert sizes["with_static_fallback"] > sizes["without_static_fallback"]


@pytest.mark.parametrize("formats", ["png", True, "html", False])
@pytest.mark.parametrize("displayed", [True, False])
def test_a_fit_start_starts_no_image_browser_and_no_thread(
    monkeypatch: pytest.MonkeyPatch, formats: object, displayed: bool
) -> None:
    # Was: a displayed PNG copy warmed kaleido's browser up at the fit's start (it
    # took 0.25-0.57 of the 2 cores during training). Now the views draw the PNG.
    import threading

    calls: list[None] = []
    monkeypatch.setattr(images.images, "render", lambda *a, **k: calls.append(None))
    fallback = static_copy.StaticFallback(formats)
    if displayed:
        fallback._displays["widget-callbacks-test"] = object()
    before = set(threading.enumerate())
    fallback.fit_started()
    assert calls == [] and set(threading.enumerate()) == before


FAKE_PNG = PNG_MAGIC + b"a view's image"


class ViewedSession:
    """A plot displayed in a fake kernel shell whose cells run fits. ``requests`` are
    the PNG requests the kernel sends the views, `answer` answers one as a view does;
    kaleido is faked (``kaleido`` lists the threads it drew on).

    Args:
        formats: the plot's ``static_fallback``. Defaults to ``"png"``.
        front_end: the cells come from a front end that takes input (a view may
            answer); False is a batch run (nbclient, papermill).
    """

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, formats: object = "png", front_end: bool = True
    ) -> None:
        self.shell = FakeShell()
        monkeypatch.setattr(cells, "current_shell", lambda: self.shell)
        monkeypatch.setattr(static_copy, "current_shell", lambda: self.shell)
        monkeypatch.setattr(static_copy._Views, "answered", False)
        monkeypatch.setattr(static_copy, "views_may_answer", lambda: front_end or static_copy._Views.answered)
        self.kaleido: list[str] = []

        def render(figure: object, format: str, **kwargs: object) -> bytes:
            self.kaleido.append(threading.current_thread().name)
            return PNG_MAGIC + b"kaleido"

        monkeypatch.setattr(images.images, "render", render)
        self.plot = LivePlot(static_fallback=formats)
        self.requests: list[dict] = []

        def send(msg: dict, buffers: object = None) -> None:
            if msg.get("type") == "static_png_request":
                self.requests.append(msg)

        monkeypatch.setattr(self.plot, "send", send)
        self.plot._ipython_display_()  # in a cell: from now on, cells are tracked

    def fit_in_a_cell(self) -> None:
        """A cell that runs a fit stopped by patience; the controller's last snapshot
        (restored weights) comes after the plot's ``on_train_end``."""
        self.shell.events.trigger("pre_run_cell", None)
        feed(self.plot, end=False)
        self.plot.end_fit("stopped", STOP_PATIENCE)
        self.plot.set_stopping(StoppingSnapshot(monitor="val_loss", mode="min", patience=4, wait=4,
                                                best=0.3, best_epoch=7, last_epoch=12, stopped_epoch=12,
                                                stop_reason=STOP_PATIENCE, restored_epoch=7))  # fmt: skip
        self.shell.events.trigger("post_run_cell", None)

    def answer(self, request: dict, png: bytes = FAKE_PNG) -> None:
        content = {"type": "static_png", "id": request["id"], "png": base64.b64encode(png).decode()}
        self.plot._on_front_end_msg(self.plot, content, [])


def static_copy_timers() -> list[threading.Thread]:
    """Our timer threads still alive (a cancelled one ends at once: joined briefly)."""
    timers = [t for t in threading.enumerate() if t.name == "widget-callbacks-static-copy"]
    for timer in timers:
        timer.join(1)
    return [t for t in timers if t.is_alive()]


def test_the_cell_end_asks_the_views_for_the_final_figure_and_publishes_their_png(published, monkeypatch):
    session = ViewedSession(monkeypatch)
    session.fit_in_a_cell()
    (request,) = session.requests
    figure = session.plot.to_figure().to_plotly_json()
    state = session.plot.state
    assert request["run"] == state.run
    assert request["lengths"] == [len(t["x"]) for t in state.traces]
    assert request["overlays"] == state.overlays() and request["layout"] == state.layout()
    assert "weights restored from epoch 7" in json.dumps(request["layout"])  # published after end_fit
    assert (request["width"], request["height"], request["scale"]) == (900, state.layout()["height"], 2)
    assert len(figure["data"]) == len(request["lengths"]) + len(request["overlays"])
    assert published.updates == [] and session.kaleido == []

    session.answer(request)
    ((data, update),) = published.updates
    assert base64.b64decode(data["image/png"]) == FAKE_PNG
    assert update["metadata"]["image/png"] == {"width": 900, "height": state.layout()["height"]}
    assert update["display_id"] == published.displays[0][1]["display_id"]
    assert session.kaleido == [] and static_copy._Views.answered
    assert not static_copy_timers()
    # Displayed again: the same figure keeps the view's PNG, nothing is asked again.
    session.plot._ipython_display_()
    assert base64.b64decode(published.displays[-1][0]["image/png"]) == FAKE_PNG
    assert len(session.requests) == 1


def test_html_is_published_at_the_cell_end_and_again_with_the_views_png(published, monkeypatch):
    session = ViewedSession(monkeypatch, True)
    session.fit_in_a_cell()
    ((first, _),) = published.updates
    assert "text/html" in first and "image/png" not in first and "<img" not in first["text/html"]
    session.answer(session.requests[0])
    second = published.updates[-1][0]
    assert second["image/png"] in second["text/html"]  # the image inside the HTML copy
    assert session.kaleido == []


def test_a_late_or_duplicate_answer_is_ignored(published, monkeypatch):
    session = ViewedSession(monkeypatch)
    session.fit_in_a_cell()
    (first,) = session.requests
    session.fit_in_a_cell()  # another fit before any answer: a new request replaces it
    second = session.requests[-1]
    assert second["id"] != first["id"]
    session.answer(first, PNG_MAGIC + b"stale")  # late: for a figure no longer the last
    assert published.updates == []
    session.answer(second)  # from one view
    session.answer(second, PNG_MAGIC + b"another view")  # the same request, another view
    ((data, _),) = published.updates
    assert base64.b64decode(data["image/png"]) == FAKE_PNG


@pytest.mark.parametrize(
    "content",
    [
        None,
        "static_png",
        [],
        {"type": "extend"},
        {"type": "static_png"},
        {"type": "static_png", "id": "1", "png": base64.b64encode(FAKE_PNG).decode()},
        {"type": "static_png", "id": True, "png": base64.b64encode(FAKE_PNG).decode()},
        {"type": "static_png", "id": 1, "png": None},
        {"type": "static_png", "id": 1, "png": "not base64!"},
        {"type": "static_png", "id": 1, "png": base64.b64encode(b"GIF89a").decode()},
        {"type": "static_png", "id": 99, "png": base64.b64encode(FAKE_PNG).decode()},
    ],
)
def test_a_malformed_answer_is_ignored_quietly(published, monkeypatch, content):
    session = ViewedSession(monkeypatch)
    session.fit_in_a_cell()
    assert session.requests[0]["id"] == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        session.plot._on_front_end_msg(session.plot, content, [])
    assert published.updates == []
    session.answer(session.requests[0])  # the real answer still counts
    assert len(published.updates) == 1


def test_an_answer_from_another_thread_is_published(published, monkeypatch):
    session = ViewedSession(monkeypatch)
    session.fit_in_a_cell()
    worker = threading.Thread(target=session.answer, args=(session.requests[0],))
    worker.start()
    worker.join(10)
    assert len(published.updates) == 1


def test_without_an_answer_kaleido_draws_it_once_after_the_timeout_not_in_a_cell(published, monkeypatch):
    monkeypatch.setattr(static_copy, "ANSWER_TIMEOUT", 0.2)
    session = ViewedSession(monkeypatch)
    session.fit_in_a_cell()
    assert session.kaleido == []
    session.shell.events.trigger("pre_run_cell", None)  # the next cell starts at once
    time.sleep(0.5)
    assert session.kaleido == [] and published.updates == [], "the timer stops while a cell runs"
    assert not static_copy_timers()
    session.shell.events.trigger("post_run_cell", None)
    deadline = time.monotonic() + 10
    while not published.updates and time.monotonic() < deadline:
        time.sleep(0.02)
    ((data, _),) = published.updates
    assert base64.b64decode(data["image/png"]) == PNG_MAGIC + b"kaleido"
    assert session.kaleido == ["widget-callbacks-static-copy"]
    session.answer(session.requests[0])  # too late: kaleido's copy stays
    time.sleep(0.3)
    assert len(published.updates) == 1 and session.kaleido == ["widget-callbacks-static-copy"]


def test_a_batch_run_without_a_front_end_gets_kaleidos_png_when_the_cell_ends(published, monkeypatch):
    # nbclient and papermill send allow_stdin=False: no view will answer, and the saved
    # notebook must have the PNG when the cell ends.
    session = ViewedSession(monkeypatch, front_end=False)
    session.fit_in_a_cell()
    assert session.requests == []
    ((data, _),) = published.updates
    assert base64.b64decode(data["image/png"]) == PNG_MAGIC + b"kaleido"
    assert session.kaleido == [threading.main_thread().name]
